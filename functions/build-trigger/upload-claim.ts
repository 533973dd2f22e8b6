import type { S3Objects } from '../shared/s3-objects.ts';
import type { UploadRecord } from '../shared/upload-record.ts';
import { classify } from './errors.ts';

export type ClaimOutcome = 'claimed' | 'duplicate';

function put(
  s3: S3Objects,
  bucket: string,
  key: string,
  record: UploadRecord,
  ifNoneMatch: boolean,
): Promise<void> {
  return s3.put(bucket, key, JSON.stringify(record), {
    contentType: 'application/json',
    ...(ifNoneMatch ? { ifNoneMatch: '*' as const } : {}),
  });
}

/**
 * Writes the upload record only if none exists (`If-None-Match: *`): the first delivery of an
 * object version claims it, any later one, in any container, gets 412 and is a duplicate.
 */
export async function claimUpload(
  s3: S3Objects,
  bucket: string,
  key: string,
  record: UploadRecord,
): Promise<ClaimOutcome> {
  try {
    await put(s3, bucket, key, record, true);
    return 'claimed';
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // 412: the record exists. 409: a concurrent conditional write of the same record is in flight.
    if (status === 412 || status === 409) return 'duplicate';
    throw classify(error, 'claiming the upload record');
  }
}

/** Replaces the record (after the claim), e.g. to say the upload was rejected after all. */
export async function updateUploadRecord(
  s3: S3Objects,
  bucket: string,
  key: string,
  record: UploadRecord,
): Promise<void> {
  try {
    await put(s3, bucket, key, record, false);
  } catch (error) {
    throw classify(error, 'updating the upload record');
  }
}

/** Deletes the claim so that Lambda's retry of a transient failure is not taken for a duplicate. */
export async function releaseClaim(s3: S3Objects, bucket: string, key: string): Promise<void> {
  try {
    await s3.delete(bucket, key);
  } catch (error) {
    throw classify(error, 'releasing the upload record');
  }
}
