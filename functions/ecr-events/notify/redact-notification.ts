/**
 * A notification with every text that came from a build, an upload or an error hidden where it looks
 * like it carries a credential (functions/shared/redact.ts). Applied once, before the notification
 * reaches the channels (Slack, SNS) and the upload record.
 */
import type { Notification } from './notification.ts';

/** `n` with its free texts redacted. The rule set (about 70 KB) is loaded only for a notification that has some. */
export async function redactNotification(n: Notification): Promise<Notification> {
  const texts = [n.detail, n.rejection?.reason, n.build?.failureMessage, n.build?.log?.reason];
  if (texts.every((text) => text === undefined) && !n.build?.log) return n;
  const { redactLines, redactText } = await import('../../shared/redact.ts');
  const maybe = (text: string | undefined) => (text === undefined ? undefined : redactText(text));
  const [detail, rejectionReason, failureMessage, reason, tail] = await Promise.all([
    maybe(n.detail),
    maybe(n.rejection?.reason),
    maybe(n.build?.failureMessage),
    maybe(n.build?.log?.reason),
    n.build?.log ? redactLines(n.build.log.tail) : undefined,
  ]);
  const build = n.build && {
    ...n.build,
    ...(failureMessage !== undefined ? { failureMessage } : {}),
    ...(n.build.log
      ? { log: { ...n.build.log, tail: tail ?? [], ...(reason !== undefined ? { reason } : {}) } }
      : {}),
  };
  return {
    ...n,
    ...(detail !== undefined ? { detail } : {}),
    ...(n.rejection && rejectionReason !== undefined
      ? { rejection: { ...n.rejection, reason: rejectionReason } }
      : {}),
    ...(build ? { build } : {}),
  };
}
