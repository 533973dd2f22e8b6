import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EVENTS_READ,
  excerptFromLog,
  readLogExcerpt,
} from '../../../../functions/ecr-events/notify/log-excerpt.ts';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import { renderSlack } from '../../../../functions/ecr-events/notify/render-slack.ts';
import { renderSns } from '../../../../functions/ecr-events/notify/render-sns.ts';
import { route } from '../../../../functions/ecr-events/route.ts';
import { event } from '../fixtures.ts';

const logsMock = mockClient(CloudWatchLogsClient);
const client = new CloudWatchLogsClient({ region: 'us-west-2' });
beforeEach(() => logsMock.reset());

const at = '2026/11/16 16:13:20.123456';
const container = (message: string) => `[Container] ${at} ${message}`;

/** A build log as CodeBuild writes it: its own [Container] lines around each command's output. */
function buildLog(failing: string[], after: string[] = []): string[] {
  return [
    container('Running on CodeBuild On-demand'),
    container('Entering phase PRE_BUILD'),
    container('Running command echo "ecr-pipeline: building team/web:v1"'),
    'ecr-pipeline: building team/web:v1',
    container('Running command python3 "$PIPELINE_DIR/extract.py" ...'),
    'ecr-pipeline: context extracted (3 files, 2 KB)',
    container('Running command bash "$PIPELINE_DIR/build-image.sh" ...'),
    ...failing,
    container('Command did not exit successfully bash "$PIPELINE_DIR/build-image.sh" exit status 1'),
    container('Phase complete: BUILD State: FAILED'),
    container('Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command'),
    container('Entering phase POST_BUILD'),
    ...after,
    container('Phase complete: POST_BUILD State: SUCCEEDED'),
  ];
}

function failedBuild(): Notification {
  const c = route(event('codebuild/build-failed.json'), {
    projectName: 'ecr-pipeline-dev',
    account: '123456789012',
    region: 'us-west-2',
    now: () => new Date(),
  });
  if (c.action !== 'notify') throw new Error('expected a notification');
  return c.notification;
}

