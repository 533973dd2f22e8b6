/**
 * What ecr-events does with one invocation: route it (route.ts), then notify, sweep or ignore. Every
 * function here takes the `Deps` that clients.ts builds once per container (tests pass their own).
 *
 * Bad input is logged and dropped (a retry would fail the same way); only a delivery failure on
 * every channel, or a sweep that cannot list repositories, throws so that Lambda retries.
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import type { Context } from 'aws-lambda';
import { accountOfArn } from '../shared/arn.ts';
import { BUILD_EXPORTED_DIGEST } from '../shared/contract.ts';
import type { UploadScan } from '../shared/upload-record.ts';
import type { Deps } from './deps.ts';
import { readLogExcerpt } from './log-excerpt.ts';
import { describeError } from './logger.ts';
import { verdict } from './noise.ts';
import type { Notification } from './notification.ts';
import { notifyAll } from './notify.ts';
import { recordEventOf } from './record-transition.ts';
import { noteToldDestination } from './replication/told-destinations.ts';
import { watchReplication } from './replication-watch.ts';
import { type Route, route, withBuildLog } from './route.ts';
import { rememberResult, withImageFindings } from './scan-news.ts';
import { clearStaleMark } from './stale-mark.ts';
import { sweep } from './sweep.ts';
import {
  buildUploadOf,
  type ProgressResult,
  recordBuild,
  recordScan,
  scanOfImage,
} from './upload-progress.ts';

/** Sweeps stop starting new repositories when less than this is left of the invocation. */
const SWEEP_RESERVE_MS = 20_000;

/** Routes one invocation payload and does what it asks: notify, sweep, or log why it is ignored. */
export async function handleEvent(deps: Deps, event: unknown, context?: Context): Promise<void> {
  const { config, logger } = deps;
  const routed = await explain(
    deps,
    await withImageFindings(
      deps,
      route(event, { projectName: config.projectName, region: config.region, now: deps.now }),
    ),
  );
  await noteUpload(deps, event, routed);
  switch (routed.action) {
    case 'ignore': {
      const log = routed.malformed ? logger.warn.bind(logger) : logger.info.bind(logger);
      log('event ignored', {
        reason: routed.reason,
        detailType: routed.detailType,
        repository: routed.repository,
      });
      return;
    }
    case 'sweep':
      return runSweep(deps, routed, context);
    case 'check-replication':
      return runReplicationCheck(deps, context);
    case 'notify':
      return notifyPush(deps, routed);
  }
}

/** Sweeps, logs the report and sends one summary per sweep. */
async function runSweep(
  deps: Deps,
  routed: Extract<Route, { action: 'sweep' }>,
  context: Context | undefined,
): Promise<void> {
  const { config, logger } = deps;
  // The payload can ask for a dry run, never turn off the one the configuration asks for.
  const dryRun = config.sweep.dryRun || routed.dryRun === true;
  if (routed.dryRun === false && config.sweep.dryRun) {
    logger.warn('dryRun=false in the payload ignored: SWEEP_DRY_RUN is on');
  }
  logger.info('sweep started', { trigger: routed.trigger, dryRun });
  const report = await sweep(
    {
      ...config.sweep,
      dryRun,
      stackName: config.stackName,
      repositoryPattern: config.repositoryPattern,
      projectName: config.projectName,
      replicaRegions: config.replication.regions,
    },
    {
      ...deps,
      shouldStop: context ? () => context.getRemainingTimeInMillis() < SWEEP_RESERVE_MS : undefined,
    },
  );
  logger.info('sweep finished', {
    dryRun,
    candidates: report.candidates,
    marked: report.marked.length,
    deleted: report.deleted.length,
    unmarked: report.unmarked.length,
    pending: report.pending.length,
    inUse: report.inUse.length,
    protected: report.protected.length,
    kept: report.kept,
    errors: report.errors.length,
  });
  // One summary per sweep, also when nothing changed: silence would look like a sweeper that no
  // longer runs. The `sweep` kind can be switched off (NOTIFY_EVENTS) or filtered on `outcome`.
  await send(deps, {
    kind: 'sweep',
    outcome: report.errors.length > 0 ? 'failure' : report.deleted.length > 0 ? 'warning' : 'info',
    title: 'Stale repository sweep',
    region: config.region,
    account: context ? accountOfArn(context.invokedFunctionArn) : '',
    time: deps.now().toISOString(),
    sweep: report,
    links: [],
  });
}

