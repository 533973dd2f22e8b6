import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  buildUploadOf,
  recordBuild,
  recordScan,
  scanOfImage,
  type UploadProgressDeps,
} from '../../../../functions/ecr-events/uploads/progress.ts';
import type { RecordEvent } from '../../../../functions/ecr-events/uploads/record-transition.ts';
import {
  imageIndexKey,
  type UploadScan,
  uploadRecordKey,
} from '../../../../functions/shared/upload-record.ts';
import inProgress from '../../../events/codebuild/build-in-progress.json' with { type: 'json' };
import { stubLogger } from '../fixtures.ts';

const s3 = mockClient(S3Client);
const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-west-2';
const PREFIX = 'contexts/';
const BUILD_ID = inProgress.detail['build-id'];
const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
const upload = {
  identity: { bucket: BUCKET, key: 'contexts/team/web/v1.4.3.tar.gz', versionId: 'v-1' },
  buildId: BUILD_ID,
};
const RECORD_KEY = uploadRecordKey(PREFIX, upload.identity);
const INDEX_KEY = imageIndexKey(PREFIX, 'team/web', DIGEST);
let buildDigest: ReturnType<typeof vi.fn<(id: string) => Promise<string | undefined>>>;
let imageScan: ReturnType<
  typeof vi.fn<(repository: string, digest: string) => Promise<UploadScan | undefined>>
>;
let logger: ReturnType<typeof stubLogger>;
const deps = (): UploadProgressDeps => ({
  s3: new S3Client({ region: 'us-west-2' }),
  commands: { GetObjectCommand, PutObjectCommand },
  bucket: BUCKET,
  keyPrefix: PREFIX,
  buildDigest,
  imageScan,
  logger,
});
const claim = {
  status: 'accepted',
  bucket: BUCKET,
  key: upload.identity.key,
  versionId: 'v-1',
  repository: 'team/web',
  tag: 'v1.4.3',
  owner: 'req-1',
  claimExpiresAt: '2026-11-16T16:20:00.000Z',
  at: '2026-11-16T16:10:00.000Z',
};
const AT = '2026-11-16T16:14:21Z';
const running: RecordEvent = { kind: 'build-running', buildId: BUILD_ID };
const succeeded: RecordEvent = { kind: 'build-succeeded', buildId: BUILD_ID, at: AT };
const failed: RecordEvent = {
  kind: 'build-failed',
  buildId: BUILD_ID,
  buildStatus: 'FAILED',
  phase: 'PRE_BUILD',
  reason: 'no Dockerfile at Dockerfile in the context',
  at: AT,
};
const scanned: Extract<RecordEvent, { kind: 'scan' }> = {
  kind: 'scan',
  repository: 'team/web',
  digest: DIGEST,
  scan: { status: 'COMPLETE', scanner: 'enhanced', counts: { HIGH: 3 }, at: '2026-11-16T16:20:00Z' },
};
const body = (record: object) => ({ transformToString: async () => JSON.stringify(record) }) as never;
const status = (code: number) =>
  Object.assign(new Error(`status ${code}`), { $metadata: { httpStatusCode: code } });
const written = (key: string) =>
  s3
    .commandCalls(PutObjectCommand)
    .filter((c) => c.args[0].input.Key === key)
    .map((c) => JSON.parse(String(c.args[0].input.Body)));

beforeEach(() => {
  s3.reset();
  logger = stubLogger();
  buildDigest = vi.fn(async () => DIGEST);
  imageScan = vi.fn(async () => undefined);
});

describe('buildUploadOf', () => {
  it('reads the object and the build id from the variables a build state event echoes', () => {
    const event = structuredClone(inProgress);
    event.detail['additional-information'].environment['environment-variables'].push(
      { name: 'CONTEXT_VERSION_ID', type: 'PLAINTEXT', value: 'v-1' },
      { name: 'CONTEXT_ETAG', type: 'PLAINTEXT', value: '' },
    );
    expect(buildUploadOf(event)).toEqual({
      identity: { bucket: BUCKET, key: 'team/web/v1.4.3.tar.gz', versionId: 'v-1', eTag: undefined },
      buildId: BUILD_ID,
    });
  });

  it('is undefined for other events and for builds that name no object', () => {
    expect(buildUploadOf({ ...inProgress, source: 'aws.ecr' })).toBeUndefined();
    const bare = structuredClone(inProgress);
    bare.detail['additional-information'].environment['environment-variables'] = [];
    expect(buildUploadOf(bare)).toBeUndefined();
    expect(buildUploadOf('nonsense')).toBeUndefined();
  });
});

