import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { buildUploadOf, recordBuildId } from '../../../functions/ecr-events/upload-progress.ts';
import { uploadRecordKey } from '../../../functions/shared/upload-record.ts';
import inProgress from '../../events/codebuild/build-in-progress.json' with { type: 'json' };

const s3 = mockClient(S3Client);
const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-west-2';
const BUILD_ID = inProgress.detail['build-id'];
const upload = {
  identity: { bucket: BUCKET, key: 'team/web/v1.4.3.tar.gz', versionId: 'v-1' },
  buildId: BUILD_ID,
};
const RECORD_KEY = uploadRecordKey('', upload.identity);
const deps = () => ({
  s3: new S3Client({ region: 'us-west-2' }),
  commands: { GetObjectCommand, PutObjectCommand },
  bucket: BUCKET,
  keyPrefix: '',
});
const claim = { status: 'accepted', bucket: BUCKET, key: upload.identity.key, owner: 'req-1', at: 'x' };
const body = (record: object) => ({ transformToString: async () => JSON.stringify(record) });
const status = (code: number) =>
  Object.assign(new Error(`status ${code}`), { $metadata: { httpStatusCode: code } });

beforeEach(() => {
  s3.reset();
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

describe('recordBuildId', () => {
  it('adds the build id to the claim, on condition that the record did not change since it was read', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body(claim) as never, ETag: '"e1"' });
    s3.on(PutObjectCommand).resolves({});

    expect(await recordBuildId(deps(), upload)).toBe('written');
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: BUCKET, Key: RECORD_KEY, IfMatch: '"e1"' });
    expect(JSON.parse(String(put?.Body))).toEqual({ ...claim, buildId: BUILD_ID });
  });

  it('leaves a record that already names a build', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body({ ...claim, buildId: 'other' }) as never, ETag: '"e1"' });
    expect(await recordBuildId(deps(), upload)).toBe('unchanged');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('writes nothing when the record is gone, or the build is of another bucket', async () => {
    s3.on(GetObjectCommand).rejects(status(404));
    expect(await recordBuildId(deps(), upload)).toBe('no-record');
    expect(
      await recordBuildId(deps(), { ...upload, identity: { ...upload.identity, bucket: 'other' } }),
    ).toBe('other-bucket');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('reads again and writes once more when the record changed in between (412)', async () => {
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: body(claim) as never, ETag: '"e1"' })
      .resolves({ Body: body({ ...claim, owner: 'req-2' }) as never, ETag: '"e2"' });
    s3.on(PutObjectCommand).rejectsOnce(status(412)).resolves({});

    expect(await recordBuildId(deps(), upload)).toBe('written');
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.IfMatch)).toEqual(['"e1"', '"e2"']);
    expect(JSON.parse(String(puts[1]?.Body))).toMatchObject({ owner: 'req-2', buildId: BUILD_ID });
  });

  it('throws what it cannot handle, for the caller to log', async () => {
    s3.on(GetObjectCommand).rejects(status(503));
    await expect(recordBuildId(deps(), upload)).rejects.toThrow('status 503');
  });
});
