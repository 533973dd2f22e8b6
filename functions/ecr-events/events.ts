/**
 * What ecr-events does with one invocation: route it (route.ts), then hand it to the folder of its
 * job (notify/send.ts, uploads/note.ts, scans/, replication/run.ts, sweep/run.ts), or ignore it.
 * Every function takes the `Deps` that clients.ts builds once per container (tests pass their own).
 *
 * Bad input is logged and dropped (a retry would fail the same way); only a delivery failure on
 * every channel, or a sweep that cannot list repositories, throws so that Lambda retries.
 */
import type { Build } from '@aws-sdk/client-codebuild';
import type { Context } from 'aws-lambda';
import type { Deps } from './deps.ts';
import { redactNotification } from './notify/redact-notification.ts';
import { explain, sendOnce } from './notify/send.ts';
import { verifyBuild } from './origin/verify-build.ts';
import { noteTold, runReplicationCheck, watchPush } from './replication/run.ts';
import { type Route, route } from './route.ts';
import { withImageFindings } from './scans/news.ts';
import { clearMarkOfPushed, runSweep } from './sweep/run.ts';
import { noteUpload } from './uploads/note.ts';

/** Routes one invocation payload and does what it asks: notify, sweep, or log why it is ignored. */
export async function handleEvent(deps: Deps, event: unknown, context?: Context): Promise<void> {
  const { config, logger } = deps;
  const { routed: checked, build } = await confirmBuild(
    deps,
    route(event, {
      projectName: config.projectName,
      account: config.account,
      region: config.region,
      now: deps.now,
    }),
  );
  const routed = await redacted(await explain(deps, await withImageFindings(deps, checked), build));
  await noteUpload(deps, build, routed);
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
  if (routed.replicationFailedIn) await noteTold(deps, n, routed.replicationFailedIn);
}

/** The notification with what looks like a credential hidden, before it reaches a channel or a record. */
async function redacted(classified: Route): Promise<Route> {
  if (classified.action !== 'notify') return classified;
  return { ...classified, notification: await redactNotification(classified.notification) };
}

/**
 * A build event is acted on only when CodeBuild confirms it (origin/verify-build.ts): the build
 * exists, is this stack's project's and, if the event says it ended, ended so. CodeBuild's answer
 * then serves the rest of the invocation: the build's verdict (notify/send.ts) and the upload its
 * record is written for, with the digest it exported (uploads/note.ts), never the event's say-so.
 * A failure to ask throws: Lambda retries.
 */
async function confirmBuild(deps: Deps, routed: Route): Promise<{ routed: Route; build?: Build }> {
  if (routed.action !== 'notify' || !routed.notification.build) return { routed };
  const { id, status } = routed.notification.build;
  const check = await verifyBuild((buildId) => describeBuild(deps, buildId), {
    id,
    status,
    projectName: deps.config.projectName,
  });
  if (!check.ok) {
    return {
      routed: {
        action: 'ignore',
        reason: check.reason,
        malformed: true,
        detailType: 'CodeBuild Build State Change',
      },
    };
  }
  return { routed, build: check.build };
}

/** The build CodeBuild has by this id (BatchGetBuilds), or undefined. */
async function describeBuild(deps: Deps, buildId: string): Promise<Build | undefined> {
  const [client, { BatchGetBuildsCommand }] = await Promise.all([
    deps.codebuild(),
    import('./sdk/codebuild.ts'),
  ]);
  // Stryker disable next-line ArrayDeclaration: a placeholder element is no build, as none is
  const { builds = [] } = await client.send(new BatchGetBuildsCommand({ ids: [buildId] }));
  return builds[0];
}
