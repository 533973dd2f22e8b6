/**
 * Sending one notification: noise control first (noise.ts), then every channel (deliver.ts); an
 * enhanced scan result only when the image's scan memory says it is news; a failed build's
 * notification with its verdict, or the excerpt of its log that shows how it failed.
 */
import type { Build } from '@aws-sdk/client-codebuild';
import type { Deps } from '../deps.ts';
import { describeError } from '../logger.ts';
import { type Route, withBuildLog } from '../route.ts';
import { rememberResult } from '../scans/news.ts';
import { readBuildVerdict, verdictOf } from './build-verdict.ts';
import { notifyAll } from './deliver.ts';
import { readLogExcerpt } from './log-excerpt.ts';
import { verdict } from './noise.ts';
import type { Notification } from './notification.ts';

/** Sends a notification when noise control lets it through, to every channel; logs what became of it. */
export async function send(deps: Deps, n: Notification): Promise<void> {
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

/**
 * Sends a notification; an enhanced scan result only when the image's scan memory says it is news.
 * When no channel took it, the memory is put back, so that Lambda's retry tells it.
 */
export async function sendOnce(deps: Deps, n: Notification): Promise<void> {
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
 * A failed build's notification says why: the verdict its scripts exported (build-verdict.ts), else
 * the end of its log shown as its output; read once here for the notification and the upload record.
 * Bounded in time: without them both still go out. `described` is the build as CodeBuild already
 * described it (events.ts confirms every build event), so that one BatchGetBuilds serves both.
 */
export async function explain(deps: Deps, classified: Route, described?: Build): Promise<Route> {
  const { config, logger } = deps;
  if (classified.action !== 'notify') return classified;
  const n = classified.notification;
  const build = n.build;
  if (n.kind !== 'build-failed' || !build) return classified;
  // Read only when someone needs it: a notification that goes out, or the upload record.
  if (!verdict(n, config).send && !config.uploads.bucket) return classified;
  const where = build.logStream;
  const [said, excerpt] = await Promise.all([
    (described ? Promise.resolve(verdictOf(described)) : readBuildVerdict(deps.codebuild, build.id)).catch(
      (error: unknown) => {
        // Without its verdict the build reads as failed: loud, never a superseded that was not.
        logger.warn('build verdict unavailable', { buildId: build.id, error: describeError(error) });
        return undefined;
      },
    ),
    where && config.logLines > 0
      ? readLogExcerpt({
          logs: deps.logs,
          ...where,
          maxLines: config.logLines,
          timeoutMs: config.httpTimeoutMs,
        })
      : undefined,
  ]);
  if (excerpt?.unavailable)
    logger.warn('build log excerpt unavailable', {
      buildId: build.id,
      repository: n.repository,
      why: excerpt.unavailable,
    });
  if (said) return { ...classified, notification: withBuildLog(n, { reason: said, tail: [] }) };
  return excerpt ? { ...classified, notification: withBuildLog(n, excerpt) } : classified;
}
