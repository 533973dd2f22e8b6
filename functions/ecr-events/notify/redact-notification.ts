/**
 * A notification with every text that came from a build, an upload or an error hidden where it looks
 * like it carries a credential (functions/shared/redact.ts). Applied once, before the notification
 * reaches the channels (Slack, SNS) and the upload record.
 */
import type { LogExcerpt, Notification, RejectionInfo } from './notification.ts';

/** `n` with its free texts redacted. The rule set (about 70 KB) is loaded only for a notification that has some. */
export async function redactNotification(n: Notification): Promise<Notification> {
  const texts = [n.detail, n.rejection?.reason, n.build?.failureMessage, n.build?.log?.reason];
  if (texts.every((text) => text === undefined) && !n.build?.log) return n;
  const { redactLines, redactText } = await import('../../shared/redact.ts');
  const maybe = (text: string | undefined) => (text === undefined ? undefined : redactText(text));
  const [detail, rejection, failureMessage, log] = await Promise.all([
    maybe(n.detail),
    redactedRejection(n.rejection, redactText),
    maybe(n.build?.failureMessage),
    redactedLog(n.build?.log, maybe, redactLines),
  ]);
  const build = n.build && {
    ...n.build,
    ...(failureMessage !== undefined ? { failureMessage } : {}),
    ...(log ? { log } : {}),
  };
  return {
    ...n,
    ...(detail !== undefined ? { detail } : {}),
    ...(rejection ? { rejection } : {}),
    ...(build ? { build } : {}),
  };
}

/** A rejection with its reason redacted; none without one. */
async function redactedRejection(
  rejection: RejectionInfo | undefined,
  redactText: (text: string) => Promise<string>,
): Promise<RejectionInfo | undefined> {
  return rejection && { ...rejection, reason: await redactText(rejection.reason) };
}

/** A build's log excerpt with its verdict and its lines redacted; none without one. */
async function redactedLog(
  log: LogExcerpt | undefined,
  maybe: (text: string | undefined) => Promise<string> | undefined,
  redactLines: (lines: readonly string[]) => Promise<string[]>,
): Promise<LogExcerpt | undefined> {
  if (!log) return undefined;
  const [reason, tail] = await Promise.all([maybe(log.reason), redactLines(log.tail)]);
  return { ...log, tail, ...(reason !== undefined ? { reason } : {}) };
}
