/**
 * The scheduled replication check: for each watched image (watch.ts), ECR's
 * `DescribeImageReplicationStatus` (per destination: IN_PROGRESS, COMPLETE, or FAILED with a failure
 * code; ECR API reference, ImageReplicationStatus). A failed destination, or a replication still not
 * complete `timeoutMs` after the push, is notified once, like a failed build: the watch is claimed
 * first (`notifiedAt`, written with `If-Match` on the ETag read, so two checks at once tell it once)
 * and removed once told; when no channel took it, the claim is taken back and the next check tells it.
 * A complete replication, an image no rule replicates and an image deleted since end the watch quietly.
 */
import {
  DescribeImageReplicationStatusCommand,
  type ECRClient,
  type ImageReplicationStatus,
} from '@aws-sdk/client-ecr';
import type {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { httpStatusOf } from '../../shared/transient.ts';
import { REPLICATION_WATCH_DIR } from '../../shared/upload-record.ts';
import { describeError, type Logger } from '../logger.ts';
import { consoleLinks, type Notification } from '../notify/notification.ts';
import type { ReplicationWatch } from './watch.ts';

export interface ReplicationCheckDeps {
  s3: S3Client;
  paginate: typeof paginateListObjectsV2;
  commands: {
    GetObjectCommand: typeof GetObjectCommand;
    PutObjectCommand: typeof PutObjectCommand;
    DeleteObjectCommand: typeof DeleteObjectCommand;
  };
  ecr: Pick<ECRClient, 'send'>;
  bucket: string;
  keyPrefix: string;
  now: () => Date;
  logger: Logger;
}

/** A replication that failed, or did not end in time, for one image. */
export interface ReplicationFailure {
  watch: ReplicationWatch;
  destinations: ImageReplicationStatus[];
  /** Why, in one sentence. */
  reason: string;
}

export interface ReplicationCheckReport {
  told: number;
  completed: number;
  pending: number;
  errors: number;
}

/** Images looked at per check; the rest wait for the next one. */
const MAX_WATCHES = 500;
const GONE = new Set(['ImageNotFoundException', 'RepositoryNotFoundException']);

/** The failure to tell for an image's replication statuses, or undefined while there is none. */
export function replicationFailure(
  watch: ReplicationWatch,
  statuses: ImageReplicationStatus[],
  now: Date,
  timeoutMs: number,
): ReplicationFailure | undefined {
  const failed = statuses.filter((s) => s.status === 'FAILED');
  if (failed.length > 0) {
    const where = failed.map((s) => `${s.region}${s.failureCode ? ` (${s.failureCode})` : ''}`).join(', ');
    return { watch, destinations: statuses, reason: `ECR could not replicate the image to ${where}.` };
  }
  const late = now.getTime() - Date.parse(watch.pushedAt) > timeoutMs;
  const waiting = statuses.filter((s) => s.status !== 'COMPLETE');
  if (late && waiting.length > 0) {
    const hours = Math.round(timeoutMs / 3_600_000);
    return {
      watch,
      destinations: statuses,
      reason: `Replication to ${waiting.map((s) => s.region).join(', ')} has not completed ${hours} h after the push.`,
    };
  }
  return undefined;
}

/** The notification of a failed replication. */
export function replicationNotification(
  failure: ReplicationFailure,
  region: string,
  account: string,
): Notification {
  const { repository, digest, tag } = failure.watch;
  return {
    kind: 'replication-failed',
    outcome: 'failure',
    title: 'Replication failed',
    region,
    account,
    time: new Date().toISOString(),
    repository,
    tag,
    digest,
    detail: failure.reason,
    links: [consoleLinks.image(region, account, repository, digest)],
  };
}

type Step = 'told' | 'completed' | 'pending';

async function readWatch(deps: ReplicationCheckDeps, key: string) {
  try {
    const out = await deps.s3.send(new deps.commands.GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    return {
      watch: JSON.parse((await out.Body?.transformToString()) ?? '{}') as ReplicationWatch,
      eTag: out.ETag,
    };
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}

const put = (deps: ReplicationCheckDeps, key: string, watch: ReplicationWatch, eTag: string | undefined) =>
  deps.s3.send(
    new deps.commands.PutObjectCommand({
      Bucket: deps.bucket,
      Key: key,
      Body: JSON.stringify(watch),
      ContentType: 'application/json',
      ...(eTag ? { IfMatch: eTag } : {}),
    }),
  );

const remove = (deps: ReplicationCheckDeps, key: string) =>
  deps.s3.send(new deps.commands.DeleteObjectCommand({ Bucket: deps.bucket, Key: key }));

/** One watched image: read its replication, end the watch or tell its failure once. */
async function checkOne(
  deps: ReplicationCheckDeps,
  key: string,
  timeoutMs: number,
  tell: (failure: ReplicationFailure) => Promise<void>,
): Promise<Step> {
  const read = await readWatch(deps, key);
  if (!read) return 'completed';
  const { watch, eTag } = read;
  if (watch.notifiedAt) return 'pending';
  let statuses: ImageReplicationStatus[];
  let told = 0;
  try {
    const out = await deps.ecr.send(
      new DescribeImageReplicationStatusCommand({
        repositoryName: watch.repository,
        imageId: { imageDigest: watch.digest },
      }),
    );
    // Destinations whose failure an event already told are done with.
    statuses = (out.replicationStatuses ?? []).filter(
      (s) => !(s.status === 'FAILED' && watch.toldRegions?.includes(s.region ?? '')),
    );
    told = (out.replicationStatuses?.length ?? 0) - statuses.length;
  } catch (error) {
    if (!GONE.has((error as Error).name)) throw error;
    await remove(deps, key);
    return 'completed';
  }
  const failure = replicationFailure(watch, statuses, deps.now(), timeoutMs);
  if (!failure) {
    const done = statuses.every((s) => s.status === 'COMPLETE');
    const late = deps.now().getTime() - Date.parse(watch.pushedAt) > timeoutMs;
    // Complete everywhere; or no statuses at all (no rule replicates it) once the timeout has passed.
    if (done && (statuses.length + told > 0 || late)) {
      await remove(deps, key);
      return 'completed';
    }
    return 'pending';
  }
  let claimed: string | undefined;
  try {
    claimed = (await put(deps, key, { ...watch, notifiedAt: deps.now().toISOString() }, eTag)).ETag;
  } catch (error) {
    // Another check claimed it first: that one tells it.
    if (httpStatusOf(error) === 412 || httpStatusOf(error) === 409) return 'pending';
    throw error;
  }
  try {
    await tell(failure);
  } catch (error) {
    await put(deps, key, watch, claimed);
    throw error;
  }
  await remove(deps, key);
  return 'told';
}

/** Checks the watched images' replication; `tell` sends one failure's notification. */
export async function checkReplication(
  deps: ReplicationCheckDeps,
  timeoutMs: number,
  tell: (failure: ReplicationFailure) => Promise<void>,
): Promise<ReplicationCheckReport> {
  const report: ReplicationCheckReport = { told: 0, completed: 0, pending: 0, errors: 0 };
  const keys: string[] = [];
  const pages = deps.paginate(
    { client: deps.s3, pageSize: 1000 },
    { Bucket: deps.bucket, Prefix: `${deps.keyPrefix}${REPLICATION_WATCH_DIR}` },
  );
  for await (const page of pages) {
    // Stryker disable next-line ArrayDeclaration: anything but an object description has no key either
    for (const object of page.Contents ?? [])
      if (object.Key && keys.length < MAX_WATCHES) keys.push(object.Key);
    if (keys.length >= MAX_WATCHES) break;
  }
  for (const key of keys) {
    try {
      report[await checkOne(deps, key, timeoutMs, tell)]++;
    } catch (error) {
      report.errors++;
      deps.logger.error('could not check the replication of an image', { key, error: describeError(error) });
    }
  }
  return report;
}