/**
 * Checks the replication of the watched images (replication-check.ts, loaded on first use) and tells
 * each failure once, like a failed build. A failure no channel took stays for the next check.
 */
async function runReplicationCheck(deps: Deps, context: Context | undefined): Promise<void> {
  const { config, logger } = deps;
  if (!config.uploads.bucket || config.replication.regions.length === 0) {
    logger.info('replication check skipped: no replication regions or no bucket');
    return;
  }
  const [store, { checkReplication, replicationNotification }] = await Promise.all([
    deps.replicationWatches(),
    import('./replication-check.ts'),
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
 * Watches the replication of a pushed image when the stack replicates (replication-watch.ts); a
 * failure to write the watch is logged: that image's replication is then not checked.
 */
async function watchPush(deps: Deps, n: Notification): Promise<void> {
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

/** Clears the stale mark of a pushed repository (a failure is logged), then sends the notification. */
async function notifyPush(deps: Deps, routed: Extract<Route, { action: 'notify' }>): Promise<void> {
  const { config, logger } = deps;
  const n = routed.notification;
  if (n.kind === 'image-push') await watchPush(deps, n);
  if (routed.clearStaleMarkOf) {
    try {
      const result = await clearStaleMark({
        ecr: deps.ecr,
        repository: routed.clearStaleMarkOf,
        region: n.region,
        account: n.account,
        stackName: config.stackName,
        dryRun: config.sweep.dryRun,
      });
      if (result !== 'not-marked') logger.info('stale mark after push', { repository: n.repository, result });
    } catch (error) {
      // The next sweep sees the push anyway (it reads push times): worth a log line, not a retry.
      logger.error('could not clear the stale mark', {
        repository: n.repository,
        error: describeError(error),
      });
    }
  }
  await sendOnce(deps, n);
  if (routed.replicationFailedIn) await noteTold(deps, n, routed.replicationFailedIn);
}

/**
 * After an event told a destination's replication failure: the scheduled check does not tell it
 * again (replication/told-destinations.ts). A failure to note it is logged: the check may then tell
 * it a second time.
 */
async function noteTold(deps: Deps, n: Notification, region: string): Promise<void> {
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

/**
 * Sends a notification; an enhanced scan result only when the image's scan memory says it is news.
 * When no channel took it, the memory is put back, so that Lambda's retry tells it.
 */
async function sendOnce(deps: Deps, n: Notification): Promise<void> {
  const remembered = await rememberResult(deps, n);
  if (remembered && !remembered.notify) {
    deps.logger.info('notification skipped', {
      kind: n.kind,
      repository: n.repository,
      digest: n.digest,
      reason: remembered.reason,
    });
    return;
  }
  try {
    await send(deps, n);
  } catch (error) {
    await remembered?.forget().catch((forgetError: unknown) =>
      deps.logger.error('could not put the scan memory back', {
        repository: n.repository,
        digest: n.digest,
        error: describeError(forgetError),
      }),
    );
    throw error;
  }
}

/**
 * A failed build's notification says why: its refusal line or the end of its log, read once here for
 * the notification and the upload record. Bounded in time: without the excerpt both still go out.
 */
async function explain(deps: Deps, classified: Route): Promise<Route> {
  const { config, logger } = deps;
  if (classified.action !== 'notify') return classified;
  const n = classified.notification;
  const where = n.build?.logStream;
  if (n.kind !== 'build-failed' || !n.build || !where || config.logLines === 0) return classified;
  // Read only when someone needs it: a notification that goes out, or the upload record.
  if (!verdict(n, config).send && !config.uploads.bucket) return classified;
  const log = await readLogExcerpt({
    logs: deps.logs,
    ...where,
    maxLines: config.logLines,
    timeoutMs: config.httpTimeoutMs,
  });
  if (log.unavailable)
    logger.warn('build log excerpt unavailable', {
      buildId: n.build.id,
      repository: n.repository,
      why: log.unavailable,
    });
  return { ...classified, notification: withBuildLog(n, log) };
}

/**
 * A build's state change goes into the record of its upload (build id, then the outcome), a completed
 * scan into the record of the upload that built the image. Nothing here holds the notification back
 * or makes Lambda retry it: a failure is logged, loudly, and the record keeps its previous state.
 */
async function noteUpload(deps: Deps, event: unknown, classified: Route): Promise<void> {
  const { config, logger } = deps;
  if (!config.uploads.bucket || classified.action !== 'notify') return;
  const n = classified.notification;
  const change = recordEventOf(n);
  if (!change) return;
  // Stryker disable next-line ConditionalExpression,StringLiteral: a scan event is no CodeBuild event, so buildUploadOf gives undefined for it too
  const upload = change.kind === 'scan' ? undefined : buildUploadOf(event);
  if (change.kind !== 'scan' && !upload) return;
  const keys = {
    kind: change.kind,
    buildId: n.build?.id,
    key: upload?.identity.key,
    repository: n.repository,
    digest: n.digest,
  };
  try {
    const { s3, commands } = await deps.uploadRecords();
    const progress = {
      s3,
      commands,
      ...config.uploads,
      buildDigest: (buildId: string) => buildDigest(deps, buildId),
      imageScan: (repository: string, digest: string) => imageScan(deps, repository, digest),
      logger,
    };
    let result: ProgressResult | undefined;
    if (change.kind === 'scan') result = await recordScan(progress, change);
    else if (upload) result = await recordBuild(progress, upload, change);
    if (result === 'written') logger.info('upload record updated', keys);
    else if (result === 'no-index') logger.info('scanned image built by no upload of this stack', keys);
    else if (result === 'no-record' && change.kind !== 'scan')
      logger.warn('no upload record for the build (expired, or a build not started by this stack)', keys);
  } catch (error) {
    // The record keeps its previous state: `status` then tells less than it could. Loud, but no
    // reason to hold the notification back or to have it sent twice by a retry.
    logger.error('could not update the upload record', { ...keys, error: describeError(error) });
  }
}

/** The image digest a build exported, read with BatchGetBuilds. */
async function buildDigest(deps: Deps, buildId: string): Promise<string | undefined> {
  const [client, { BatchGetBuildsCommand }] = await Promise.all([
    deps.codebuild(),
    import('./sdk/codebuild.ts'),
  ]);
  // Stryker disable next-line ArrayDeclaration: a placeholder element has no exported variables, as no build has none
  const { builds = [] } = await client.send(new BatchGetBuildsCommand({ ids: [buildId] }));
  return (
    builds[0]?.exportedEnvironmentVariables?.find((v) => v.name === BUILD_EXPORTED_DIGEST)?.value || undefined
  );
}

/** The scan of an image as ECR describes it, for a scan that completed before its record said built. */
async function imageScan(deps: Deps, repository: string, digest: string): Promise<UploadScan | undefined> {
  // Stryker disable next-line ArrayDeclaration: a placeholder element has no scan status, as no image has none
  const { imageDetails = [] } = await deps.ecr.send(
    new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
  );
  return scanOfImage(imageDetails[0], deps.now().toISOString());
}

async function send(deps: Deps, n: Notification): Promise<void> {
  const { config, logger } = deps;
  const v = verdict(n, config);
  const keys = { kind: n.kind, repository: n.repository, tag: n.tag, buildId: n.build?.id };
  if (!v.send) {
    logger.info('notification skipped', { ...keys, reason: v.reason });
    return;
  }
  const delivery = await notifyAll(n, deps.channels, logger);
  logger.info('notification delivered', {
    ...keys,
    sent: delivery.sent,
    off: delivery.off,
    failed: Object.keys(delivery.failed),
  });
}
