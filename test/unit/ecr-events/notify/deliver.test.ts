import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  NotificationError,
  notifyAll,
  SlackError,
  slackChannel,
  snsChannel,
} from '../../../../functions/ecr-events/notify/deliver.ts';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import { renderSlack } from '../../../../functions/ecr-events/notify/render-slack.ts';
import { renderSns } from '../../../../functions/ecr-events/notify/render-sns.ts';
import { route } from '../../../../functions/ecr-events/route.ts';
import { event, stubLogger } from '../fixtures.ts';

const snsMock = mockClient(SNSClient);
const sns = new SNSClient({ region: 'us-west-2' });
const topicArn = 'arn:aws:sns:us-west-2:123456789012:ecr-pipeline-dev-events';
const hook = 'https://hooks.slack.com/services/T000/B000/XXXX';
const noSleep = async () => {};

function pushed(): Notification {
  const c = route(event('ecr/image-action-push.json'), {
    projectName: '',
    account: '123456789012',
    region: 'us-west-2',
    now: () => new Date(),
  });
  if (c.action !== 'notify') throw new Error('expected a notification');
  return c.notification;
}

const ok = () => new Response('ok', { status: 200 });

beforeEach(() => {
  snsMock.reset();
});

describe('Slack channel', () => {
  it('posts Block Kit JSON to the webhook with a timeout signal', async () => {
    const fetch = vi.fn(async (_url: string | URL | Request, _init?: RequestInit) => ok());
    const channel = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch });
    await expect(channel.deliver(pushed())).resolves.toBe('sent');
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] as [string, RequestInit];
    expect(url).toBe(hook);
    expect(init.method).toBe('POST');
    expect(init.signal).toBeInstanceOf(AbortSignal);
    const body = JSON.parse(String(init.body));
    expect(body.text).toBe('Image pushed: team/web:v1.4.2');
    expect(body.blocks[0].type).toBe('header');
  });

  it('is off, without a call, when no webhook is configured', async () => {
    const fetch = vi.fn();
    const channel = slackChannel({ webhookUrl: async () => undefined, timeoutMs: 2000, fetch });
    await expect(channel.deliver(pushed())).resolves.toBe('off');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('retries 429 and 5xx a bounded number of times', async () => {
    const fetch = vi.fn(async () => new Response('rate_limited', { status: 429 }));
    const channel = slackChannel({
      webhookUrl: async () => hook,
      timeoutMs: 2000,
      fetch,
      attempts: 3,
      sleep: noSleep,
    });
    await expect(channel.deliver(pushed())).rejects.toThrow('HTTP 429');
    expect(fetch).toHaveBeenCalledTimes(3);
  });

  it('retries a timeout and then succeeds', async () => {
    const fetch = vi
      .fn()
      .mockRejectedValueOnce(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
      .mockResolvedValueOnce(ok());
    const channel = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch, sleep: noSleep });
    await expect(channel.deliver(pushed())).resolves.toBe('sent');
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('does not retry a 4xx that will never succeed (invalid payload, revoked hook)', async () => {
    const fetch = vi.fn(async () => new Response('invalid_blocks', { status: 400 }));
    const channel = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch, sleep: noSleep });
    await expect(channel.deliver(pushed())).rejects.toThrow('HTTP 400');
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});

describe('Slack channel, more', () => {
  it('sends the rendered message as JSON, the same body on every attempt', async () => {
    const fetch = vi
      .fn(async (_url: string | URL | Request, _init?: RequestInit) => ok())
      .mockResolvedValueOnce(new Response('', { status: 502 }));
    const channel = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch, sleep: noSleep });
    await expect(channel.deliver(pushed())).resolves.toBe('sent');
    const inits = fetch.mock.calls.map((call) => call[1] as RequestInit);
    expect(inits.map((init) => init.headers)).toEqual([
      { 'content-type': 'application/json' },
      { 'content-type': 'application/json' },
    ]);
    expect(inits[1]?.body).toBe(inits[0]?.body);
    expect(JSON.parse(String(inits[0]?.body))).toEqual(renderSlack(pushed()));
  });

  it('makes three attempts unless told otherwise, waiting a backoff of at most 200 ms then 400 ms', async () => {
    const fetch = vi.fn(async () => new Response('', { status: 500 }));
    const sleep = vi.fn(async (_ms: number) => {});
    const channel = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch, sleep });
    await expect(channel.deliver(pushed())).rejects.toBeInstanceOf(SlackError);
    expect(fetch).toHaveBeenCalledTimes(3);
    expect(sleep).toHaveBeenCalledTimes(2);
    const [first, second] = sleep.mock.calls.map((call) => call[0]);
    expect(first).toBeLessThanOrEqual(200);
    expect(second).toBeLessThanOrEqual(400);
  });

  it('caps the backoff at 2 seconds', async () => {
    const fetch = vi.fn(async () => new Response('', { status: 503 }));
    const sleep = vi.fn(async (_ms: number) => {});
    const channel = slackChannel({
      webhookUrl: async () => hook,
      timeoutMs: 2000,
      fetch,
      sleep,
      attempts: 8,
    });
    await expect(channel.deliver(pushed())).rejects.toThrow('Slack webhook answered HTTP 503');
    expect(fetch).toHaveBeenCalledTimes(8);
    for (const [ms] of sleep.mock.calls) expect(ms).toBeLessThanOrEqual(2000);
  });

  it('retries a 500 and a network failure, but not a 499 or an unexpected error', async () => {
    const retried = async (failure: () => Promise<Response>) => {
      const fetch = vi.fn(failure);
      const channel = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch, sleep: noSleep });
      await channel.deliver(pushed()).catch(() => undefined);
      return fetch.mock.calls.length;
    };
    expect(await retried(async () => new Response('', { status: 500 }))).toBe(3);
    expect(
      await retried(async () => {
        throw new TypeError('fetch failed');
      }),
    ).toBe(3);
    expect(await retried(async () => new Response('', { status: 499 }))).toBe(1);
    expect(
      await retried(async () => {
        throw new RangeError('unexpected');
      }),
    ).toBe(1);
  });

  it('does not let a body that cannot be read turn a delivered message into a failure', async () => {
    const response = ok();
    vi.spyOn(response, 'text').mockRejectedValue(new Error('terminated'));
    const channel = slackChannel({
      webhookUrl: async () => hook,
      timeoutMs: 2000,
      fetch: async () => response,
    });
    await expect(channel.deliver(pushed())).resolves.toBe('sent');
  });

  it('says the status Slack answered', () => {
    const error = new SlackError(404);
    expect(error).toMatchObject({
      name: 'SlackError',
      status: 404,
      message: 'Slack webhook answered HTTP 404',
    });
  });
});