describe('recordBuild', () => {
  it('adds the build id to the claim, on condition that the record did not change since it was read', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});

    expect(await recordBuild(deps(), upload, running)).toBe('written');
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY });
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: RECORD_KEY,
      Body: JSON.stringify({ ...claim, buildId: BUILD_ID }),
      ContentType: 'application/json',
      IfMatch: '"e1"',
    });
    expect(buildDigest).not.toHaveBeenCalled();
  });

  it('makes the record built with the digest the build exported, and indexes the image first', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body({ ...claim, buildId: BUILD_ID }), ETag: '"e2"' });
    s3.on(PutObjectCommand).resolves({});

    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(buildDigest).toHaveBeenCalledExactlyOnceWith(BUILD_ID);
    expect(imageScan).toHaveBeenCalledExactlyOnceWith('team/web', DIGEST);
    const built = { ...claim, buildId: BUILD_ID, finishedAt: AT, status: 'built', digest: DIGEST };
    expect(s3).toHaveReceivedNthCommandWith(PutObjectCommand, 1, {
      Bucket: BUCKET,
      Key: INDEX_KEY,
      Body: JSON.stringify({ record: RECORD_KEY, repository: 'team/web', digest: DIGEST }),
      ContentType: 'application/json',
    });
    expect(s3).toHaveReceivedNthCommandWith(PutObjectCommand, 2, {
      Bucket: BUCKET,
      Key: RECORD_KEY,
      Body: JSON.stringify(built),
      ContentType: 'application/json',
      IfMatch: '"e2"',
    });
  });

  it('makes the record failed with the reason, the phase and the build status', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body({ ...claim, buildId: BUILD_ID }), ETag: '"e2"' });
    s3.on(PutObjectCommand).resolves({});

    expect(await recordBuild(deps(), upload, failed)).toBe('written');
    expect(written(RECORD_KEY)).toEqual([
      {
        ...claim,
        buildId: BUILD_ID,
        finishedAt: AT,
        status: 'failed',
        reason: 'no Dockerfile at Dockerfile in the context',
        buildStatus: 'FAILED',
        phase: 'PRE_BUILD',
      },
    ]);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(buildDigest).not.toHaveBeenCalled();
  });

  it('adds a scan that completed before the record said built (its event found no index)', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});
    imageScan.mockResolvedValue(scanned.scan);

    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(written(RECORD_KEY)).toEqual([
      { ...claim, buildId: BUILD_ID, finishedAt: AT, status: 'built', digest: DIGEST, scan: scanned.scan },
    ]);
  });

  it('says built without the scan when ECR cannot tell, and logs it', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});
    imageScan.mockRejectedValue(new Error('ThrottlingException'));

    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(written(RECORD_KEY)[0]).toMatchObject({ status: 'built', digest: DIGEST });
    expect(written(RECORD_KEY)[0]).not.toHaveProperty('scan');
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('scan status'),
      expect.objectContaining({ digest: DIGEST, error: 'Error: ThrottlingException' }),
    );
  });

  it('still says built when the digest cannot be read, logs it, and writes no index', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});
    buildDigest.mockRejectedValue(new Error('AccessDeniedException'));

    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(written(RECORD_KEY)[0]).toMatchObject({ status: 'built', buildId: BUILD_ID });
    expect(written(RECORD_KEY)[0]).not.toHaveProperty('digest');
    expect(written(INDEX_KEY)).toHaveLength(0);
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining('could not read the digest'),
      expect.objectContaining({ buildId: BUILD_ID }),
    );
  });

  it('writes the record even when the image index cannot be written, and logs it', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand, { Key: INDEX_KEY }).rejects(status(403));
    s3.on(PutObjectCommand, { Key: RECORD_KEY }).resolves({});

    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(written(RECORD_KEY)[0]).toMatchObject({ status: 'built', digest: DIGEST });
    expect(logger.error).toHaveBeenCalledWith(
      expect.stringContaining('could not write the image index'),
      expect.objectContaining({ digest: DIGEST }),
    );
  });

  it('leaves a final record alone, without reading the digest (duplicate or late event)', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body({ ...claim, buildId: BUILD_ID, status: 'built', digest: DIGEST }),
      ETag: '"e3"',
    });
    for (const e of [running, succeeded, failed])
      expect(await recordBuild(deps(), upload, e)).toBe('unchanged');
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(buildDigest).not.toHaveBeenCalled();
  });

  it('writes nothing when the record is gone, or the build is of another bucket', async () => {
    s3.on(GetObjectCommand).rejects(status(404));
    expect(await recordBuild(deps(), upload, failed)).toBe('no-record');
    expect(
      await recordBuild(deps(), { ...upload, identity: { ...upload.identity, bucket: 'other' } }, failed),
    ).toBe('other-bucket');
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('reads again and writes once more when the record changed in between (412), keeping what changed', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: body(claim), ETag: '"e1"' })
      .resolves({ Body: body({ ...claim, owner: 'req-2', buildId: BUILD_ID }), ETag: '"e2"' });
    s3.on(PutObjectCommand).rejectsOnce(status(412)).resolves({});

    expect(await recordBuild(deps(), upload, failed)).toBe('written');
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.IfMatch)).toEqual(['"e1"', '"e2"']);
    expect(JSON.parse(String(puts[1]?.Body))).toMatchObject({
      owner: 'req-2',
      claimExpiresAt: claim.claimExpiresAt,
      buildId: BUILD_ID,
      status: 'failed',
    });
  });

  it('stops when the record became final in between: the other write won', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: body(claim), ETag: '"e1"' })
      .resolves({ Body: body({ ...claim, buildId: BUILD_ID, status: 'failed', reason: 'x' }), ETag: '"e2"' });
    s3.on(PutObjectCommand).rejectsOnce(status(412)).resolves({});

    expect(await recordBuild(deps(), upload, failed)).toBe('unchanged');
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it('throws what it cannot handle, for the caller to log: a read error, or a second conflict', async () => {
    s3.on(GetObjectCommand).rejects(status(503));
    await expect(recordBuild(deps(), upload, running)).rejects.toThrow('status 503');
    s3.reset();
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).rejects(status(412));
    await expect(recordBuild(deps(), upload, running)).rejects.toThrow('status 412');
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 2);
  });
});

