/**
 * The one rule by which the CLI, the local cloud's demo and the end-to-end tests find an upload's
 * record and build (follow/upload.ts).
 */
import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  buildMatches,
  buildsOfUpload,
  findBuild,
  readUploadRecord,
  UploadNotSighted,
  waitForBuildEnd,
  waitForUpload,
} from '../../../follow/upload.ts';
import { uploadRecordKey } from '../../../functions/shared/upload-record.ts';
import { build, identity, ours } from './fixtures.ts';

const s3 = mockClient(S3Client);
const codebuild = mockClient(CodeBuildClient);
const clients = {
  s3: new S3Client({ region: 'us-east-1' }),
  codebuild: new CodeBuildClient({ region: 'us-east-1' }),
};

const named = (name: string) => Object.assign(new Error(name), { name });

beforeEach(() => {
  s3.reset();
  codebuild.reset();
});

describe('finding the build of an upload', () => {
  it('matches bucket, key and version id, never another version of the same key', () => {
    expect(buildMatches(build('p:1', ours), identity)).toBe(true);
    expect(buildMatches(build('p:1', { ...ours, CONTEXT_VERSION_ID: 'v1' }), identity)).toBe(false);
    expect(buildMatches(build('p:1', { ...ours, CONTEXT_KEY: 'team/api/v2.tar.gz' }), identity)).toBe(false);
    expect(buildMatches(build('p:1', { ...ours, CONTEXT_BUCKET: 'other' }), identity)).toBe(false);
  });

  it('falls back to the ETag when the build has no version id, and skips builds older than the upload', () => {
    const unversioned = { ...ours, CONTEXT_VERSION_ID: '' };
    expect(buildMatches(build('p:1', unversioned), identity)).toBe(true);
    expect(buildMatches(build('p:1', { ...unversioned, CONTEXT_ETAG: 'other' }), identity)).toBe(false);
    expect(buildMatches(build('p:1', unversioned), identity, new Set(['p:1']))).toBe(false);
  });

  it('looks through the newest builds and returns the one whose variables name the object', async () => {
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: ['p:3', 'p:2', 'p:1'] });
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        build('p:3', { ...ours, CONTEXT_KEY: 'other/x.tar.gz' }),
        build('p:1', { ...ours, CONTEXT_VERSION_ID: 'v1' }),
        build('p:2', ours),
      ],
    });
    const found = await findBuild(clients, 'p', identity, new Set(['p:0']));
    expect(found?.id).toBe('p:2');
    expect(codebuild).toReceiveCommandWith(ListBuildsForProjectCommand, {
      projectName: 'p',
      sortOrder: 'DESCENDING',
    });
    expect(codebuild).toReceiveCommandWith(BatchGetBuildsCommand, { ids: ['p:3', 'p:2', 'p:1'] });
  });

  it('does not ask for builds that existed before the upload', async () => {
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: ['p:1'] });
    expect(await findBuild(clients, 'p', identity, new Set(['p:1']))).toBeUndefined();
    expect(codebuild).not.toReceiveCommand(BatchGetBuildsCommand);
  });
});

describe('every build of an upload (the local cloud counts them)', () => {
  it('returns all matching builds newest first, by the same rule', async () => {
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: ['p:4', 'p:3', 'p:2', 'p:1'] });
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        build('p:1', ours),
        build('p:2', { ...ours, CONTEXT_BUCKET: 'other' }),
        build('p:3', ours),
        build('p:4', { ...ours, CONTEXT_VERSION_ID: 'v1' }),
      ],
    });
    const builds = await buildsOfUpload(clients, 'p', identity);
    expect(builds.map((b) => b.id)).toEqual(['p:3', 'p:1']);
  });
});

describe('reading the upload record', () => {
  it('reads the record named by version id, then by ETag', async () => {
    const byETag = uploadRecordKey('in/', { ...identity, versionId: undefined });
    s3.on(GetObjectCommand).rejects(named('NoSuchKey'));
    s3.on(GetObjectCommand, { Key: byETag }).resolves({
      Body: { transformToString: async () => '{"status":"accepted"}' },
    } as never);
    expect(await readUploadRecord(clients, 'in/', identity)).toEqual({ status: 'accepted' });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Key: uploadRecordKey('in/', identity) });
  });

  it('reads nothing yet while the record is missing or being rewritten, and throws other errors', async () => {
    for (const name of ['NoSuchKey', 'TimeoutError', 'SyntaxError']) {
      s3.on(GetObjectCommand).rejects(named(name));
      expect(await readUploadRecord(clients, '', identity)).toBeUndefined();
    }
    s3.on(GetObjectCommand).rejects(named('AccessDenied'));
    await expect(readUploadRecord(clients, '', identity)).rejects.toThrow('AccessDenied');
  });
});

describe('waiting for an upload (the one loop the CLI and the local cloud share)', () => {
  const record = (body: object) =>
    ({ Body: { transformToString: async () => JSON.stringify(body) } }) as never;
  const options = { project: 'p', prefix: '', identity, pollMs: 1, timeoutMs: 1_000 };

  it('ends on a record that failed before any build, without looking for a build', async () => {
    s3.on(GetObjectCommand).resolves(record({ status: 'failed', reason: 'bad' }));
    expect(await waitForUpload(clients, options)).toEqual({
      kind: 'ended',
      record: { status: 'failed', reason: 'bad' },
    });
    expect(codebuild).not.toHaveReceivedCommand(ListBuildsForProjectCommand);
  });

  it('returns the build of the upload once it appears, with the record', async () => {
    s3.on(GetObjectCommand).resolves(record({ status: 'accepted' }));
    codebuild
      .on(ListBuildsForProjectCommand)
      .resolvesOnce({ ids: [] })
      .resolves({ ids: ['p:1'] });
    codebuild.on(BatchGetBuildsCommand).resolves({ builds: [build('p:1', ours)] });
    const seen = await waitForUpload(clients, options);
    expect(seen).toMatchObject({ kind: 'build', build: { id: 'p:1' }, record: { status: 'accepted' } });
  });

  it('says it timed out, and whether the function had accepted the upload', async () => {
    s3.on(GetObjectCommand).resolves(record({ status: 'accepted' }));
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    const error = await waitForUpload(clients, { ...options, timeoutMs: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadNotSighted);
    expect(error).toMatchObject({ why: 'timeout', accepted: true });
  });

  it('polls a build until it is complete', async () => {
    codebuild
      .on(BatchGetBuildsCommand)
      .resolvesOnce({ builds: [build('p:1', ours, { buildComplete: false })] })
      .resolves({ builds: [build('p:1', ours, { buildComplete: true, buildStatus: 'SUCCEEDED' })] });
    const polled: Build[] = [];
    const done = await waitForBuildEnd(clients, build('p:1', ours), {
      pollMs: 1,
      onPoll: (b) => {
        polled.push(b);
      },
    });
    expect(done.buildStatus).toBe('SUCCEEDED');
    expect(polled).toHaveLength(3);
    expect(codebuild).toHaveReceivedCommandWith(BatchGetBuildsCommand, { ids: ['p:1'] });
  });
});