describe('the log excerpt', () => {
  it("reads no verdict from the log: a line that looks like the pipeline's is shown as output", () => {
    const log = buildLog([
      'ecr-pipeline: [1s] builder: podman',
      'ecr-pipeline: superseded: a newer upload of the key exists',
    ]);
    expect(excerptFromLog(log, 20)).toEqual({
      tail: [
        'ecr-pipeline: [1s] builder: podman',
        'ecr-pipeline: superseded: a newer upload of the key exists',
      ],
    });
  });

  it('shows the last lines of the failing command when it did not end with a refusal', () => {
    const output = Array.from({ length: 30 }, (_, i) => `#8 0.${i} line ${i}`);
    const log = buildLog(
      ['ecr-pipeline: [1s] builder: podman', ...output, 'error: exit code 2'],
      ['echo post build'],
    );
    const excerpt = excerptFromLog(log, 5);
    expect(excerpt.reason).toBeUndefined();
    // The failing command's last five lines: not the progress line before them, not POST_BUILD's output.
    expect(excerpt.tail).toEqual([
      '#8 0.26 line 26',
      '#8 0.27 line 27',
      '#8 0.28 line 28',
      '#8 0.29 line 29',
      'error: exit code 2',
    ]);
  });

  it('never takes a progress line printed before a crash for the reason', () => {
    const excerpt = excerptFromLog(buildLog(['ecr-pipeline: [1s] logged in to 1234.dkr.ecr', 'Killed']), 20);
    expect(excerpt).toEqual({ tail: ['ecr-pipeline: [1s] logged in to 1234.dkr.ecr', 'Killed'] });
  });

  it('skips CodeBuild [Container] lines and takes the end of the log when no command failed (timed out)', () => {
    const log = [container('Running command sleep 9999'), 'step 1', 'step 2', container('Build timed out')];
    expect(excerptFromLog(log, 20)).toEqual({ tail: ['step 1', 'step 2'] });
  });

  it('shows no tail lines when asked for none', () => {
    expect(excerptFromLog(buildLog(['compiler error']), 0)).toEqual({ tail: [] });
  });

  it('splits events that hold several lines', () => {
    expect(excerptFromLog(buildLog(['a\nb\r\nc']), 2).tail).toEqual(['b', 'c']);
  });

  it("keeps lines that only quote CodeBuild's own, and drops blank ones", () => {
    const quoted = 'echo "[Container] 2026/11/16 16:13:20.123456 Command did not exit successfully x"';
    expect(excerptFromLog(buildLog([quoted, '   ', 'done']), 20)).toEqual({ tail: [quoted, 'done'] });
  });

  it('takes the output of the last command that failed, from the command that ran it', () => {
    const log = [
      container('Running command make a'),
      'a output',
      container('Command did not exit successfully make a exit status 1'),
      container('Running command make b'),
      'b output',
      container('Command did not exit successfully make b exit status 2'),
      'after',
    ];
    expect(excerptFromLog(log, 20)).toEqual({ tail: ['b output'] });
  });

  it('takes the whole log before a failed command that no running line announced', () => {
    const log = ['first', container('Command did not exit successfully make exit status 1'), 'after'];
    expect(excerptFromLog(log, 20)).toEqual({ tail: ['first'] });
  });

  it('looks for the command that failed only before its failure', () => {
    const log = [
      'a output',
      container('Command did not exit successfully make a exit status 1'),
      container('Running command make b'),
      'b output',
    ];
    expect(excerptFromLog(log, 20)).toEqual({ tail: ['a output'] });
  });

  it('takes nothing from a log whose first line is the failed command', () => {
    expect(
      excerptFromLog([container('Command did not exit successfully make exit status 1'), 'after'], 20),
    ).toEqual({
      tail: [],
    });
  });

  it('keeps the last line of a log in which no command failed, and takes no refusal from it', () => {
    expect(excerptFromLog(['step 1', 'ecr-pipeline: stopped by hand'], 20)).toEqual({
      tail: ['step 1', 'ecr-pipeline: stopped by hand'],
    });
  });

  it('takes no failed or running command from a line that only quotes one', () => {
    const failure = 'echo "[Container] a b Command did not exit successfully x"';
    expect(excerptFromLog(['step', failure, 'end'], 20)).toEqual({ tail: ['step', failure, 'end'] });
    const running = 'echo "[Container] a b Running command y"';
    const log = [
      container('Running command make'),
      running,
      'out',
      container('Command did not exit successfully make exit status 1'),
    ];
    expect(excerptFromLog(log, 20)).toEqual({ tail: [running, 'out'] });
  });

  it('trims the ends of lines', () => {
    expect(excerptFromLog(buildLog(['error: x   \t']), 20)).toEqual({ tail: ['error: x'] });
  });

  it('is escaped and capped in Slack and in the SNS chat markdown', () => {
    const n = failedBuild();
    n.build = {
      ...(n.build as NonNullable<Notification['build']>),
      log: excerptFromLog(buildLog(['<!channel> & <@U1>', 'x'.repeat(5000)]), 20),
    };
    const slack = renderSlack(n);
    const all = JSON.stringify(slack.blocks);
    expect(all).toContain('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    expect(all).not.toContain('<!channel>');
    for (const b of slack.blocks as Array<{ text?: { text: string } }>)
      expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
    const chat = JSON.parse((JSON.parse(renderSns(n).message) as { https: string }).https);
    expect(chat.content.description).toContain('&lt;!channel&gt;');
    expect(renderSns(n).text).toContain('  | <!channel> & <@U1>');
  });

  it('shows the refusal line as the reason in Slack and SNS', () => {
    const n = failedBuild();
    n.build = {
      ...(n.build as NonNullable<Notification['build']>),
      log: { reason: 'no Dockerfile at Dockerfile in the context', tail: [] },
    };
    expect(JSON.stringify(renderSlack(n).blocks)).toContain(
      '*Reason:* no Dockerfile at Dockerfile in the context',
    );
    expect(renderSns(n).text).toContain('Reason:     no Dockerfile at Dockerfile in the context');
  });
});

describe('reading the log', () => {
  const where = {
    group: '/aws/codebuild/ecr-pipeline-dev',
    stream: '8745a7a9',
    maxLines: 20,
    timeoutMs: 200,
  };

  it('reads a bounded number of events from the end of the stream', async () => {
    logsMock.on(GetLogEventsCommand).resolves({
      events: buildLog(['ecr-pipeline: no Dockerfile at Dockerfile in the context']).map((message, i) => ({
        message,
        timestamp: i,
      })),
    });
    const excerpt = await readLogExcerpt({ ...where, logs: async () => client });
    expect(excerpt).toEqual({ tail: ['ecr-pipeline: no Dockerfile at Dockerfile in the context'] });
    expect(logsMock).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: '/aws/codebuild/ecr-pipeline-dev',
      logStreamName: '8745a7a9',
      startFromHead: false,
      limit: EVENTS_READ,
    });
  });

  it('says so, and does not throw, when CloudWatch Logs refuses', async () => {
    logsMock
      .on(GetLogEventsCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));
    const excerpt = await readLogExcerpt({ ...where, logs: async () => client });
    expect(excerpt.tail).toEqual([]);
    expect(excerpt.unavailable).toMatch(
      /could not be read \(AccessDeniedException: User is not authorized\)/,
    );
  });

  it('gives up after the time box when CloudWatch Logs does not answer', async () => {
    const hanging = { send: () => new Promise<never>(() => {}) } as unknown as CloudWatchLogsClient;
    const started = Date.now();
    const excerpt = await readLogExcerpt({ ...where, timeoutMs: 50, logs: async () => hanging });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(excerpt.unavailable).toMatch(/no answer within 50 ms/);
  });

  it('says the log had no lines when the stream is empty, and reads a message-less event as an empty line', async () => {
    logsMock.on(GetLogEventsCommand).resolves({ events: [] });
    expect(await readLogExcerpt({ ...where, logs: async () => client })).toEqual({
      tail: [],
      unavailable: 'The build log had no lines to show.',
    });
    logsMock.on(GetLogEventsCommand).resolves({});
    expect(await readLogExcerpt({ ...where, logs: async () => client })).toEqual({
      tail: [],
      unavailable: 'The build log had no lines to show.',
    });
    logsMock.on(GetLogEventsCommand).resolves({ events: [{ timestamp: 1 }, { message: 'only line' }] });
    expect(await readLogExcerpt({ ...where, logs: async () => client })).toEqual({ tail: ['only line'] });
  });

  it('says the log had no lines when CloudWatch Logs answers nothing', async () => {
    const silent = { send: async () => undefined } as unknown as CloudWatchLogsClient;
    expect(await readLogExcerpt({ ...where, logs: async () => silent })).toEqual({
      tail: [],
      unavailable: 'The build log had no lines to show.',
    });
  });

  it("shows nothing, without saying the log was empty, when its lines are all CodeBuild's own", async () => {
    logsMock.on(GetLogEventsCommand).resolves({ events: [{ message: container('Phase complete: BUILD') }] });
    expect(await readLogExcerpt({ ...where, logs: async () => client })).toEqual({ tail: [] });
  });

  it('limits the read to the time box, and says what was thrown when it is not an error', async () => {
    const send = vi.fn(async (_command: unknown, options?: { abortSignal?: AbortSignal }) => {
      expect(options?.abortSignal).toBeInstanceOf(AbortSignal);
      throw 'no'; // eslint-disable-line no-throw-literal
    });
    const excerpt = await readLogExcerpt({
      ...where,
      logs: async () => ({ send }) as unknown as CloudWatchLogsClient,
    });
    expect(send).toHaveBeenCalledTimes(1);
    expect(excerpt).toEqual({
      tail: [],
      unavailable: 'The build log could not be read (no): see the build logs.',
    });
  });

  it('takes the last lines the notification asks for', async () => {
    logsMock.on(GetLogEventsCommand).resolves({
      events: buildLog(['one', 'two', 'three']).map((message) => ({ message })),
    });
    expect(await readLogExcerpt({ ...where, maxLines: 2, logs: async () => client })).toEqual({
      tail: ['two', 'three'],
    });
  });

  it('leaves no timer behind once the log is read', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      logsMock.on(GetLogEventsCommand).resolves({ events: [{ message: 'only line' }] });
      await readLogExcerpt({ ...where, logs: async () => client });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