describe('SNS channel', () => {
  it('publishes subject, both bodies and filterable attributes to the topic', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await expect(snsChannel({ sns, topicArn, timeoutMs: 2000 }).deliver(pushed())).resolves.toBe('sent');
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: topicArn,
      Subject: '[ecr-pipeline] Image pushed: team/web:v1.4.2',
      MessageStructure: 'json',
      MessageAttributes: {
        'event-type': { DataType: 'String', StringValue: 'image-push' },
        repository: { DataType: 'String', StringValue: 'team/web' },
        severity: { DataType: 'String', StringValue: 'none' },
        outcome: { DataType: 'String', StringValue: 'success' },
      },
    });
  });

  it('publishes the rendered message with a timeout signal', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await snsChannel({ sns, topicArn, timeoutMs: 2000 }).deliver(pushed());
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { Message: renderSns(pushed()).message });
    const options = (snsMock.call(0).args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined;
    expect(options?.abortSignal).toBeInstanceOf(AbortSignal);
  });

  it('is off when no topic is configured', async () => {
    await expect(snsChannel({ sns, topicArn: '', timeoutMs: 2000 }).deliver(pushed())).resolves.toBe('off');
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe('notifyAll', () => {
  it('delivers on SNS when Slack fails, and does not throw', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const logger = stubLogger();
    const slack = slackChannel({
      webhookUrl: async () => hook,
      timeoutMs: 2000,
      fetch: async () => new Response('', { status: 500 }),
      sleep: noSleep,
    });
    const delivery = await notifyAll(
      pushed(),
      [slack, snsChannel({ sns, topicArn, timeoutMs: 2000 })],
      logger,
    );
    expect(delivery.sent).toEqual(['sns']);
    expect(Object.keys(delivery.failed)).toEqual(['slack']);
    expect(logger.error).toHaveBeenCalledWith(
      'channel failed',
      expect.objectContaining({ channel: 'slack' }),
    );
  });

  it('delivers on Slack when SNS fails', async () => {
    snsMock
      .on(PublishCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AuthorizationErrorException' }));
    const slack = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch: async () => ok() });
    const delivery = await notifyAll(
      pushed(),
      [slack, snsChannel({ sns, topicArn, timeoutMs: 2000 })],
      stubLogger(),
    );
    expect(delivery.sent).toEqual(['slack']);
  });

  it('throws when every configured channel failed, so that Lambda retries the event', async () => {
    snsMock.on(PublishCommand).rejects(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    const slack = slackChannel({
      webhookUrl: async () => hook,
      timeoutMs: 2000,
      fetch: async () => new Response('', { status: 503 }),
      sleep: noSleep,
    });
    const promise = notifyAll(
      pushed(),
      [slack, snsChannel({ sns, topicArn, timeoutMs: 2000 })],
      stubLogger(),
    );
    await expect(promise).rejects.toBeInstanceOf(NotificationError);
    await expect(promise).rejects.toThrow('every channel failed: slack, sns');
  });

  it('throws when the only configured channel fails, and only warns when none is configured', async () => {
    const slack = slackChannel({ webhookUrl: async () => undefined, timeoutMs: 2000 });
    snsMock.on(PublishCommand).rejects(new Error('boom'));
    await expect(
      notifyAll(pushed(), [slack, snsChannel({ sns, topicArn, timeoutMs: 2000 })], stubLogger()),
    ).rejects.toBeInstanceOf(NotificationError);
    const logger = stubLogger();
    const delivery = await notifyAll(
      pushed(),
      [slack, snsChannel({ sns, topicArn: '', timeoutMs: 2000 })],
      logger,
    );
    expect(delivery.off).toEqual(['slack', 'sns']);
    expect(logger.warn).toHaveBeenCalledWith('no notification channel is configured', { kind: 'image-push' });
  });

  it('neither throws nor warns when one channel failed and another delivered', async () => {
    snsMock.on(PublishCommand).rejects(new Error('boom'));
    const logger = stubLogger();
    const slack = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch: async () => ok() });
    const delivery = await notifyAll(
      pushed(),
      [slack, snsChannel({ sns, topicArn, timeoutMs: 2000 })],
      logger,
    );
    expect(delivery).toEqual({ sent: ['slack'], off: [], failed: { sns: 'Error: boom' } });
    expect(logger.error).toHaveBeenCalledWith('channel failed', { channel: 'sns', error: 'Error: boom' });
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it("keeps each channel's error, named, in the error it throws", async () => {
    snsMock.on(PublishCommand).rejects(new Error('boom'));
    const error = await notifyAll(
      pushed(),
      [snsChannel({ sns, topicArn, timeoutMs: 2000 })],
      stubLogger(),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'NotificationError',
      message: 'every channel failed: sns',
      errors: { sns: 'Error: boom' },
    });
  });

  it('neither warns nor throws when every channel delivered', async () => {
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const logger = stubLogger();
    const slack = slackChannel({ webhookUrl: async () => hook, timeoutMs: 2000, fetch: async () => ok() });
    const delivery = await notifyAll(
      pushed(),
      [slack, snsChannel({ sns, topicArn, timeoutMs: 2000 })],
      logger,
    );
    expect(delivery).toEqual({ sent: ['slack', 'sns'], off: [], failed: {} });
    expect(logger.warn).not.toHaveBeenCalled();
    expect(logger.error).not.toHaveBeenCalled();
  });
});
