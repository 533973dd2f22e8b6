/**
 * Why a build failed, as `submit` and `status` print it: the excerpt of the log that the notification
 * and the upload record carry, not CodeBuild's phase message.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { Build } from '@aws-sdk/client-codebuild';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildFailure,
  describeFailure,
  failingPhase,
  failureLines,
  readLogEnd,
} from '../../../cli/failure.ts';
import { createClients } from '../../../cli/target.ts';
import { excerptFromLog } from '../../../functions/ecr-events/notify/log-excerpt.ts';
import { failureReason } from '../../../functions/ecr-events/uploads/record-transition.ts';

const logs = mockClient(CloudWatchLogsClient);
const clients = createClients({ region: 'us-east-1' });
beforeEach(() => logs.reset());

const TYPO_DETAIL =
  'COMMAND_EXECUTION_ERROR: Error while executing command: ecoh hello. Reason: exit status 127';
/** A CodeBuild log of a buildspec command with a typo, as CloudWatch Logs holds it (one event a line). */
const TYPO_LOG = [
  '[Container] 2026/12/01 10:00:00.100000 Entering phase BUILD',
  '[Container] 2026/12/01 10:00:00.200000 Running command echo building',
  'building',
  '[Container] 2026/12/01 10:00:00.300000 Running command ecoh hello',
  '/codebuild/output/tmp/script.sh: 4: ecoh: not found',
  '',
  '[Container] 2026/12/01 10:00:00.400000 Command did not exit successfully ecoh hello exit status 127',
  '[Container] 2026/12/01 10:00:00.500000 Phase complete: BUILD State: FAILED',
  `[Container] 2026/12/01 10:00:00.600000 Phase context status code: ${TYPO_DETAIL}`,
];

const failedBuild = (extra: Partial<Build> = {}): Build => ({
  id: 'p:1',
  buildStatus: 'FAILED',
  buildComplete: true,
  currentPhase: 'COMPLETED',
  phases: [
    { phaseType: 'PRE_BUILD', phaseStatus: 'SUCCEEDED' },
    {
      phaseType: 'BUILD',
      phaseStatus: 'FAILED',
      contexts: [
        { statusCode: '', message: '' },
        {
          statusCode: 'COMMAND_EXECUTION_ERROR',
          message: 'Error while executing command: ecoh hello. Reason: exit status 127',
        },
      ],
    },
    { phaseType: 'POST_BUILD', phaseStatus: 'SUCCEEDED' },
  ],
  logs: { groupName: '/aws/codebuild/p', streamName: 'abc', deepLink: 'https://console.aws.amazon.com/x' },
  ...extra,
});

describe('the reason of a failed build', () => {
  it("is the failing command's output, not CodeBuild's exit status message", () => {
    expect(describeFailure(failedBuild(), TYPO_LOG)).toEqual({
      phase: 'BUILD',
      reason: '/codebuild/output/tmp/script.sh: 4: ecoh: not found',
      detail: TYPO_DETAIL,
    });
  });

  it('is the same text the notification and the upload record carry', () => {
    const recorded = failureReason({
      id: 'p:1',
      project: 'p',
      status: 'FAILED',
      failureMessage: TYPO_DETAIL,
      log: excerptFromLog(TYPO_LOG, 20),
    });
    expect(describeFailure(failedBuild(), TYPO_LOG).reason).toBe(recorded);
  });

  it("is the build's own refusal line when it printed one", () => {
    const log = [
      '[Container] 2026/12/01 10:00:00.300000 Running command build-image',
      'ecr-pipeline: [3s] the Dockerfile Dockerfile.prod is not in the context',
      '[Container] 2026/12/01 10:00:00.400000 Command did not exit successfully build-image exit status 2',
    ];
    expect(describeFailure(failedBuild(), log).reason).toBe(
      'the Dockerfile Dockerfile.prod is not in the context',
    );
  });

  it("falls back to CodeBuild's message when the log cannot be read", () => {
    expect(describeFailure(failedBuild(), undefined).reason).toBe(TYPO_DETAIL);
  });

  it('falls back to the status when neither log nor message tells', () => {
    const stopped = failedBuild({ buildStatus: 'STOPPED', phases: [], currentPhase: 'BUILD' });
    expect(describeFailure(stopped, undefined)).toEqual({
      phase: 'BUILD',
      reason: 'The build ended STOPPED.',
      detail: undefined,
    });
  });

  it('hides a line that looks like it carries a credential', () => {
    const log = [
      '[Container] 2026/12/01 10:00:00.300000 Running command deploy',
      'export NPM_TOKEN=abcdef123456',
      '[Container] 2026/12/01 10:00:00.400000 Command did not exit successfully deploy exit status 1',
    ];
    expect(describeFailure(failedBuild(), log).reason).not.toContain('abcdef');
  });
});

