import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  identityHash,
  identityString,
  imageIndexKey,
  replicationWatchKey,
  scanMemoryKey,
  uploadRecordKey,
  uploadRecordKeyCandidates,
} from '../../../functions/shared/upload-record.ts';

const object = { bucket: 'contexts', key: 'team/api/v1.tar.gz' };

describe('upload records', () => {
  it('names a record by version id when there is one, under the reserved folder with a .json suffix', () => {
    const key = uploadRecordKey('ctx/', { ...object, versionId: 'v1', eTag: 'abc' });
    expect(key).toMatch(/^ctx\/\.ecr-pipeline\/uploads\/[0-9a-f]{64}\.json$/);
    expect(key).not.toBe(uploadRecordKey('ctx/', { ...object, versionId: 'v2', eTag: 'abc' }));
    expect(key).toBe(uploadRecordKey('ctx/', { ...object, versionId: 'v1', eTag: 'other' }));
  });

  it('falls back to the ETag, ignoring the quotes S3 puts around it in API responses', () => {
    expect(identityHash({ ...object, eTag: '"abc"' })).toBe(identityHash({ ...object, eTag: 'abc' }));
    expect(identityHash({ ...object, eTag: 'abc' })).not.toBe(identityHash({ ...object, eTag: 'abd' }));
  });

  it('distinguishes buckets and keys', () => {
    expect(identityHash({ ...object, eTag: 'a' })).not.toBe(
      identityHash({ ...object, bucket: 'b', eTag: 'a' }),
    );
    expect(identityHash({ ...object, eTag: 'a' })).not.toBe(
      identityHash({ ...object, key: 'x/y.tar', eTag: 'a' }),
    );
  });

  it('gives a reader both candidate keys when it knows the version id and the ETag', () => {
    const both = uploadRecordKeyCandidates('', { ...object, versionId: 'v1', eTag: 'abc' });
    expect(both).toEqual([
      uploadRecordKey('', { ...object, versionId: 'v1' }),
      uploadRecordKey('', { ...object, eTag: 'abc' }),
    ]);
    expect(uploadRecordKeyCandidates('', { ...object, eTag: 'abc' })).toHaveLength(1);
  });

  it('names the image index of repository@digest by its SHA-256, in a folder of its own', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const hash = createHash('sha256').update(`team/api@${digest}`).digest('hex');
    expect(imageIndexKey('ctx/', 'team/api', digest)).toBe(`ctx/.ecr-pipeline/images/${hash}.json`);
    expect(imageIndexKey('', 'team/api', digest)).not.toBe(imageIndexKey('', 'team/web', digest));
  });

  it('names the scan memory and the replication watch of repository@digest by its SHA-256, each in its folder', () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const hash = createHash('sha256').update(`team/api@${digest}`).digest('hex');
    expect(scanMemoryKey('ctx/', 'team/api', digest)).toBe(`ctx/.ecr-pipeline/scan-memory/${hash}.json`);
    expect(replicationWatchKey('ctx/', 'team/api', digest)).toBe(
      `ctx/.ecr-pipeline/replication/${hash}.json`,
    );
  });

  it('names an object with neither version id nor ETag by its bucket and key alone', () => {
    expect(identityString(object)).toBe('contexts\nteam/api/v1.tar.gz\ne:');
  });
});
