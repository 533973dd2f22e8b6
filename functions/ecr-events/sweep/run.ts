/**
 * The sweep as one invocation runs it: the configuration's options, a stop before the invocation's
 * time runs out, the report logged and one summary sent; and a pushed repository's stale mark cleared.
 */
import type { Context } from 'aws-lambda';
import { accountOfArn } from '../../shared/arn.ts';
import type { Deps } from '../deps.ts';
import { describeError } from '../logger.ts';
import type { Notification } from '../notify/notification.ts';
import { send } from '../notify/send.ts';
import type { Route } from '../route.ts';
import { clearStaleMark } from './stale-mark.ts';
import { sweep } from './sweep.ts';

/** Sweeps stop starting new repositories when less than this is left of the invocation. */
const SWEEP_RESERVE_MS = 20_000;

/** Sweeps, logs the report and sends one summary per sweep. */
export async function runSweep(
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

/** Clears the stale mark of a pushed repository; a failure is logged. */
export async function clearMarkOfPushed(deps: Deps, repository: string, n: Notification): Promise<void> {
  const { config, logger } = deps;
  try {
    const result = await clearStaleMark({
      ecr: deps.ecr,
      repository,
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
