/**
 * Every exit code of the table in docs/cli.md, through `main` with mocked AWS clients: what a CI job
 * sees for each outcome of `submit`, `status`, `list`, `logs`, `release`, `replay` and `doctor`. The
 * table must list exactly the codes of cli/exit-codes.ts, every other command's help must document
 * its codes from that table, and every code a command documents (the table for `submit`, its help
 * for the others) must be produced by a test of that command here (checked last).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  BatchGetProjectsCommand,
  type Build,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { HELP } from '../../../cli/args.ts';
import { EXIT } from '../../../cli/exit-codes.ts';
import { main } from '../../../cli/main.ts';
import type { Io } from '../../../cli/submit.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';

const s3 = mockClient(S3Client);
const codebuild = mockClient(CodeBuildClient);
const ecr = mockClient(ECRClient);
const logs = mockClient(CloudWatchLogsClient);
const cloudformation = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const iam = mockClient(IAMClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);
const events = mockClient(EventBridgeClient);

/** The exit codes each command was seen to produce by the tests of this file. */
const produced = new Map<string, Set<number>>();
async function runMain(argv: string[], io: Io): Promise<number> {
  const code = await main(argv, io);
  const command = argv[0] ?? '';
  produced.set(command, (produced.get(command) ?? new Set()).add(code));
  return code;
}

const work = mkdtempSync(join(tmpdir(), 'cli-exit-'));
const dir = join(work, 'app');
mkdirSync(dir);
writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\n');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TARGET = ['--bucket', 'contexts', '--project', 'p', '--region', 'us-east-1'];
const named = (name: string) => Object.assign(new Error(name), { name });
const body = (value: unknown) => ({ transformToString: async () => JSON.stringify(value) });
const DIGEST = `sha256:${'a'.repeat(64)}`;

function capture(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    git: () => undefined,
    now: () => new Date('2026-12-01T00:00:00Z'),
    out: () => out,
    err: () => err,
  };
}

function build(extra: Partial<Build>): Build {
  const vars = {
    CONTEXT_BUCKET: 'contexts',
    CONTEXT_KEY: 'team/api/v1.tar.gz',
    CONTEXT_VERSION_ID: 'v1',
    IMAGE_REPOSITORY: 'team/api',
    IMAGE_REPOSITORY_URI: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api',
    IMAGE_TAG: 'v1',
  };
  return {
    id: 'p:11111111-1111-1111-1111-111111111111',
    buildComplete: true,
    environment: {
      type: 'LINUX_CONTAINER',
      image: 'x',
      computeType: 'BUILD_GENERAL1_SMALL',
      environmentVariables: Object.entries(vars).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' })),
    },
    phases: [
      { phaseType: 'PRE_BUILD', phaseStatus: 'SUCCEEDED', durationInSeconds: 1 },
      { phaseType: 'BUILD', phaseStatus: 'SUCCEEDED', durationInSeconds: 7 },
    ],
    ...extra,
  };
}

const record = (extra: Partial<UploadRecord>): UploadRecord => ({
  status: 'accepted',
  bucket: 'contexts',
  key: 'team/api/v1.tar.gz',
  repository: 'team/api',
  tag: 'v1',
  at: '2026-12-01T00:00:00Z',
  ...extra,
});

const submit = (...extra: string[]) => {
  const io = capture();
  return runMain(['submit', dir, '-r', 'team/api', '-t', 'v1', ...TARGET, ...extra], io).then((code) => ({
    code,
    io,
  }));
};

beforeEach(() => {
  s3.reset();
  codebuild.reset();
  ecr.reset();
  ecr.on(DescribeImagesCommand).rejects(named('ImageNotFoundException'));
  s3.on(PutObjectCommand).resolves({ VersionId: 'v1', ETag: '"e"' });
  codebuild
    .on(ListBuildsForProjectCommand)
    .resolvesOnce({ ids: [] })
    .resolves({ ids: [build({}).id ?? ''] });
  s3.on(GetObjectCommand).resolves({ Body: body(record({})) as never });
});