describe('recordScan', () => {
  const built = { ...claim, buildId: BUILD_ID, finishedAt: AT, status: 'built', digest: DIGEST };

  it('finds the record by the image index and adds the counts', async () => {
    s3.on(GetObjectCommand, { Key: INDEX_KEY }).resolves({
      Body: body({ record: RECORD_KEY, repository: 'team/web', digest: DIGEST }),
    });
    s3.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(built), ETag: '"e4"' });
    s3.on(PutObjectCommand).resolves({});

    expect(await recordScan(deps(), scanned)).toBe('written');
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: RECORD_KEY,
      Body: JSON.stringify({ ...built, scan: scanned.scan }),
      ContentType: 'application/json',
      IfMatch: '"e4"',
    });
  });

  it('does nothing for an image no upload of this stack built (no index)', async () => {
    s3.on(GetObjectCommand).rejects(status(404));
    expect(await recordScan(deps(), scanned)).toBe('no-index');
    expect(s3).toHaveReceivedCommandExactlyOnceWith(GetObjectCommand, { Bucket: BUCKET, Key: INDEX_KEY });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('refuses an index that names an object outside the upload records', async () => {
    s3.on(GetObjectCommand, { Key: INDEX_KEY }).resolves({
      Body: body({ record: 'contexts/team/web/v1.4.3.tar.gz' }),
    });
    await expect(recordScan(deps(), scanned)).rejects.toThrow('names no upload record');
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('leaves a record that already has this scan (redelivery)', async () => {
    s3.on(GetObjectCommand, { Key: INDEX_KEY }).resolves({ Body: body({ record: RECORD_KEY }) });
    s3.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({
      Body: body({ ...built, scan: scanned.scan }),
      ETag: '"e5"',
    });
    expect(await recordScan(deps(), scanned)).toBe('unchanged');
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });
});

describe('scanOfImage', () => {
  const at = '2026-11-16T16:30:00.000Z';

  it('reads a completed basic scan: counts by severity and the time it completed', () => {
    expect(
      scanOfImage(
        {
          imageScanStatus: { status: 'COMPLETE' },
          imageScanFindingsSummary: {
            imageScanCompletedAt: new Date('2026-11-16T16:15:00Z'),
            findingSeverityCounts: { HIGH: 2, LOW: 0, INFORMATIONAL: 4 },
          },
        },
        at,
      ),
    ).toEqual({
      status: 'COMPLETE',
      scanner: 'basic',
      counts: { HIGH: 2, INFORMATIONAL: 4 },
      at: '2026-11-16T16:15:00.000Z',
    });
  });

  it('reads a failed scan, without counts', () => {
    expect(scanOfImage({ imageScanStatus: { status: 'FAILED' } }, at)).toEqual({
      status: 'FAILED',
      scanner: 'basic',
      counts: {},
      at,
    });
  });

  it('reads a completed enhanced scan (ACTIVE) as enhanced scanning reports it', () => {
    expect(
      scanOfImage(
        {
          imageScanStatus: { status: 'ACTIVE' },
          imageScanFindingsSummary: { findingSeverityCounts: { CRITICAL: 1 } },
        },
        at,
      ),
    ).toEqual({ status: 'COMPLETE', scanner: 'enhanced', counts: { CRITICAL: 1 }, at });
  });

  it.each(['IN_PROGRESS', 'PENDING', 'COMPLETE_SOON', undefined])(
    'is undefined while the status is %s',
    (status) => {
      expect(
        scanOfImage({ imageScanStatus: status ? { status: status as never } : undefined }, at),
      ).toBeUndefined();
      expect(scanOfImage(undefined, at)).toBeUndefined();
    },
  );
});

describe('buildUploadOf: what it takes from a build event', () => {
  const withVariables = (variables: unknown) => {
    const event = structuredClone(inProgress) as unknown as {
      detail: { 'additional-information': { environment: Record<string, unknown> } };
    };
    event.detail['additional-information'].environment['environment-variables'] = variables;
    return event;
  };

  it('is undefined for null, an event without detail, without a build id or without a list of variables', () => {
    expect(buildUploadOf(null)).toBeUndefined();
    expect(buildUploadOf({ source: 'aws.codebuild' })).toBeUndefined();
    expect(buildUploadOf({ source: 'aws.codebuild', detail: null })).toBeUndefined();
    const noId = structuredClone(inProgress) as { detail: Record<string, unknown> };
    delete noId.detail['build-id'];
    expect(buildUploadOf(noId)).toBeUndefined();
    expect(buildUploadOf(withVariables('CONTEXT_BUCKET=x'))).toBeUndefined();
    const noEnvironment = structuredClone(inProgress) as unknown as {
      detail: Record<string, Record<string, unknown>>;
    };
    delete noEnvironment.detail['additional-information']?.environment;
    expect(buildUploadOf(noEnvironment)).toBeUndefined();
  });

  it('needs both the bucket and the key, skips entries that are not variables, and takes only text values', () => {
    expect(buildUploadOf(withVariables([{ name: 'CONTEXT_BUCKET', value: BUCKET }]))).toBeUndefined();
    expect(buildUploadOf(withVariables([{ name: 'CONTEXT_KEY', value: 'k.tar.gz' }]))).toBeUndefined();
    expect(
      buildUploadOf(
        withVariables([
          null,
          'CONTEXT_BUCKET',
          { name: 'CONTEXT_BUCKET', value: BUCKET },
          { name: 'CONTEXT_KEY', value: 'k.tar.gz' },
          { name: 'CONTEXT_VERSION_ID', value: 7 },
          { name: 'CONTEXT_ETAG', value: 'abc' },
        ]),
      ),
    ).toEqual({
      identity: { bucket: BUCKET, key: 'k.tar.gz', versionId: undefined, eTag: 'abc' },
      buildId: BUILD_ID,
    });
  });
});

describe('applyToRecord: reads, writes and what it logs', () => {
  it('writes without a condition when S3 gave no ETag', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim) });
    s3.on(PutObjectCommand).resolves({});
    expect(await recordBuild(deps(), upload, running)).toBe('written');
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).not.toHaveProperty('IfMatch');
  });

  it('tries again on a 409 conflict as on a 412', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).rejectsOnce(status(409)).resolves({});
    expect(await recordBuild(deps(), upload, running)).toBe('written');
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 2);
  });

  it('throws any other write error at once', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).rejects(status(403));
    await expect(recordBuild(deps(), upload, running)).rejects.toThrow('status 403');
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it('keeps a digest the event already carries, without asking the build', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});
    expect(await recordBuild(deps(), upload, { ...succeeded, digest: 'sha256:given' })).toBe('written');
    expect(buildDigest).not.toHaveBeenCalled();
    expect(written(RECORD_KEY)[0]).toMatchObject({ status: 'built', digest: 'sha256:given' });
  });

  it('logs a build that exported no digest, and writes no index for it', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});
    buildDigest.mockResolvedValue(undefined);
    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(logger.error).toHaveBeenCalledExactlyOnceWith('the build exported no image digest', {
      buildId: BUILD_ID,
    });
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(imageScan).not.toHaveBeenCalled();
  });

  it('logs the failures that cost only the digest, the index or the early scan, with the keys of the upload', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand, { Key: INDEX_KEY }).rejects(
      Object.assign(new Error('denied'), { name: 'AccessDenied' }),
    );
    s3.on(PutObjectCommand, { Key: RECORD_KEY }).resolves({});
    imageScan.mockRejectedValue(Object.assign(new Error('slow'), { name: 'ThrottlingException' }));
    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(logger.error).toHaveBeenCalledWith(
      'could not write the image index: its scan will not reach the upload record',
      { key: upload.identity.key, repository: 'team/web', digest: DIGEST, error: 'AccessDenied: denied' },
    );
    expect(logger.warn).toHaveBeenCalledWith('could not read the scan status of the built image', {
      key: upload.identity.key,
      repository: 'team/web',
      digest: DIGEST,
      error: 'ThrottlingException: slow',
    });
    buildDigest.mockRejectedValue(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    await recordBuild(deps(), upload, succeeded);
    expect(logger.error).toHaveBeenCalledWith(
      'could not read the digest the build exported; the record says built without it',
      { buildId: BUILD_ID, error: 'AccessDeniedException: no' },
    );
  });

  it('writes no index and reads no scan for a record that names no repository', async () => {
    const { repository: _repository, ...anonymous } = claim;
    s3.on(GetObjectCommand).resolves({ Body: body(anonymous), ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});
    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(imageScan).not.toHaveBeenCalled();
  });
});

