import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { UploadRecord } from '../shared/upload-record.ts';
import { classify } from './errors.ts';

export type ClaimOutcome = 'claimed' | 'duplicate';

async function put(
  s3: S3Client,
  bucket: string,
  key: string,
  record: UploadRecord,
  ifNoneMatch: boolean,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(record),
      ContentType: 'application/json',
      ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}),
    }),
  );
}

/**
 * Writes the upload record only if none exists (`If-None-Match: *`): the first delivery of an
 * object version claims it, any later one, in any container, gets 412 and is a duplicate.
 */
export async function claimUpload(
  s3: S3Client,
  bucket: string,
  key: string,
  record: UploadRecord,
): Promise<ClaimOutcome> {
  try {
    await put(s3, bucket, key, record, true);
    return 'claimed';
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // 412 PreconditionFailed: the record exists. 409: a concurrent conditional write of it is in flight.
    if (status === 412 || status === 409) return 'duplicate';
    throw classify(error, 'claiming the upload record');
  }
}

/** Replaces the record (after the claim), e.g. to say the upload was rejected after all. */
export async function updateUploadRecord(
  s3: S3Client,
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
export async function releaseClaim(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    throw classify(error, 'releasing the upload record');
  }
}
