import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { httpStatusOf } from '../shared/transient.ts';
import type { UploadRecord } from '../shared/upload-record.ts';
import { classify, TransientError } from './errors.ts';

/**
 * `claimed`: this invocation owns the record (written now, its own from an earlier attempt, or taken
 * over once expired) and goes on; `duplicate`: the upload is done (a build id, a rejection or a failure
 * of another invocation) or in progress elsewhere (another owner's claim that has not expired).
 */
/**
 * `claimed`: the first claim of the object version; `resumed`: this invocation's own claim again, or
 * an expired one taken over: an earlier attempt may have started a build; `duplicate`: someone else's.
 */
export type ClaimOutcome = 'claimed' | 'resumed' | 'duplicate';

/** What an existing record means for the invocation `owner` at `now`. */
export type ClaimState = 'own' | 'expired' | 'in-progress' | 'done';

/** Judges an existing record; a record of an older release (no expiry) is taken as done. */
export function claimState(record: UploadRecord, owner: string, now: Date): ClaimState {
  if (record.buildId || record.status === 'failed') return 'done';
  if (record.owner === owner) return 'own';
  if (record.status !== 'accepted' || !record.claimExpiresAt) return 'done';
  return Date.parse(record.claimExpiresAt) <= now.getTime() ? 'expired' : 'in-progress';
}

/** 412 PreconditionFailed: the condition does not hold. 409: a concurrent conditional write is in flight. */
function isConflict(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === 412 || status === 409;
}

async function put(
  s3: S3Client,
  bucket: string,
  key: string,
  record: UploadRecord,
  condition: { IfNoneMatch: '*' } | { IfMatch: string } | undefined,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(record),
      ContentType: 'application/json',
      ...condition,
    }),
  );
}

/** The record and its ETag, or undefined when there is none. */
async function read(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ record: UploadRecord; eTag: string } | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const record = JSON.parse((await out.Body?.transformToString()) ?? '{}') as UploadRecord;
    return { record, eTag: out.ETag ?? '' };
  } catch (error) {
    // Without s3:ListBucket, S3 answers a missing key with 403, not 404. Either way the caller retries
    // (a real denial then ends in the failure queue, whose alarm is heard), never drops the upload.
    const status = httpStatusOf(error);
    if (status === 404 || status === 403) return undefined;
    throw classify(error, 'reading the upload record');
  }
}

/**
 * Reads the record that made a conditional write fail and decides. An expired claim is taken over
 * with `If-Match` on the ETag read, so that of two takers only one wins; a taker whose own response
 * was lost finds its own record on the second read.
 */
async function settle(
  s3: S3Client,
  bucket: string,
  key: string,
  record: UploadRecord,
  now: Date,
  mayTakeOver: boolean,
): Promise<ClaimOutcome> {
  const found = await read(s3, bucket, key);
  // Released or still being written by another invocation (or unreadable): the retry will see which.
  if (!found) throw new TransientError('the upload record could not be read back after a 412');
  // Stryker disable next-line StringLiteral: any owner no record holds gives the same state; no record's owner is ''
  const state = claimState(found.record, record.owner ?? '', now);
  if (state === 'own') return 'resumed';
  if (state !== 'expired' || !mayTakeOver) return 'duplicate';
  try {
    await put(s3, bucket, key, record, { IfMatch: found.eTag });
    return 'resumed';
  } catch (error) {
    if (isConflict(error)) return settle(s3, bucket, key, record, now, false);
    throw classify(error, 'taking over the upload record');
  }
}

/**
 * Writes the upload record only if none exists (`If-None-Match: *`): the first delivery of an object
 * version claims it. On 412 the record is read back: the claim goes on when it is this invocation's
 * own (`record.owner`: a lost response, or Lambda's retry after a crash) or has expired without a
 * build; otherwise the delivery is a duplicate.
 */
export async function claimUpload(
  s3: S3Client,
  bucket: string,
  key: string,
  record: UploadRecord,
  now: Date,
): Promise<ClaimOutcome> {
  try {
    await put(s3, bucket, key, record, { IfNoneMatch: '*' });
    return 'claimed';
  } catch (error) {
    if (!isConflict(error)) throw classify(error, 'claiming the upload record');
  }
  return settle(s3, bucket, key, record, now, true);
}

/**
 * Replaces the record (after the claim), e.g. with the build id or a rejection. Unconditional: the
 * claim's expiry is longer than the function's timeout, so no one has taken it over while we run.
 */
export async function updateUploadRecord(
  s3: S3Client,
  bucket: string,
  key: string,
  record: UploadRecord,
): Promise<void> {
  try {
    await put(s3, bucket, key, record, undefined);
  } catch (error) {
    throw classify(error, 'updating the upload record');
  }
}

/** Deletes the claim so that another delivery need not wait for it to expire. */
export async function releaseClaim(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    throw classify(error, 'releasing the upload record');
  }
}
