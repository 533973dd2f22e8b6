/**
 * Delivery of a notification to every channel at once. Channels are independent: one failing does
 * not stop the others. Only when every configured channel failed does `notifyAll` throw, so that
 * Lambda retries the event (and after the last retry sends it to the on-failure destination).
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { withRetry } from '../../shared/retry.ts';
import { isTransient } from '../../shared/transient.ts';
import { describeError, type Logger } from '../logger.ts';
import type { Sender } from '../sender.ts';
import type { Notification } from './notification.ts';
import { renderSlack } from './render-slack.ts';
import { renderSns } from './render-sns.ts';

export interface Channel {
  name: string;
  /** `off` when the channel is not configured; throws when delivery failed. */
  deliver(n: Notification): Promise<'sent' | 'off'>;
}

/** Every configured channel failed; the causes are in `errors`. */
export class NotificationError extends Error {
  override name = 'NotificationError';
  constructor(
    message: string,
    readonly errors: Record<string, string>,
  ) {
    super(message);
  }
}

/** Slack answered with a status that is not 2xx. */
export class SlackError extends Error {
  override name = 'SlackError';
  constructor(readonly status: number) {
    super(`Slack webhook answered HTTP ${status}`);
  }
}

export interface SlackChannelOptions {
  webhookUrl: () => Promise<string | undefined>;
  timeoutMs: number;
  fetch?: typeof fetch;
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Posts Block Kit messages to the incoming webhook the secret names. */
export function slackChannel(options: SlackChannelOptions): Channel {
  const doFetch = options.fetch ?? fetch;
  return {
    name: 'slack',
    async deliver(n) {
      const url = await options.webhookUrl();
      if (url === undefined) return 'off';
      const body = JSON.stringify(renderSlack(n));
      await withRetry(
        async () => {
          const response = await doFetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(options.timeoutMs),
          });
          // Drain the body so the connection can be reused.
          // Stryker disable next-line ArrowFunction,StringLiteral: the drained body is discarded
          await response.text().catch(() => '');
          if (!response.ok) throw new SlackError(response.status);
        },
        {
          attempts: options.attempts ?? 3,
          baseDelayMs: 200,
          maxDelayMs: 2000,
          sleep: options.sleep,
          retryable: (error) =>
            error instanceof SlackError
              ? error.status === 429 || error.status >= 500
              : error instanceof TypeError || isTransient(error),
        },
      );
      return 'sent';
    },
  };
}

export interface SnsChannelOptions {
  sns: Sender;
  topicArn: string;
  timeoutMs: number;
}

/** Publishes to the topic; the SDK client retries throttling and 5xx itself. */
export function snsChannel(options: SnsChannelOptions): Channel {
  return {
    name: 'sns',
    async deliver(n) {
      if (options.topicArn === '') return 'off';
      const m = renderSns(n);
      await options.sns.send(
        new PublishCommand({
          TopicArn: options.topicArn,
          Subject: m.subject,
          Message: m.message,
          MessageStructure: 'json',
          MessageAttributes: m.attributes,
        }),
        { abortSignal: AbortSignal.timeout(options.timeoutMs) },
      );
      return 'sent';
    },
  };
}

export interface Delivery {
  sent: string[];
  off: string[];
  failed: Record<string, string>;
}

/** Delivers `n` on every channel in parallel; throws NotificationError if all configured ones failed. */
export async function notifyAll(
  n: Notification,
  channels: readonly Channel[],
  logger: Logger,
): Promise<Delivery> {
  const results = await Promise.allSettled(channels.map((channel) => channel.deliver(n)));
  const delivery: Delivery = { sent: [], off: [], failed: {} };
  results.forEach((result, i) => {
    const name = (channels[i] as Channel).name;
    if (result.status === 'rejected') delivery.failed[name] = describeError(result.reason);
    else if (result.value === 'sent') delivery.sent.push(name);
    else delivery.off.push(name);
  });
  const failedNames = Object.keys(delivery.failed);
  for (const name of failedNames)
    logger.error('channel failed', { channel: name, error: delivery.failed[name] });
  if (failedNames.length > 0 && delivery.sent.length === 0) {
    throw new NotificationError(`every channel failed: ${failedNames.join(', ')}`, delivery.failed);
  }
  if (delivery.sent.length === 0) logger.warn('no notification channel is configured', { kind: n.kind });
  return delivery;
}
