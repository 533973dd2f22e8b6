/**
 * The release's objects in the contexts bucket: the upload record (read with its ETag, written only
 * on condition that it did not change since: `If-Match`), the image index a scan result finds the
 * record by, the pending-release markers, and the current version of the uploaded context.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { sameImageKeys } from '../shared/naming.ts';
import { httpStatusOf } from '../shared/transient.ts';
import {
  type ImageIndex,
  imageIndexKey,
  RELEASE_PENDING_DIR,
  releasePendingKey,
  UPLOAD_RECORD_DIR,
  type UploadIdentity,
  type UploadRecord,
} from '../shared/upload-record.ts';
import { classify } from './errors.ts';

/** A record and the ETag it was read with. */
export interface Stored {
  record: UploadRecord;
  eTag: string;
}

/** Where the release keeps its objects. */
export interface StoreDeps {
  s3: S3Client;
  bucket: string;
  keyPrefix: string;
}

async function getJson<T>(deps: StoreDeps, key: string): Promise<{ value: T; eTag: string } | undefined> {
  try {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    return { value: JSON.parse((await out.Body?.transformToString()) ?? '{}') as T, eTag: out.ETag ?? '' };
  } catch (error) {
    // Without s3:ListBucket, S3 answers a missing key with 403, not 404.
    const status = httpStatusOf(error);
    if (status === 404 || status === 403) return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw classify(error, `reading ${key}`);
  }
}

/** The upload record at `key`, or undefined when there is none. */
export async function readRecord(deps: StoreDeps, key: string): Promise<Stored | undefined> {
  const found = await getJson<UploadRecord>(deps, key);
  return found ? { record: found.value, eTag: found.eTag } : undefined;
}

/** What a conditional write of the record did: written (with the ETag S3 gave it, '' if none), or not. */
export type WriteResult = { kind: 'written'; eTag: string } | { kind: 'conflict' };

/**
 * Writes `record` on condition that the stored one still has `eTag`. `conflict`: it changed in
 * between (or a concurrent write is in flight): read again and decide again.
 */
export async function writeRecord(
  deps: StoreDeps,
  key: string,
  record: UploadRecord,
  eTag: string,
): Promise<WriteResult> {
  try {
    const out = await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: key,
        Body: JSON.stringify(record),
        ContentType: 'application/json',
        IfMatch: eTag,
      }),
    );
    return { kind: 'written', eTag: out.ETag ?? '' };
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 412 || status === 409) return { kind: 'conflict' };
    throw classify(error, 'writing the upload record');
  }
}

/** The record key the image index of `repository@digest` names, or undefined. */
export async function recordOfImage(
  deps: StoreDeps,
  repository: string,
  digest: string,
): Promise<string | undefined> {
  const found = await getJson<Partial<ImageIndex>>(deps, imageIndexKey(deps.keyPrefix, repository, digest));
  const record = found?.value.record;
  // Only a record of this stack's own folder, whatever the index says.
  if (typeof record !== 'string' || !record.startsWith(`${deps.keyPrefix}${UPLOAD_RECORD_DIR}`))
    return undefined;
  if (found?.value.repository !== repository || found.value.digest !== digest) return undefined;
  return record;
}

/** Writes the image index of a built image: its scan result finds the record by it. */
export async function writeImageIndex(
  deps: StoreDeps,
  recordKey: string,
  repository: string,
  digest: string,
) {
  const index: ImageIndex = { record: recordKey, repository, digest };
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: imageIndexKey(deps.keyPrefix, repository, digest),
        Body: JSON.stringify(index),
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw classify(error, 'writing the image index');
  }
}

/** Marks the record as waiting for its scan (the periodic check looks there). */
export async function markPending(deps: StoreDeps, recordKey: string, deadline: string): Promise<void> {
  try {
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: releasePendingKey(deps.keyPrefix, recordKey),
        Body: JSON.stringify({ record: recordKey, deadline }),
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw classify(error, 'writing the pending-release marker');
  }
}

/** Removes the record's pending marker, if any. */
export async function clearPending(deps: StoreDeps, recordKey: string): Promise<void> {
  try {
    await deps.s3.send(
      new DeleteObjectCommand({ Bucket: deps.bucket, Key: releasePendingKey(deps.keyPrefix, recordKey) }),
    );
  } catch (error) {
    throw classify(error, 'removing the pending-release marker');
  }
}

/** The record keys that wait for a scan. */
export async function listPending(deps: StoreDeps): Promise<string[]> {
  const dir = `${deps.keyPrefix}${RELEASE_PENDING_DIR}`;
  const keys: string[] = [];
  try {
    for await (const page of paginateListObjectsV2(
      { client: deps.s3 },
      { Bucket: deps.bucket, Prefix: dir },
    )) {
      for (const item of page.Contents ?? []) {
        const name = item.Key?.slice(dir.length) ?? '';
        if (/^[a-f0-9]{64}\.json$/.test(name)) keys.push(`${deps.keyPrefix}${UPLOAD_RECORD_DIR}${name}`);
      }
    }
  } catch (error) {
    throw classify(error, 'listing the pending releases');
  }
  return keys;
}

/** The uploaded key's current version and this upload's metadata, or undefined when the key is gone. */
export interface CurrentUpload {
  /** True when the key's current version is still the upload's (versionId, else ETag), and no key of the same image is newer. */
  current: boolean;
  metadata: Record<string, string>;
  /** The key of the same image uploaded after this one (`api/v1.tgz` after `api/v1.tar.gz`). */
  newerKey?: string;
}

/**
 * Whether the upload is still the newest of its image: its key's current version, and no other key
 * naming the same image (naming.ts, sameImageKeys) modified after it. A newer upload supersedes it.
 */
export async function currentUpload(deps: StoreDeps, identity: UploadIdentity): Promise<CurrentUpload> {
  const head = await headUpload(deps, identity.bucket, identity.key);
  if (!head) return { current: false, metadata: {} };
  const strip = (tag: string | undefined) => (tag ?? '').replace(/"/g, '');
  const current = identity.versionId
    ? head.VersionId === identity.versionId
    : strip(head.ETag) !== '' && strip(head.ETag) === strip(identity.eTag);
  if (!current) return { current: false, metadata: {} };
  const uploaded = head.LastModified?.getTime();
  // S3 answers 403, not 404, for a key that does not exist when the caller may not list the bucket,
  // and this role may read every context key but list none: for the other keys a 403 means absent.
  const siblings = await Promise.all(
    sameImageKeys(identity.key).map(async (key) => ({
      key,
      head: await headUpload(deps, identity.bucket, key, { deniedIsAbsent: true }),
    })),
  );
  const newer = siblings.find(
    ({ head: other }) =>
      uploaded !== undefined && other?.LastModified !== undefined && other.LastModified.getTime() > uploaded,
  );
  if (newer) return { current: false, metadata: {}, newerKey: newer.key };
  return { current: true, metadata: head.Metadata ?? {} };
}

/** HeadObject of an uploaded key; undefined when it is gone (404, or a delete marker's 405). */
async function headUpload(
  deps: StoreDeps,
  bucket: string,
  key: string,
  { deniedIsAbsent = false } = {},
): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    const status = httpStatusOf(error);
    // Deleted since (gone, or a delete marker: 405 when asked by version): the key names no upload now.
    // A 403 is not taken for "gone": a denial must not supersede every upload.
    if (status === 404 || status === 405 || (deniedIsAbsent && status === 403)) return undefined;
    throw classify(error, `HeadObject of ${key}`);
  }
}
