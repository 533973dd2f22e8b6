/**
 * `status`: the same view as text or one JSON object; an upload named repository:tag whatever its
 * extension; a build named by the ARN a notification prints.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import { DescribeImageReplicationStatusCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../cli/exit-codes.ts';
import { main } from '../../../cli/main.ts';
import { type Found, isFinal, statusLines, statusView } from '../../../cli/status.ts';
import type { Io } from '../../../cli/submit.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';

const s3 = mockClient(S3Client);
const codebuild = mockClient(CodeBuildClient);
const ecr = mockClient(ECRClient);
const logs = mockClient(CloudWatchLogsClient);

const TARGET = ['--bucket', 'contexts', '--project', 'p', '--region', 'us-east-1'];
const DIGEST = `sha256:${'b'.repeat(64)}`;
const BUILD_ID = 'p:11111111-1111-1111-1111-111111111111';
const named = (name: string) => Object.assign(new Error(name), { name });
const body = (value: unknown) => ({ transformToString: async () => JSON.stringify(value) }) as never;

function capture(): Io & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    out: () => out,
    err: () => err,
  };
}

const status = async (...args: string[]) => {
  const io = capture();
  const code = await main(['status', ...args, ...TARGET], io);
  return { code, io };
};

const record = (extra: Partial<UploadRecord>): UploadRecord => ({
  status: 'accepted',
  bucket: 'contexts',
  key: 'team/api/v1.tar.gz',
  repository: 'team/api',
  tag: 'v1',
  at: '2026-12-01T00:00:00Z',
  ...extra,
});

const failedBuild: Build = {
  id: BUILD_ID,
  buildStatus: 'FAILED',
  buildComplete: true,
  phases: [
    {
      phaseType: 'BUILD',
      phaseStatus: 'FAILED',
      contexts: [
        {
          statusCode: 'COMMAND_EXECUTION_ERROR',
          message: 'Error while executing command: ecoh. Reason: exit status 127',
        },
      ],
    },
  ],
  logs: { groupName: '/aws/codebuild/p', streamName: 's', deepLink: 'https://console.aws.amazon.com/x' },
};

beforeEach(() => {
  s3.reset();
  codebuild.reset();
  ecr.reset();
  logs.reset();
  s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"e"', ContentLength: 10 });
  ecr.on(DescribeImageReplicationStatusCommand).resolves({ replicationStatuses: [] });
});

describe('status --output json', () => {
  it('prints one object for a built upload, with the image and the replication', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'built', digest: DIGEST, buildId: BUILD_ID, buildStatus: 'SUCCEEDED' })),
    });
    const { code, io } = await status('team/api/v1.tar.gz', '--output', 'json');
    expect(code).toBe(EXIT.success);
    expect(io.out().trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(io.out())).toMatchObject({
      exitCode: 0,
      status: 'built',
      upload: { bucket: 'contexts', key: 'team/api/v1.tar.gz', versionId: 'v1', size: 10 },
      buildId: BUILD_ID,
      buildStatus: 'SUCCEEDED',
      image: `team/api:v1@${DIGEST}`,
      digest: DIGEST,
      replication: ['replicas none (no replication rule covers this repository)'],
    });
  });

  it('shows where the build spent its time, from the record, in JSON and for people', async () => {
    const durations = { queued: 2, provisioning: 41, downloadSource: 1, build: 63, install: 0 };
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'built', digest: DIGEST, buildId: BUILD_ID, durations })),
    });
    expect(JSON.parse((await status('team/api/v1.tar.gz', '-o', 'json')).io.out())).toMatchObject({
      status: 'built',
      durations,
    });
    expect((await status('team/api/v1.tar.gz')).io.out()).toContain(
      'time     queued 2 s, provisioning 41 s, download 1 s, build 63 s\n',
    );
  });

  it('leaves out of the view what in a record is not a duration', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'failed', reason: 'x', durations: { queued: -5, build: '7' } as never })),
    });
    expect(JSON.parse((await status('team/api/v1.tar.gz', '-o', 'json')).io.out())).not.toHaveProperty(
      'durations',
    );
    expect((await status('team/api/v1.tar.gz')).io.out()).not.toContain('time ');
  });

  it('says why a build failed, with its phase, and exits 1', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'failed', phase: 'BUILD', reason: 'ecoh: not found', buildId: BUILD_ID })),
    });
    const { code, io } = await status('team/api/v1.tar.gz', '-o', 'json');
    expect(code).toBe(EXIT.failed);
    expect(JSON.parse(io.out())).toMatchObject({
      exitCode: 1,
      status: 'failed',
      phase: 'BUILD',
      reason: 'ecoh: not found',
    });
  });

  it('says a superseded upload pushed nothing', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(record({ status: 'superseded', buildId: BUILD_ID })) });
    const json = await status('team/api/v1.tar.gz', '-o', 'json');
    expect(json.code).toBe(EXIT.failed);
    expect(JSON.parse(json.io.out())).toMatchObject({
      status: 'superseded',
      reason: expect.stringContaining('newer upload'),
    });
    const text = await status('team/api/v1.tar.gz');
    expect(text.io.out()).toContain('reason   a newer upload of the same key won; this one pushed nothing');
  });

  it('exits 3 for a rejected upload, with its code and reason', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'rejected', code: 'InvalidTag', reason: 'bad tag' })),
    });
    const { code, io } = await status('team/api/v1.tar.gz', '-o', 'json');
    expect(code).toBe(EXIT.rejected);
    expect(JSON.parse(io.out())).toMatchObject({
      exitCode: 3,
      status: 'rejected',
      code: 'InvalidTag',
      reason: 'bad tag',
    });
  });

  it('tells an upload not handled yet from one accepted without a build yet', async () => {
    s3.on(GetObjectCommand).rejects(named('NoSuchKey'));
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    expect(JSON.parse((await status('team/api/v1.tar.gz', '-o', 'json')).io.out())).toMatchObject({
      exitCode: 0,
      status: 'uploaded',
    });
    s3.on(GetObjectCommand).resolves({ Body: body(record({})) });
    const accepted = await status('team/api/v1.tar.gz', '-o', 'json');
    expect(JSON.parse(accepted.io.out())).toMatchObject({ status: 'accepted' });
    expect((await status('team/api/v1.tar.gz')).io.out()).toMatch(/record +accepted\nbuild +none yet/);
  });

  it("reads a finished build's failure from its log when the record has not caught up", async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [failedBuild] });
    logs.on(GetLogEventsCommand).resolves({
      events: [
        '[Container] 2026/12/01 10:00:00.3 Running command ecoh',
        '/codebuild/output/tmp/script.sh: 4: ecoh: not found',
        '[Container] 2026/12/01 10:00:00.4 Command did not exit successfully ecoh exit status 127',
      ].map((message) => ({ message })),
    });
    const json = await status(BUILD_ID, '-o', 'json');
    expect(json.code).toBe(EXIT.failed);
    expect(JSON.parse(json.io.out())).toMatchObject({
      status: 'failed',
      buildId: BUILD_ID,
      phase: 'BUILD',
      reason: '/codebuild/output/tmp/script.sh: 4: ecoh: not found',
      detail: 'COMMAND_EXECUTION_ERROR: Error while executing command: ecoh. Reason: exit status 127',
    });
    const text = await status(BUILD_ID);
    expect(text.io.out()).toContain('reason   BUILD: /codebuild/output/tmp/script.sh: 4: ecoh: not found');
  });

  it('shows a running build with its phase', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [{ id: BUILD_ID, buildStatus: 'IN_PROGRESS', buildComplete: false, currentPhase: 'BUILD' }],
    });
    const { code, io } = await status(BUILD_ID, '-o', 'json');
    expect(code).toBe(EXIT.success);
    expect(JSON.parse(io.out())).toMatchObject({
      status: 'building',
      phase: 'BUILD',
      buildStatus: 'IN_PROGRESS',
    });
    expect((await status(BUILD_ID)).io.out()).toBe(`build    ${BUILD_ID}  IN_PROGRESS  phase BUILD\n`);
  });

  it('shows where a build named by its id spent its time so far, as CodeBuild describes it', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: BUILD_ID,
          buildStatus: 'IN_PROGRESS',
          buildComplete: false,
          currentPhase: 'BUILD',
          phases: [
            { phaseType: 'SUBMITTED', durationInSeconds: 0 },
            { phaseType: 'QUEUED', durationInSeconds: 3 },
            { phaseType: 'PROVISIONING', durationInSeconds: 95 },
            { phaseType: 'BUILD' },
          ],
        },
      ],
    });
    expect(JSON.parse((await status(BUILD_ID, '-o', 'json')).io.out())).toMatchObject({
      durations: { queued: 3, provisioning: 95 },
    });
    expect((await status(BUILD_ID)).io.out()).toBe(
      `build    ${BUILD_ID}  IN_PROGRESS  phase BUILD\ntime     queued 3 s, provisioning 95 s\n`,
    );
  });
});

describe('when the record alone tells the outcome', () => {
  it('takes built, released, held, superseded and failed as final, and no record or an upload in flight not', () => {
    for (const status of ['built', 'released', 'held', 'superseded', 'failed'] as const) {
      expect(isFinal(record({ status })), status).toBe(true);
    }
    for (const status of ['accepted', 'rejected'] as const) {
      expect(isFinal(record({ status })), status).toBe(false);
    }
    expect(isFinal(undefined)).toBe(false);
  });
});

describe('the lines status prints', () => {
  const clients = { ecr: new ECRClient({ region: 'us-east-1' }) } as never;
  const identity = { bucket: 'contexts', key: 'team/api/v1.tar.gz', versionId: 'v7' };
  const lines = async (found: Found, project: string | undefined) =>
    statusLines(await statusView(clients, project, found), found, project);

  it('a built upload: its object, record, build, image, scan and replication', async () => {
    const final = record({
      status: 'built',
      buildId: BUILD_ID,
      buildStatus: 'SUCCEEDED',
      finishedAt: '2026-12-01T00:03:00Z',
      digest: DIGEST,
      scan: { status: 'COMPLETE', scanner: 'basic', counts: { HIGH: 2, LOW: 1 }, at: '2026-12-01T00:04:00Z' },
    });
    const text = await lines({ identity, size: 2048, final }, 'p');
    expect(text.slice(0, 5)).toEqual([
      'upload   s3://contexts/team/api/v1.tar.gz version v7  2.0 KiB',
      'record   built at 2026-12-01T00:03:00Z',
      `build    ${BUILD_ID}  SUCCEEDED`,
      `image    team/api:v1@${DIGEST}`,
      'scan     basic COMPLETE: HIGH 2, LOW 1',
    ]);
    expect(ecr.commandCalls(DescribeImageReplicationStatusCommand)).toHaveLength(1);
    expect(text.length).toBeGreaterThan(5);
  });

  it('an unversioned object of unknown size; a scan without findings; no build id', async () => {
    const final = record({
      status: 'released',
      digest: DIGEST,
      scan: { status: 'COMPLETE', scanner: 'enhanced', counts: {}, at: '2026-12-01T00:04:00Z' },
    });
    const text = await lines({ identity: { bucket: 'contexts', key: 'k.tar' }, final }, 'p');
    expect(text.slice(0, 3)).toEqual([
      'upload   s3://contexts/k.tar',
      'record   released',
      `image    team/api:v1@${DIGEST}`,
    ]);
    expect(text).toEqual([
      'upload   s3://contexts/k.tar',
      'record   released',
      `image    team/api:v1@${DIGEST}`,
      'scan     enhanced COMPLETE: no findings',
      'replicas none (no replication rule covers this repository)',
    ]);
  });

  it('asks no replication for a failed, held or superseded upload, nor for one without a digest', async () => {
    for (const status of ['failed', 'held', 'superseded'] as const) {
      await lines({ final: record({ status, digest: DIGEST }) }, 'p');
    }
    await lines({ final: record({ status: 'built' }) }, 'p');
    await lines({ final: record({ status: 'built', digest: DIGEST, repository: undefined }) }, 'p');
    expect(ecr.commandCalls(DescribeImageReplicationStatusCommand)).toHaveLength(0);
  });

  it('a failed record: its phase and every line of its reason, lined up', async () => {
    const text = await lines(
      {
        identity,
        final: record({ status: 'failed', phase: 'BUILD', reason: 'step 3 failed\nexit status 127' }),
      },
      'p',
    );
    expect(text).toEqual([
      'upload   s3://contexts/team/api/v1.tar.gz version v7',
      'record   failed',
      'reason   BUILD: step 3 failed',
      '         exit status 127',
    ]);
  });

  it('a superseded record after its release was decided keeps its own reason', async () => {
    const final = record({
      status: 'superseded',
      reason: 'v2 was uploaded',
      release: { gate: 'none' } as never,
    });
    const text = await lines({ final }, 'p');
    expect(text).toEqual([
      'record   superseded',
      'reason   v2 was uploaded; its tag was not moved',
      'gate     none: waiting',
    ]);
  });

  it('a released image: the replication is asked, and the override that released it is shown', async () => {
    const final = record({
      status: 'released',
      digest: DIGEST,
      release: {
        gate: 'none',
        override: { reason: 'hotfix', by: 'ops', at: '2026-12-01T01:00:00Z' },
      } as never,
    });
    const text = await lines({ final }, 'p');
    expect(text).toEqual([
      'record   released',
      `image    team/api:v1@${DIGEST}`,
      'gate     none: waiting',
      'override ops at 2026-12-01T01:00:00Z: hotfix',
      'replicas none (no replication rule covers this repository)',
    ]);
    expect(ecr.commandCalls(DescribeImageReplicationStatusCommand)).toHaveLength(1);
  });

  it('a failed record without a reason, a superseded one without its own, an upload not known', async () => {
    expect(await lines({ final: record({ status: 'failed' }) }, 'p')).toEqual([
      'record   failed',
      'reason   no reason given',
    ]);
    const superseded = await lines(
      { final: record({ status: 'superseded', release: { gate: 'none' } as never }) },
      'p',
    );
    expect(superseded).toContain('reason   a newer upload of the same key won; its tag was not moved');
    expect(await statusView(clients, 'p', {})).toEqual({
      exitCode: EXIT.success,
      status: 'unknown',
      upload: undefined,
    });
  });

  it('a held image: what to do next', async () => {
    const text = await lines({ final: record({ status: 'held', digest: DIGEST }) }, 'p');
    expect(text).toEqual([
      'record   held',
      `image    team/api@${DIGEST} (pushed by digest; the tag v1 was not moved)`,
      'next     to release it anyway: ecr-pipeline release team/api/v1.tar.gz --override --reason "..." (needs the stack\'s ReleaseOperatorPolicy)',
    ]);
    const built = await lines({ final: record({ status: 'built', digest: DIGEST }) }, 'p');
    expect(built.some((line) => line.startsWith('next     '))).toBe(false);
  });

  it('an upload not yet handled, with and without a project to look for its build', async () => {
    expect(await lines({ identity }, 'p')).toEqual([
      'upload   s3://contexts/team/api/v1.tar.gz version v7',
      'record   not handled yet',
      'build    none yet',
    ]);
    expect(await lines({ identity, accepted: true }, undefined)).toEqual([
      'upload   s3://contexts/team/api/v1.tar.gz version v7',
      'record   accepted',
      'build    unknown (pass --project or set ECR_PIPELINE_PROJECT)',
    ]);
  });

  it('a rejected upload: its object and why, nothing after', async () => {
    const text = await lines(
      { identity, rejected: { code: 'BAD_ARCHIVE', reason: 'not a tar' } as never },
      'p',
    );
    expect(text).toHaveLength(2);
    expect(text[0]).toBe('upload   s3://contexts/team/api/v1.tar.gz version v7');
  });

  it('a build that pushed: its image, and the replication of its repository', async () => {
    const pushed: Build = {
      id: BUILD_ID,
      buildStatus: 'SUCCEEDED',
      buildComplete: true,
      environment: {
        environmentVariables: [
          { name: 'OTHER', value: 'x' },
          { name: 'IMAGE_REPOSITORY', value: 'team/api' },
          { name: 'IMAGE_TAG', value: 'v1' },
        ],
      } as never,
      exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: DIGEST }],
    };
    const text = await lines({ build: pushed }, 'p');
    expect(text).toEqual([
      `build    ${BUILD_ID}  SUCCEEDED`,
      `image    team/api:v1@${DIGEST}`,
      'replicas none (no replication rule covers this repository)',
    ]);
    expect(ecr.commandCalls(DescribeImageReplicationStatusCommand)[0]?.args[0].input).toEqual({
      repositoryName: 'team/api',
      imageId: { imageDigest: DIGEST },
    });
    const view = await statusView(clients, 'p', { build: pushed });
    expect(view).toMatchObject({ status: 'built', exitCode: EXIT.success, digest: DIGEST });
  });

  it('a running build, then the same build failed: the log link and the reason', async () => {
    const running: Build = {
      id: BUILD_ID,
      buildStatus: 'IN_PROGRESS',
      buildComplete: false,
      currentPhase: 'BUILD',
    };
    expect(await lines({ build: running }, 'p')).toEqual([`build    ${BUILD_ID}  IN_PROGRESS  phase BUILD`]);
    const text = await lines({ build: failedBuild }, 'p');
    expect(text).toEqual([
      `build    ${BUILD_ID}  FAILED`,
      'log      https://console.aws.amazon.com/x',
      // No log to read here: CodeBuild's message for the phase.
      'reason   BUILD: COMMAND_EXECUTION_ERROR: Error while executing command: ecoh. Reason: exit status 127',
    ]);
  });
});

describe('what status and logs take', () => {
  it('finds repository:tag uploaded as .tgz or .tar', async () => {
    s3.on(HeadObjectCommand)
      .rejects(named('NotFound'))
      .on(HeadObjectCommand, { Key: 'team/api/v1.tar' })
      .resolves({ VersionId: 'v9', ContentLength: 5 });
    s3.on(GetObjectCommand).resolves({
      Body: body(record({ status: 'built', key: 'team/api/v1.tar', digest: DIGEST })),
    });
    const { code, io } = await status('team/api:v1', '-o', 'json');
    expect(code, io.err()).toBe(EXIT.success);
    expect(JSON.parse(io.out())).toMatchObject({ upload: { key: 'team/api/v1.tar', versionId: 'v9' } });
    expect(s3.commandCalls(HeadObjectCommand).map((call) => call.args[0].input.Key)).toEqual([
      'team/api/v1.tar.gz',
      'team/api/v1.tgz',
      'team/api/v1.tar',
    ]);
  });

  it('names every key it tried when none is there', async () => {
    s3.on(HeadObjectCommand).rejects(named('NotFound'));
    const { code, io } = await status('team/api:v1');
    expect(code).toBe(EXIT.failed);
    expect(io.err()).toContain(
      'no upload at s3://contexts/team/api/v1.tar.gz, s3://contexts/team/api/v1.tgz, s3://contexts/team/api/v1.tar',
    );
  });

  it('stops at an error other than not found', async () => {
    s3.on(HeadObjectCommand).rejects(
      Object.assign(named('AccessDenied'), { $metadata: { httpStatusCode: 403 } }),
    );
    const { code } = await status('team/api:v1');
    expect(code).toBe(EXIT.aws);
    expect(s3).toHaveReceivedCommandTimes(HeadObjectCommand, 1);
  });

  it('takes the build ARN a notification prints', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [{ id: BUILD_ID, buildStatus: 'IN_PROGRESS', buildComplete: false, currentPhase: 'BUILD' }],
    });
    const { code } = await status(`arn:aws:codebuild:us-east-1:123456789012:build/${BUILD_ID}`);
    expect(code).toBe(EXIT.success);
    expect(codebuild).toHaveReceivedCommandWith(BatchGetBuildsCommand, { ids: [BUILD_ID] });
  });

  it("logs takes the build ARN a notification prints, and prints that build's log", async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [failedBuild] });
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: '/bin/sh: ecoh: not found' }] });
    const io = capture();
    const arn = `arn:aws:codebuild:us-east-1:123456789012:build/${BUILD_ID}`;
    expect(await main(['logs', arn, ...TARGET], io)).toBe(EXIT.success);
    expect(io.out()).toBe('/bin/sh: ecoh: not found\n');
    expect(codebuild).toHaveReceivedCommandWith(BatchGetBuildsCommand, { ids: [BUILD_ID] });
    expect(logs).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: '/aws/codebuild/p',
      logStreamName: 's',
    });
  });

  it('logs hides CodeBuild lines unless --verbose', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [failedBuild] });
    logs.on(GetLogEventsCommand).resolves({
      events: [{ message: '[Container] 2026/12/01 10:00:00.1 Entering phase BUILD' }, { message: 'hello' }],
    });
    const io = capture();
    expect(await main(['logs', BUILD_ID, ...TARGET], io)).toBe(EXIT.success);
    expect(io.out()).toBe('hello\n');
    const verbose = capture();
    expect(await main(['logs', BUILD_ID, '--verbose', ...TARGET], verbose)).toBe(EXIT.success);
    expect(verbose.out()).toBe('[Container] 2026/12/01 10:00:00.1 Entering phase BUILD\nhello\n');
  });
});