describe('recordScan: the image index', () => {
  it('refuses an index without a record, or one in another prefix, naming the image', async () => {
    for (const index of [{}, { record: 7 }, { record: `other/.ecr-pipeline/uploads/x.json` }]) {
      s3.on(GetObjectCommand, { Key: INDEX_KEY }).resolves({ Body: body(index) });
      await expect(recordScan(deps(), scanned)).rejects.toThrow(
        `the image index of team/web@${DIGEST} names no upload record`,
      );
    }
    s3.on(GetObjectCommand, { Key: INDEX_KEY }).resolves({});
    await expect(recordScan(deps(), scanned)).rejects.toThrow('names no upload record');
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('reads the record the index names in the upload records of this prefix', async () => {
    s3.on(GetObjectCommand, { Key: INDEX_KEY }).resolves({ Body: body({ record: RECORD_KEY }) });
    s3.on(GetObjectCommand, { Key: RECORD_KEY }).rejects(status(404));
    expect(RECORD_KEY.startsWith(`${PREFIX}.ecr-pipeline/uploads/`)).toBe(true);
    expect(await recordScan(deps(), scanned)).toBe('no-record');
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY });
  });
});

describe('scanOfImage: a completed scan without a summary', () => {
  it('has no counts and the time of the fallback', () => {
    expect(scanOfImage({ imageScanStatus: { status: 'COMPLETE' } }, '2026-11-16T16:30:00.000Z')).toEqual({
      status: 'COMPLETE',
      scanner: 'basic',
      counts: {},
      at: '2026-11-16T16:30:00.000Z',
    });
  });
});