describe('submit exit codes', () => {
  it('exits 0 when the image was released, and --output json prints one object with phases and the gate', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({ status: 'released', digest: DIGEST, release: { gate: 'none', verdict: 'released' } }),
      ) as never,
    });
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        build({
          buildStatus: 'SUCCEEDED',
          exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: DIGEST }],
        }),
      ],
    });
    const { code, io } = await submit('--output', 'json', '-q');
    expect(code, io.err()).toBe(EXIT.success);
    const result = JSON.parse(io.out());
    expect(io.out().trim().split('\n')).toHaveLength(1);
    expect(result).toMatchObject({
      status: 'pushed',
      exitCode: 0,
      image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:v1@${DIGEST}`,
      digest: DIGEST,
      buildId: build({}).id,
      key: 'team/api/v1.tar.gz',
      phases: [
        { phase: 'PRE_BUILD', status: 'SUCCEEDED', seconds: 1 },
        { phase: 'BUILD', status: 'SUCCEEDED', seconds: 7 },
      ],
      durations: { preBuild: 1, build: 7 },
    });
    expect(result.recordKey).toMatch(/^\.ecr-pipeline\/uploads\/[0-9a-f]{64}\.json$/);
    expect(result.release).toEqual({ gate: 'none', verdict: 'released' });
  });

  const succeeded = () =>
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        build({
          buildStatus: 'SUCCEEDED',
          exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: DIGEST }],
        }),
      ],
    });
  const held = () =>
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({
          status: 'held',
          digest: DIGEST,
          release: {
            gate: 'scan',
            maxSeverity: 'HIGH',
            verdict: 'held',
            reason: 'the scan found 1 CRITICAL',
            counts: { CRITICAL: 1 },
          },
        }),
      ) as never,
    });

  it('exits 6 when the release gate held the image, prints no image and says how to override', async () => {
    held();
    succeeded();
    const { code, io } = await submit('-q');
    expect(code).toBe(EXIT.held);
    expect(io.out()).toBe('');
    expect(io.err()).toContain(
      'release gate scan (holds at HIGH and above): held: the scan found 1 CRITICAL',
    );
    expect(io.err()).toContain('ecr-pipeline release team/api/v1.tar.gz --override --reason');
  });

  it('carries the gate and the verdict of a held image in --output json', async () => {
    held();
    succeeded();
    const { code, io } = await submit('-q', '--output', 'json');
    expect(code).toBe(EXIT.held);
    expect(JSON.parse(io.out())).toMatchObject({
      exitCode: EXIT.held,
      release: {
        gate: 'scan',
        verdict: 'held',
        reason: 'the scan found 1 CRITICAL',
        counts: { CRITICAL: 1 },
      },
    });
  });

  it('exits 3 when the release found the tag taken by another image', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({
          status: 'rejected',
          code: 'TagAlreadyExists',
          reason: 'tag names sha256:b',
          digest: DIGEST,
          buildId: 'p:1',
          release: { gate: 'none', verdict: 'rejected' },
        }),
      ) as never,
    });
    succeeded();
    const { code } = await submit('-q');
    expect(code).toBe(EXIT.rejected);
  });

  it('exits 1 when the build failed', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [build({ buildStatus: 'FAILED', phases: [{ phaseType: 'BUILD', phaseStatus: 'FAILED' }] })],
    });
    const { code, io } = await submit();
    expect(code).toBe(EXIT.failed);
    expect(io.err()).toContain('FAILED: BUILD: The build ended FAILED.');
    expect(io.out()).toBe('');
  });

  it('exits 3 when the pipeline rejected the upload', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'rejected', code: 'InvalidMetadata', reason: 'bad path' })) as never,
    });
    const { code, io } = await submit();
    expect(code).toBe(EXIT.rejected);
    expect(io.err()).toContain('rejected (InvalidMetadata): bad path');
  });

  it('exits 3 without uploading when the tag exists in an immutable repository (two ECR calls)', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST, imageTags: ['v1'] }] });
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ imageTagMutability: 'IMMUTABLE' }] });
    const { code, io } = await submit('--output', 'json');
    expect(code).toBe(EXIT.rejected);
    expect(JSON.parse(io.out())).toMatchObject({
      status: 'rejected',
      code: 'TagAlreadyExists',
      reason: 'team/api:v1 already exists and tags in this repository are immutable; upload with a new tag',
    });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'team/api',
      imageIds: [{ imageTag: 'v1' }],
    });
  });

  it('uploads a new tag after one DescribeImages call, and an existing tag of a mutable repository', async () => {
    const first = await submit('--async');
    expect(first.code).toBe(EXIT.success);
    expect(ecr).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(ecr).not.toHaveReceivedCommand(DescribeRepositoriesCommand);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ imageTagMutability: 'MUTABLE' }] });
    const second = await submit('--async');
    expect(second.code).toBe(EXIT.success);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 2);
  });

  it('exits 4 when --fail-on finds a finding at or above the severity', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        build({
          buildStatus: 'SUCCEEDED',
          exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: DIGEST }],
        }),
      ],
    });
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({
          status: 'released',
          digest: DIGEST,
          release: { gate: 'none', verdict: 'released' },
          // The record's copy says clean: the gate must ask ECR, which has the findings.
          scan: { status: 'COMPLETE', scanner: 'basic', counts: {}, at: '2026-12-01T00:01:00Z' },
        }),
      ) as never,
    });
    ecr.on(DescribeImagesCommand, { imageIds: [{ imageDigest: DIGEST }] }).resolves({
      imageDetails: [
        {
          imageDigest: DIGEST,
          imageScanStatus: { status: 'COMPLETE' },
          imageScanFindingsSummary: { findingSeverityCounts: { HIGH: 2, LOW: 5 } },
        },
      ],
    });
    const gated = await submit('--fail-on', 'HIGH', '-q', '--output', 'json');
    expect(gated.code).toBe(EXIT.scanGate);
    expect(gated.io.err()).toContain('scan (basic): HIGH 2, LOW 5');
    expect(JSON.parse(gated.io.out()).scan).toMatchObject({ counts: { HIGH: 2, LOW: 5 }, gate: 'failed' });
  });

  it('exits 0 when every finding is below the --fail-on severity', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        build({
          buildStatus: 'SUCCEEDED',
          exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: DIGEST }],
        }),
      ],
    });
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({
          status: 'released',
          release: { gate: 'none', verdict: 'released' },
          // The record's copy claims a critical finding; ECR's answer is the one that counts.
          scan: {
            status: 'COMPLETE',
            scanner: 'enhanced',
            counts: { CRITICAL: 1 },
            at: '2026-12-01T00:01:00Z',
          },
        }),
      ) as never,
    });
    ecr.on(DescribeImagesCommand, { imageIds: [{ imageDigest: DIGEST }] }).resolves({
      imageDetails: [
        {
          imageDigest: DIGEST,
          imageScanStatus: { status: 'ACTIVE' },
          imageScanFindingsSummary: { findingSeverityCounts: { HIGH: 2 } },
        },
      ],
    });
    const passed = await submit('--fail-on', 'critical', '-q');
    expect(passed.code, passed.io.err()).toBe(EXIT.success);
    expect(passed.io.err()).toContain('scan (enhanced): HIGH 2');
  });

  it('exits 2 on a usage error', async () => {
    const io = capture();
    expect(await runMain(['submit', dir, '--fail-on', 'SEVERE'], io)).toBe(EXIT.usage);
    expect(io.err()).toContain('--fail-on must be one of');
  });

  it('exits 5 when AWS refuses the credentials or access', async () => {
    ecr.on(DescribeImagesCommand).rejects(named('UnrecognizedClientException'));
    const denied = await submit();
    expect(denied.code).toBe(EXIT.aws);
    expect(denied.io.err()).toContain('AWS does not accept these credentials');
    ecr.on(DescribeImagesCommand).rejects(named('ImageNotFoundException'));
    s3.on(PutObjectCommand).rejects(
      Object.assign(named('AccessDenied'), { $metadata: { httpStatusCode: 403 } }),
    );
    expect((await submit()).code).toBe(EXIT.aws);
  });
});

describe('submit: interrupted, and a scan that will not come', () => {
  it('exits 130 when interrupted before the upload completes, and stores nothing', async () => {
    const io = capture();
    const controller = new AbortController();
    controller.abort();
    const code = await runMain(['submit', dir, '-r', 'team/api', '-t', 'v1', ...TARGET], {
      ...io,
      signal: controller.signal,
    });
    expect(code).toBe(EXIT.interrupted);
    expect(io.err()).toContain('interrupted: the upload was stopped and nothing was stored');
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('exits 1 before uploading when --fail-on waits for a scan that scan on push will never make', async () => {
    ecr
      .on(GetRegistryScanningConfigurationCommand)
      .resolves({ scanningConfiguration: { scanType: 'BASIC' } });
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [{ repositoryName: 'team/api', imageScanningConfiguration: { scanOnPush: false } }],
    });
    const { code, io } = await submit('--fail-on', 'HIGH');
    expect(code).toBe(EXIT.failed);
    expect(io.err()).toContain(
      'error: --wait-scan / --fail-on: no scan will come for team/api: scan on push is off for the repository team/api',
    );
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(codebuild).not.toHaveReceivedCommand(BatchGetBuildsCommand);
  });

  it('exits 1 before uploading when --wait-scan alone waits for a scan the stack will never make', async () => {
    ecr
      .on(GetRegistryScanningConfigurationCommand)
      .resolves({ scanningConfiguration: { scanType: 'BASIC' } });
    ecr.on(DescribeRepositoriesCommand).rejects(named('RepositoryNotFoundException'));
    onTestFinished(() => {
      lambda.reset();
    });
    lambda
      .on(GetFunctionConfigurationCommand, { FunctionName: 'p-buildTrigger' })
      .resolves({ Environment: { Variables: { SCAN_ON_PUSH: 'false' } } });
    const { code, io } = await submit('--wait-scan');
    expect(code).toBe(EXIT.failed);
    expect(io.err()).toContain(
      'error: --wait-scan / --fail-on: no scan will come for team/api: the stack creates repositories without scan on push (scanOnPush=false)',
    );
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('uploads when the repository scans on push', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [{ repositoryName: 'team/api', imageScanningConfiguration: { scanOnPush: true } }],
    });
    const { code } = await submit('--fail-on', 'HIGH', '--async');
    expect(code).toBe(EXIT.success);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });
});

describe('status of a finished upload', () => {
  const status = async () => {
    const io = capture();
    const code = await runMain(['status', 'team/api/v1.tar.gz', ...TARGET], io);
    return { code, io };
  };
  beforeEach(() => {
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"e"', ContentLength: 10 });
  });

  it('reads the record once and asks CodeBuild nothing when the upload is built', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({ status: 'built', digest: DIGEST, buildId: 'p:1', buildStatus: 'SUCCEEDED' }),
      ) as never,
    });
    const { code, io } = await status();
    expect(code).toBe(EXIT.success);
    expect(io.out()).toMatch(/record +built/);
    expect(io.out()).toContain(`image    team/api:v1@${DIGEST}`);
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    expect(codebuild).not.toHaveReceivedCommand(ListBuildsForProjectCommand);
    expect(codebuild).not.toHaveReceivedCommand(BatchGetBuildsCommand);
  });

  it('shows the gate and the verdict: 0 for a released image, 6 for a held one with what to do', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({
          status: 'released',
          digest: DIGEST,
          release: { gate: 'scan', maxSeverity: 'HIGH', verdict: 'released', counts: { LOW: 1 } },
        }),
      ) as never,
    });
    const released = await status();
    expect(released.code).toBe(EXIT.success);
    expect(released.io.out()).toContain('gate     scan (holds at HIGH and above): released');
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({
          status: 'held',
          digest: DIGEST,
          release: { gate: 'scan', verdict: 'held', reason: 'the scan found 1 HIGH' },
        }),
      ) as never,
    });
    const held = await status();
    expect(held.code).toBe(EXIT.held);
    expect(held.io.out()).toContain(
      `image    team/api@${DIGEST} (pushed by digest; the tag v1 was not moved)`,
    );
    expect(held.io.out()).toContain('gate     scan (holds at HIGH and above): held: the scan found 1 HIGH');
    expect(held.io.out()).toContain(
      'next     to release it anyway: ecr-pipeline release team/api/v1.tar.gz --override',
    );
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({
          status: 'built',
          digest: DIGEST,
          release: { gate: 'scan', deadline: '2026-12-01T00:30:00Z' },
        }),
      ) as never,
    });
    const waiting = await status();
    expect(waiting.code).toBe(EXIT.success);
    expect(waiting.io.out()).toContain(
      'gate     scan (holds at HIGH and above): waiting for the scan until 2026-12-01T00:30:00Z',
    );
  });

  it('exits 1 with the reason and phase of a failed build, 3 for a rejection', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({ status: 'failed', phase: 'BUILD', reason: 'RUN make: exit 2', buildId: 'p:1' }),
      ) as never,
    });
    const failed = await status();
    expect(failed.code).toBe(EXIT.failed);
    expect(failed.io.out()).toContain('reason   BUILD: RUN make: exit 2');
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'rejected', code: 'InvalidTag', reason: 'bad' })) as never,
    });
    expect((await status()).code).toBe(EXIT.rejected);
  });
  it('exits 2 on a usage error and 5 when AWS refuses', async () => {
    const usage = capture();
    expect(await runMain(['status', ...TARGET], usage)).toBe(EXIT.usage);
    s3.on(HeadObjectCommand).rejects(
      Object.assign(named('Forbidden'), { $metadata: { httpStatusCode: 403 } }),
    );
    const denied = await status();
    expect(denied.code).toBe(EXIT.aws);
  });
});

describe('list', () => {
  it('lists the newest records first, bounded by --limit, as one JSON object', async () => {
    const at = (minutes: number) => new Date(Date.UTC(2026, 11, 1, 0, minutes));
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: '.ecr-pipeline/uploads/old.json', LastModified: at(1) },
        { Key: '.ecr-pipeline/uploads/new.json', LastModified: at(9) },
        { Key: '.ecr-pipeline/uploads/mid.json', LastModified: at(5) },
      ],
    });
    s3.on(GetObjectCommand, { Key: '.ecr-pipeline/uploads/new.json' }).resolves({
      Body: body(
        record({
          key: 'team/api/v2.tar.gz',
          tag: 'v2',
          status: 'built',
          buildId: 'arn:aws:codebuild:us-east-1:123456789012:build/p:2',
          durations: { queued: 1, provisioning: 30, build: 12 },
        }),
      ) as never,
    });
    s3.on(GetObjectCommand, { Key: '.ecr-pipeline/uploads/mid.json' }).resolves({
      Body: body(record({ key: 'other/x/v1.tar.gz', repository: 'other/x', status: 'rejected' })) as never,
    });
    const io = capture();
    expect(await runMain(['list', '--limit', '2', '-o', 'json', ...TARGET], io)).toBe(EXIT.success);
    const { uploads } = JSON.parse(io.out());
    expect(uploads.map((u: { key: string }) => u.key)).toEqual(['team/api/v2.tar.gz', 'other/x/v1.tar.gz']);
    expect(uploads[0]).toMatchObject({
      image: 'team/api:v2',
      status: 'built',
      buildId: 'p:2',
      durations: { queued: 1, provisioning: 30, build: 12 },
    });
    expect(uploads[1]).not.toHaveProperty('durations');
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 2);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: 'contexts',
      Prefix: '.ecr-pipeline/uploads/',
    });

    const text = capture();
    expect(await runMain(['list', '-r', 'other/x', ...TARGET], text)).toBe(EXIT.success);
    const lines = text.out().trim().split('\n');
    expect(lines[0]).toMatch(/^KEY +IMAGE +STATUS +GATE +AGE +PLATFORMS +BUILD$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^other\/x\/v1\.tar\.gz +other\/x:v1 +rejected +- +\d+[smhd] +- +-$/);
  });

  it('exits 1 when a record cannot be read, 2 on a usage error and 5 when AWS refuses', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: '.ecr-pipeline/uploads/torn.json', LastModified: new Date() }],
    });
    s3.on(GetObjectCommand).resolves({ Body: { transformToString: async () => '{"status":' } as never });
    const torn = capture();
    expect(await runMain(['list', ...TARGET], torn)).toBe(EXIT.failed);
    expect(torn.err()).toContain('error: SyntaxError');
    expect(await runMain(['list', '--limit', '0', ...TARGET], capture())).toBe(EXIT.usage);
    s3.on(ListObjectsV2Command).rejects(
      Object.assign(named('AccessDenied'), { $metadata: { httpStatusCode: 403 } }),
    );
    const denied = capture();
    expect(await runMain(['list', ...TARGET], denied)).toBe(EXIT.aws);
    expect(denied.err()).toContain('access denied to s3://contexts/.ecr-pipeline/uploads/');
  });
});

describe('release', () => {
  const release = async (...args: string[]) => {
    const io = capture();
    const code = await runMain(['release', 'team/api/v1.tar.gz', ...args, ...TARGET], io);
    return { code, io };
  };
  const answer = (value: unknown) =>
    lambda.on(InvokeCommand).resolves({ Payload: new TextEncoder().encode(JSON.stringify(value)) as never });
  beforeEach(() => {
    lambda.reset();
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"e"' });
    s3.on(GetObjectCommand).resolves({
      Body: body(
        record({ status: 'held', digest: DIGEST, release: { gate: 'scan', verdict: 'held' } }),
      ) as never,
    });
  });

  it('exits 0 when the override released the image, 3 when the tag names another image', async () => {
    answer({ kind: 'decided', verdict: 'released' });
    const released = await release('--override', '--reason', 'accepted risk');
    expect(released.code, released.io.err()).toBe(EXIT.success);
    expect(released.io.out()).toBe(`team/api:v1@${DIGEST}\n`);
    answer({ kind: 'decided', verdict: 'rejected' });
    const rejected = await release('--override', '--reason', 'accepted risk');
    expect(rejected.code).toBe(EXIT.rejected);
    expect(rejected.io.err()).toContain('not released: rejected');
  });

  it('exits 1 when nothing is held, 2 without --override and 5 without the right to invoke', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(record({ status: 'failed' })) as never });
    const failed = await release('--override', '--reason', 'x');
    expect(failed.code).toBe(EXIT.failed);
    expect(failed.io.err()).toContain('nothing to release: the upload is failed');
    expect((await release('--reason', 'x')).code).toBe(EXIT.usage);
    s3.on(GetObjectCommand).resolves({ Body: body(record({ status: 'held' })) as never });
    lambda.on(InvokeCommand).rejects(named('AccessDeniedException'));
    const denied = await release('--override', '--reason', 'x');
    expect(denied.code).toBe(EXIT.aws);
    expect(denied.io.err()).toContain('not allowed to invoke p-release');
  });
});

describe('replay', () => {
  const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/p-BuildTriggerFailureQueue';
  const replay = async (...args: string[]) => {
    const io = capture();
    const code = await runMain(['replay', ...args, '--region', 'us-east-1'], io);
    return { code, io };
  };
  const failure = (id: string, key: string) => ({
    MessageId: id,
    ReceiptHandle: `r-${id}`,
    Body: JSON.stringify({
      requestPayload: { Records: [{ s3: { bucket: { name: 'contexts' }, object: { key } } }] },
      responsePayload: { errorMessage: 'Rate exceeded' },
    }),
  });
  beforeEach(() => {
    sqs.reset();
    lambda.reset();
    cloudformation.reset();
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'ecr-pipeline-dev',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'ContextBucketName', OutputValue: 'contexts' },
            { OutputKey: 'BuildProjectName', OutputValue: 'p' },
            { OutputKey: 'BuildTriggerFailureQueueUrl', OutputValue: QUEUE },
            { OutputKey: 'BuildTriggerFunctionName', OutputValue: 'p-buildTrigger' },
          ],
        },
      ],
    });
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [failure('m-1', 'team/api/v1.tar.gz'), failure('m-2', 'team/web/v2.tar.gz')],
      })
      .resolves({ Messages: [] });
    sqs.on(DeleteMessageCommand).resolves({});
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
  });

  it('exits 0 when every message was re-driven, 1 when one was kept', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const all = await replay();
    expect(all.code, all.io.err()).toBe(EXIT.success);
    expect(all.io.err()).toContain('2 re-driven to p-buildTrigger, 0 kept');
    expect(sqs).toHaveReceivedCommandTimes(DeleteMessageCommand, 2);
    sqs.resetHistory();
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [failure('m-3', 'team/api/v3.tar.gz')] })
      .resolves({ Messages: [] });
    lambda.on(InvokeCommand).resolves({ StatusCode: 500 });
    const kept = await replay();
    expect(kept.code).toBe(EXIT.failed);
    expect(kept.io.err()).toContain('0 re-driven to p-buildTrigger, 1 kept');
    expect(sqs).not.toHaveReceivedCommand(DeleteMessageCommand);
  });

  it('exits 2 on a usage error and 5 when AWS refuses to hand out the queue', async () => {
    expect((await replay('--queue', 'uploads')).code).toBe(EXIT.usage);
    sqs
      .on(ReceiveMessageCommand)
      .rejects(Object.assign(named('AccessDenied'), { $metadata: { httpStatusCode: 403 } }));
    const denied = await replay();
    expect(denied.code).toBe(EXIT.aws);
    expect(denied.io.err()).toContain('access denied');
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });
});

describe('logs', () => {
  const logsOf = async (...args: string[]) => {
    const io = capture();
    const code = await runMain(['logs', ...args, ...TARGET], io);
    return { code, io };
  };
  beforeEach(() => {
    logs.reset();
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"e"', ContentLength: 10 });
  });

  it("exits 0 with a build's log, without CodeBuild's own lines", async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [build({ buildStatus: 'SUCCEEDED', logs: { groupName: 'g', streamName: 's' } })],
    });
    logs.on(GetLogEventsCommand).resolves({
      events: [{ message: '[Container] 2026/12/01 Running command make\n' }, { message: 'step 1/2\n' }],
    });
    const { code, io } = await logsOf(build({}).id ?? '');
    expect(code, io.err()).toBe(EXIT.success);
    expect(io.out()).toContain('step 1/2');
    expect(io.out()).not.toContain('[Container]');
  });

  it('exits 3 for a rejected upload and 1 when the upload has no build', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'rejected', code: 'InvalidTag', reason: 'bad tag' })) as never,
    });
    const rejected = await logsOf('team/api/v1.tar.gz');
    expect(rejected.code).toBe(EXIT.rejected);
    expect(rejected.io.err()).toContain('bad tag');
    s3.on(GetObjectCommand).resolves({ Body: body(record({})) as never });
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    const none = await logsOf('team/api/v1.tar.gz');
    expect(none.code).toBe(EXIT.failed);
    expect(none.io.err()).toContain('no build of this upload (yet)');
  });

  it('exits 2 on a usage error and 5 when AWS refuses', async () => {
    expect((await logsOf()).code).toBe(EXIT.usage);
    s3.on(HeadObjectCommand).rejects(
      Object.assign(named('Forbidden'), { $metadata: { httpStatusCode: 403 } }),
    );
    expect((await logsOf('team/api/v1.tar.gz')).code).toBe(EXIT.aws);
  });
});

describe('doctor', () => {
  const doctor = async (...args: string[]) => {
    const io = capture();
    const code = await runMain(['doctor', ...args], io);
    return { code, io };
  };

  it('exits 1 when a check fails, and 2 on a usage error', async () => {
    s3.on(GetBucketVersioningCommand).resolves({ Status: 'Suspended' });
    s3.on(GetBucketNotificationConfigurationCommand).resolves({});
    codebuild.on(BatchGetProjectsCommand).resolves({ projects: [] });
    const failed = await doctor(...TARGET);
    expect(failed.code).toBe(EXIT.failed);
    expect(failed.io.out()).toMatch(/^FAIL +bucket +s3:\/\/contexts is not versioned \(Suspended\)/m);
    expect(failed.io.out()).toMatch(/^FAIL +project +no CodeBuild project p$/m);
    expect((await doctor('--verbose', ...TARGET)).code).toBe(EXIT.usage);
  });

  it('exits 5 when AWS refuses to say where the stack is', async () => {
    cloudformation
      .on(DescribeStacksCommand)
      .rejects(Object.assign(named('AccessDenied'), { $metadata: { httpStatusCode: 403 } }));
    const { code, io } = await doctor('--region', 'us-east-1');
    expect(code).toBe(EXIT.aws);
    expect(io.err()).toContain("cannot read the stack's outputs");
  });

  it('exits 0 when every check passes', async () => {
    s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    s3.on(GetBucketNotificationConfigurationCommand).resolves({
      LambdaFunctionConfigurations: ['.tar.gz', '.tgz', '.tar', '.zip'].map((suffix) => ({
        LambdaFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:p-buildTrigger',
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: suffix }] } },
      })),
    });
    const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
    codebuild.on(BatchGetProjectsCommand).resolves({
      projects: [{ name: 'p', serviceRole: role('build'), environment: { privilegedMode: true } as never }],
    });
    const topic = 'arn:aws:sns:us-east-1:123456789012:p-events';
    const env = {
      buildTrigger: { SCAN_ON_PUSH: 'true' },
      ecrEvents: { SNS_TOPIC_ARN: topic, SLACK_WEBHOOK_SOURCE: 'ssm', SLACK_WEBHOOK_PARAMETER: '/p/slack' },
      release: { RELEASE_GATE: 'scan', RELEASE_MAX_SEVERITY: 'HIGH' },
    };
    for (const [key, variables] of Object.entries(env))
      lambda
        .on(GetFunctionConfigurationCommand, { FunctionName: `p-${key}` })
        .resolves({ Role: role(key), Environment: { Variables: variables } });
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/p/slack', Type: 'SecureString' }] });
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [{ SubscriptionArn: `${topic}:1` }] });
    ecr
      .on(GetRegistryScanningConfigurationCommand)
      .resolves({ scanningConfiguration: { scanType: 'BASIC' } });
    ecr.on(DescribeRepositoriesCommand).rejects(named('RepositoryNotFoundException'));
    iam
      .on(SimulatePrincipalPolicyCommand)
      .resolves({ EvaluationResults: [{ EvalActionName: 'a', EvalDecision: 'allowed' }] });
    events.on(ListRulesCommand).resolves({
      Rules: [
        {
          Name: 'p-ReleaseBuildRule-1',
          State: 'ENABLED',
          EventPattern: JSON.stringify({ source: ['aws.codebuild'], detail: { 'project-name': ['p'] } }),
        },
      ],
    });
    events.on(ListTargetsByRuleCommand).resolves({
      Targets: [{ Id: 'release', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:p-release' }],
    });
    const { code, io } = await doctor(...TARGET);
    expect(io.out()).toMatch(/^ok +release gate +scan: holds an image with a finding at or above HIGH/m);
    expect(io.out()).toMatch(
      /^ok +release rule +p-ReleaseBuildRule-1 sends p's succeeded builds to p-release$/m,
    );
    expect(io.out()).toMatch(
      /^ok +roles +build-trigger, ecr-events, release, build project, build session: /m,
    );
    expect(io.out()).not.toContain('FAIL');
    expect(code, io.out()).toBe(EXIT.success);
    expect(io.out()).toContain('no problem found');
  });
});

describe('the exit-code table', () => {
  const table = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
  const tableCodes = [...table.matchAll(/^\| `(\d+)` +\|/gm)].map((m) => Number(m[1]));

  it('lists exactly the codes of cli/exit-codes.ts, each once', () => {
    expect(tableCodes).toEqual(Object.values(EXIT));
  });

  /**
   * The codes a command's help documents: `Exit codes: 0 ..., 1 ..., 2 usage, 5 AWS refused.`, each
   * code first in its comma-separated part (a part may go on in parentheses, without a comma).
   */
  const documented = (command: keyof typeof HELP): number[] => {
    const list = /Exit codes: ([\s\S]*?)\.(?:\n|$)/.exec(HELP[command])?.[1] ?? '';
    return list.split(',').map((part) => Number(part.trim().split(/\s/)[0]));
  };
  /** Every command but `submit`, whose help points to the table instead. */
  const commands = (Object.keys(HELP) as (keyof typeof HELP)[]).filter(
    (command) => command !== 'main' && command !== 'submit',
  );

  it("documents in each command's help only codes of the table, each once, with 2 and 5", () => {
    expect(HELP.submit).toContain('(exit codes: docs/cli.md)');
    expect(commands).toEqual(['status', 'logs', 'list', 'release', 'replay', 'doctor', 'verify']);
    for (const command of commands) {
      const codes = documented(command);
      expect(codes, command).toEqual([...new Set(codes)]);
      expect(codes, command).toEqual(expect.arrayContaining([EXIT.success, EXIT.usage, EXIT.aws]));
      for (const code of codes) expect(tableCodes, `${command} ${code}`).toContain(code);
    }
  });

  it('has every code a command documents produced by a test of that command above', () => {
    const expected = {
      // `verify`'s own code (7) is produced by its e2e test (test/e2e/supply-chain.test.ts), which
      // needs a registry holding the image and its referrers.
      submit: tableCodes.filter((code) => code !== EXIT.unverified),
      ...Object.fromEntries(commands.filter((c) => c !== 'verify').map((c) => [c, documented(c)])),
    };
    for (const [command, codes] of Object.entries(expected)) {
      const seen = [...(produced.get(command) ?? [])];
      for (const code of codes) expect(seen, `${command} exit ${code}`).toContain(code);
    }
  });
});
