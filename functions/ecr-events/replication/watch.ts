/**
 * ECR reports an image's replication in each destination region (`ECR Replication Action`, ECR user
 * guide "Amazon ECR events and EventBridge"), on that region's event bus, not on ours; but
 * `DescribeImageReplicationStatus`, asked in the source region, tells every destination. So a
 * pushed image of a replicating stack is watched: a small object per image under the stack's prefix
 * (`<prefix>.ecr-pipeline/replication/`) that the scheduled replication check reads until the
 * replication ends (check.ts). Written once (`If-None-Match: *`): a redelivered push
 * keeps the first watch.
 */
import type { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { httpStatusOf } from '../../shared/transient.ts';
import { replicationWatchKey } from '../../shared/upload-record.ts';

/** What the replication check needs to know of a pushed image. */
export interface ReplicationWatch {
  repository: string;
  digest: string;
  tag?: string;
  /** ISO time of the push. */
  pushedAt: string;
  /** Set when its failure was claimed for notifying: a second check does not tell it again. */
  notifiedAt?: string;
  /** Destinations whose failure an ECR Replication Action event told (replication/told-destinations.ts). */
  toldRegions?: string[];
}

export interface WatchStore {
  s3: Pick<S3Client, 'send'>;
  commands: { GetObjectCommand: typeof GetObjectCommand; PutObjectCommand: typeof PutObjectCommand };
  bucket: string;
  keyPrefix: string;
}

/** Starts watching the replication of a pushed image; `exists` when it already was. */
export async function watchReplication(
  store: WatchStore,
  watch: ReplicationWatch,
): Promise<'watched' | 'exists'> {
  try {
    await store.s3.send(
      new store.commands.PutObjectCommand({
        Bucket: store.bucket,
        Key: replicationWatchKey(store.keyPrefix, watch.repository, watch.digest),
        Body: JSON.stringify(watch),
        ContentType: 'application/json',
        IfNoneMatch: '*',
      }),
    );
    return 'watched';
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 412 || status === 409) return 'exists';
    throw error;
  }
}