describe('scan results: counts only of completed scans, the index written once', () => {
  it('gives a failed scan no counts even when ECR lists some, and a completed one without a time the fallback time', () => {
    const at = '2026-11-16T16:30:00.000Z';
    const findingSeverityCounts = { HIGH: 2 };
    expect(
      scanOfImage(
        { imageScanStatus: { status: 'FAILED' }, imageScanFindingsSummary: { findingSeverityCounts } },
        at,
      ),
    ).toEqual({ status: 'FAILED', scanner: 'basic', counts: {}, at });
    expect(
      scanOfImage(
        { imageScanStatus: { status: 'COMPLETE' }, imageScanFindingsSummary: { findingSeverityCounts } },
        at,
      ),
    ).toEqual({ status: 'COMPLETE', scanner: 'basic', counts: { HIGH: 2 }, at });
  });

  it('writes neither the index nor asks ECR again when a scan reaches a record already built', async () => {
    const built = { ...claim, buildId: BUILD_ID, finishedAt: AT, status: 'built', digest: DIGEST };
    s3.on(GetObjectCommand, { Key: INDEX_KEY }).resolves({ Body: body({ record: RECORD_KEY }) });
    s3.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(built), ETag: '"e4"' });
    s3.on(PutObjectCommand).resolves({});
    expect(await recordScan(deps(), scanned)).toBe('written');
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(imageScan).not.toHaveBeenCalled();
  });
});

describe('a digest read without trouble', () => {
  it('logs no error when the build exported its digest', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim), ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});
    expect(await recordBuild(deps(), upload, succeeded)).toBe('written');
    expect(buildDigest).toHaveBeenCalledOnce();
    expect(logger.error).not.toHaveBeenCalled();
  });
});

describe('a build event whose additional information is null', () => {
  it('names no upload', () => {
    const event = structuredClone(inProgress) as unknown as { detail: Record<string, unknown> };
    event.detail['additional-information'] = null;
    expect(buildUploadOf(event)).toBeUndefined();
  });
});
