/**
 * Replication as the invocations see it: a push starts watching the image's replication, the
 * scheduled check tells each failure once.
 */
import type { Context } from 'aws-lambda';
import { accountOfArn } from '../../shared/arn.ts';
import type { Deps } from '../deps.ts';
import { describeError } from '../logger.ts';
import type { Notification } from '../notify/notification.ts';
import { send } from '../notify/send.ts';
import { noteToldDestination } from './told-destinations.ts';
import { watchReplication } from './watch.ts';

/**
 * Checks the replication of the watched images (check.ts, loaded on first use) and tells
 * each failure once, like a failed build. A failure no channel took stays for the next check.
 */
export async function runReplicationCheck(deps: Deps, context: Context | undefined): Promise<void> {
  const { config, logger } = deps;
  if (!config.uploads.bucket || config.replication.regions.length === 0) {
    logger.info('replication check skipped: no replication regions or no bucket');
    return;
  }
  const [store, { checkReplication, replicationNotification }] = await Promise.all([
    deps.replicationWatches(),
    import('./check.ts'),
  ]);
  const account = context ? accountOfArn(context.invokedFunctionArn) : '';
  const report = await checkReplication(
    { ...store, ecr: deps.ecr, ...config.uploads, now: deps.now, logger },
    config.replication.timeoutMs,
    (failure) => send(deps, replicationNotification(failure, config.region, account)),
  );
  logger.info('replication check finished', { ...report });
}

/**
 * Watches the replication of a pushed image when the stack replicates (watch.ts); a
 * failure to write the watch is logged: that image's replication is then not checked.
 */
export async function watchPush(deps: Deps, n: Notification): Promise<void> {
  const { config, logger } = deps;
  if (!config.uploads.bucket || config.replication.regions.length === 0 || !n.repository || !n.digest) return;
  try {
    const { s3, commands } = await deps.uploadRecords();
    const result = await watchReplication(
      { s3, commands, ...config.uploads },
      { repository: n.repository, digest: n.digest, ...(n.tag ? { tag: n.tag } : {}), pushedAt: n.time },
    );
    logger.info('replication watched', { repository: n.repository, digest: n.digest, result });
  } catch (error) {
    logger.error('could not watch the replication of the pushed image', {
      repository: n.repository,
      digest: n.digest,
      error: describeError(error),
    });
  }
}

/**
 * After an event told a destination's replication failure: the scheduled check does not tell it
 * again (told-destinations.ts). A failure to note it is logged: the check may then tell it a second
 * time.
 */
export async function noteTold(deps: Deps, n: Notification, region: string): Promise<void> {
  const { config, logger } = deps;
  if (!config.uploads.bucket || !n.repository || !n.digest) return;
  try {
    const { s3, commands } = await deps.uploadRecords();
    const result = await noteToldDestination(
      { s3, commands, ...config.uploads },
      { repository: n.repository, digest: n.digest },
      region,
    );
    logger.info('replication failure noted in its watch', { repository: n.repository, region, result });
  } catch (error) {
    logger.error('could not note the told replication failure', {
      repository: n.repository,
      region,
      error: describeError(error),
    });
  }
}