describe('the failing phase', () => {
  it('is the first phase that did not succeed, with its first non-empty message', () => {
    expect(failingPhase(failedBuild())).toEqual({ phase: 'BUILD', detail: TYPO_DETAIL });
  });

  it.each(['FAULT', 'TIMED_OUT', 'STOPPED'] as const)('counts a phase that ended %s', (status) => {
    const build = failedBuild({ phases: [{ phaseType: 'INSTALL', phaseStatus: status }] });
    expect(failingPhase(build)).toEqual({ phase: 'INSTALL', detail: undefined });
  });

  it('is the current phase when no phase says it failed', () => {
    expect(failingPhase({ currentPhase: 'QUEUED' })).toEqual({ phase: 'QUEUED' });
  });

  it('takes a message without a status code', () => {
    const build = failedBuild({
      phases: [{ phaseType: 'BUILD', phaseStatus: 'FAILED', contexts: [{ message: 'out of memory' }] }],
    });
    expect(failingPhase(build).detail).toBe('out of memory');
  });
});

describe('reading the end of the log', () => {
  it('reads the last 500 events of the stream, as the notification does', async () => {
    logs.on(GetLogEventsCommand).resolves({ events: TYPO_LOG.map((message) => ({ message })) });
    expect(await readLogEnd(clients, failedBuild())).toEqual(TYPO_LOG);
    expect(logs).toReceiveCommandWith(GetLogEventsCommand, {
      logGroupName: '/aws/codebuild/p',
      logStreamName: 'abc',
      startFromHead: false,
      limit: 500,
    });
  });

  it('reads nothing when the build names no stream', async () => {
    expect(
      await readLogEnd(clients, failedBuild({ logs: { groupName: '/aws/codebuild/p' } })),
    ).toBeUndefined();
    expect(await readLogEnd(clients, failedBuild({ logs: { streamName: 'abc' } }))).toBeUndefined();
    expect(logs).not.toReceiveCommand(GetLogEventsCommand);
  });

  it('gives undefined, not an error, when CloudWatch Logs refuses', async () => {
    logs
      .on(GetLogEventsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    expect(await readLogEnd(clients, failedBuild())).toBeUndefined();
    // And the reason still comes, from CodeBuild's message.
    expect((await buildFailure(clients, failedBuild())).reason).toBe(TYPO_DETAIL);
  });

  it('keeps an event without a message as an empty line', async () => {
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: 'a' }, {}] });
    expect(await readLogEnd(clients, failedBuild())).toEqual(['a', '']);
  });

  it('gives no lines when the stream has no events', async () => {
    logs.on(GetLogEventsCommand).resolves({});
    expect(await readLogEnd(clients, failedBuild())).toEqual([]);
  });

  describe('from a log link the build serves (the local cloud)', () => {
    let server: Server;
    let base = '';
    let served = '';
    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.url === '/missing') {
          response.statusCode = 404;
          response.end('no');
          return;
        }
        response.end(served);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('reads its last 500 lines, without the empty one after the last newline', async () => {
      served = `${Array.from({ length: 600 }, (_, i) => `line ${i}`).join('\n')}\n`;
      const lines = await readLogEnd(clients, failedBuild({ logs: { deepLink: `${base}/log` } }));
      expect(lines).toHaveLength(500);
      expect(lines?.[0]).toBe('line 100');
      expect(lines?.at(-1)).toBe('line 599');
      expect(logs).not.toReceiveCommand(GetLogEventsCommand);
    });

    it('gives the same reason as the stream would', async () => {
      served = `${TYPO_LOG.join('\n')}\n`;
      const failure = await buildFailure(clients, failedBuild({ logs: { deepLink: `${base}/log` } }));
      expect(failure.reason).toBe('/codebuild/output/tmp/script.sh: 4: ecoh: not found');
    });

    it('gives undefined when the link answers with an error', async () => {
      expect(
        await readLogEnd(clients, failedBuild({ logs: { deepLink: `${base}/missing` } })),
      ).toBeUndefined();
    });
  });

  it('never fetches an AWS console link: it reads the stream', async () => {
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: 'from the stream' }] });
    for (const deepLink of [
      'https://console.aws.amazon.com/cloudwatch/home#logsV2',
      'https://logs.us-east-1.amazonaws.com/x',
    ]) {
      const build = failedBuild({ logs: { groupName: 'g', streamName: 's', deepLink } });
      expect(await readLogEnd(clients, build)).toEqual(['from the stream']);
    }
  });
});

describe('the lines of a reason', () => {
  it('puts the phase before the first line and indents the others', () => {
    expect(failureLines({ phase: 'BUILD', reason: 'one\ntwo\nthree' }, '  ')).toEqual([
      'BUILD: one',
      '  two',
      '  three',
    ]);
  });

  it('has no phase prefix when the phase is not known', () => {
    expect(failureLines({ reason: 'why' }, '  ')).toEqual(['why']);
  });
});
