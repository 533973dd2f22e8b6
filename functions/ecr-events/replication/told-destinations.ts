/**
 * A destination whose failure an `ECR Replication Action` event has told is written into the image's
 * replication watch (`toldRegions`), so that the scheduled check (replication-check.ts) does not
 * tell it again and ends the watch once every other destination is complete. Written with `If-Match`
 * on the ETag read: a concurrent check or event makes it `raced`, and the failure may then be told
 * twice, never lost.
 */
import type { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { httpStatusOf } from '../../shared/transient.ts';
import { replicationWatchKey } from '../../shared/upload-record.ts';
import type { ReplicationWatch } from './watch.ts';

export interface ToldStore {
  s3: Pick<S3Client, 'send'>;
  commands: { GetObjectCommand: typeof GetObjectCommand; PutObjectCommand: typeof PutObjectCommand };
  bucket: string;
  keyPrefix: string;
}

/** Notes that the failure of `region` was told; `no-watch` when the image is not watched. */
export async function noteToldDestination(
  store: ToldStore,
  image: { repository: string; digest: string },
  region: string,
): Promise<'noted' | 'no-watch' | 'raced'> {
  const key = replicationWatchKey(store.keyPrefix, image.repository, image.digest);
  let watch: ReplicationWatch;
  let eTag: string | undefined;
  try {
    const out = await store.s3.send(new store.commands.GetObjectCommand({ Bucket: store.bucket, Key: key }));
    watch = JSON.parse((await out.Body?.transformToString()) ?? '{}') as ReplicationWatch;
    eTag = out.ETag;
  } catch (error) {
    if (httpStatusOf(error) === 404) return 'no-watch';
    throw error;
  }
  const told = new Set([...(watch.toldRegions ?? []), region]);
  try {
    await store.s3.send(
      new store.commands.PutObjectCommand({
        Bucket: store.bucket,
        Key: key,
        Body: JSON.stringify({ ...watch, toldRegions: [...told].sort() }),
        ContentType: 'application/json',
        ...(eTag ? { IfMatch: eTag } : {}),
      }),
    );
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 412 || status === 409) return 'raced';
    throw error;
  }
  return 'noted';
}
