/**
 * What ecr-events does with one invocation: route it (route.ts), then hand it to the folder of its
 * job (notify/send.ts, uploads/note.ts, scans/, replication/run.ts, sweep/run.ts), or ignore it.
 * Every function takes the `Deps` that clients.ts builds once per container (tests pass their own).
 *
 * Bad input is logged and dropped (a retry would fail the same way); only a delivery failure on
 * every channel, or a sweep that cannot list repositories, throws so that Lambda retries.
 */
import type { Context } from 'aws-lambda';
import type { Deps } from './deps.ts';
import { redactNotification } from './notify/redact-notification.ts';
import { explain, sendOnce } from './notify/send.ts';
import { runReplicationCheck, watchPush } from './replication/run.ts';
import { type Route, route } from './route.ts';
import { withImageFindings } from './scans/news.ts';
import { clearMarkOfPushed, runSweep } from './sweep/run.ts';
import { noteUpload } from './uploads/note.ts';

/** Routes one invocation payload and does what it asks: notify, sweep, or log why it is ignored. */
export async function handleEvent(deps: Deps, event: unknown, context?: Context): Promise<void> {
  const { config, logger } = deps;
  const routed = await redacted(
    await explain(
      deps,
      await withImageFindings(
        deps,
        route(event, { projectName: config.projectName, region: config.region, now: deps.now }),
      ),
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

/** Clears the stale mark of a pushed repository (a failure is logged), then sends the notification. */
async function notifyPush(deps: Deps, routed: Extract<Route, { action: 'notify' }>): Promise<void> {
  const n = routed.notification;
  if (n.kind === 'image-push') await watchPush(deps, n);
  if (routed.clearStaleMarkOf) await clearMarkOfPushed(deps, routed.clearStaleMarkOf, n);
  await sendOnce(deps, n);
}

/** The notification with what looks like a credential hidden, before it reaches a channel or a record. */
async function redacted(classified: Route): Promise<Route> {
  if (classified.action !== 'notify') return classified;
  return { ...classified, notification: await redactNotification(classified.notification) };
}
