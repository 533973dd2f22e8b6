/**
 * Every exit code of the table in docs/cli.md, through `main` with mocked AWS clients: what a CI job
 * sees for each outcome of `submit`, and for `status`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../cli/exit-codes.ts';
import { main } from '../../../cli/main.ts';
import type { Io } from '../../../cli/submit.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';

const s3 = mockClient(S3Client);
const codebuild = mockClient(CodeBuildClient);
const ecr = mockClient(ECRClient);
mockClient(CloudWatchLogsClient);

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
  return main(['submit', dir, '-r', 'team/api', '-t', 'v1', ...TARGET, ...extra], io).then((code) => ({
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
    expect(await main(['submit', dir, '--fail-on', 'SEVERE'], io)).toBe(EXIT.usage);
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

describe('status of a finished upload', () => {
  const status = async () => {
    const io = capture();
    const code = await main(['status', 'team/api/v1.tar.gz', ...TARGET], io);
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
        }),
      ) as never,
    });
    s3.on(GetObjectCommand, { Key: '.ecr-pipeline/uploads/mid.json' }).resolves({
      Body: body(record({ key: 'other/x/v1.tar.gz', repository: 'other/x', status: 'rejected' })) as never,
    });
    const io = capture();
    expect(await main(['list', '--limit', '2', '-o', 'json', ...TARGET], io)).toBe(EXIT.success);
    const { uploads } = JSON.parse(io.out());
    expect(uploads.map((u: { key: string }) => u.key)).toEqual(['team/api/v2.tar.gz', 'other/x/v1.tar.gz']);
    expect(uploads[0]).toMatchObject({ image: 'team/api:v2', status: 'built', buildId: 'p:2' });
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 2);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: 'contexts',
      Prefix: '.ecr-pipeline/uploads/',
    });

    const text = capture();
    expect(await main(['list', '-r', 'other/x', ...TARGET], text)).toBe(EXIT.success);
    const lines = text.out().trim().split('\n');
    expect(lines[0]).toMatch(/^KEY +IMAGE +STATUS +GATE +AGE +BUILD$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^other\/x\/v1\.tar\.gz +other\/x:v1 +rejected +- +\d+[smhd] +-$/);
  });
});
