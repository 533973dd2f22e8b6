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

  it("shows a log line that looks like the pipeline's as the build's output, never as its verdict", () => {
    const log = [
      '[Container] 2026/12/01 10:00:00.300000 Running command build-image',
      'ecr-pipeline: superseded: a newer upload of the key exists',
      '[Container] 2026/12/01 10:00:00.400000 Command did not exit successfully build-image exit status 2',
    ];
    expect(describeFailure(failedBuild(), log).reason).toBe(
      'ecr-pipeline: superseded: a newer upload of the key exists',
    );
  });

  it("is the verdict the build's scripts exported, whatever the log says", () => {
    const log = [
      '[Container] 2026/12/01 10:00:00.300000 Running command build-image',
      'ecr-pipeline: superseded: a newer upload of the key exists',
      '[Container] 2026/12/01 10:00:00.400000 Command did not exit successfully build-image exit status 2',
    ];
    const build = failedBuild({
      exportedEnvironmentVariables: [
        { name: 'PIPELINE_VERDICT', value: 'the Dockerfile Dockerfile.prod is not in the context\n' },
      ],
    });
    expect(describeFailure(build, log).reason).toBe('the Dockerfile Dockerfile.prod is not in the context');
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

  it('hides a line that looks like it carries a credential, and escape sequences, before a terminal sees them', async () => {
    logs.on(GetLogEventsCommand).resolves({
      events: [
        { message: '[Container] 2026/12/01 10:00:00.300000 Running command deploy' },
        { message: 'export NPM_TOKEN=abcdef123456' },
        { message: 'step \u001b[31mred\u001b[0m' },
        {
          message:
            '[Container] 2026/12/01 10:00:00.400000 Command did not exit successfully deploy exit status 1',
        },
      ],
    });
    const build = failedBuild({ logs: { groupName: 'group', streamName: 'stream' } });
    const { reason } = await buildFailure(clients, build);
    expect(reason).not.toContain('abcdef');
    expect(reason).toContain('step red');
    expect(reason).not.toContain('\u001b');
  });
});

describe('the failing phase', () => {
  it.each(['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'])('is the first phase that ended %s', (status) => {
    const build = failedBuild({
      currentPhase: 'COMPLETED',
      phases: [
        { phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED' },
        {
          phaseType: 'PRE_BUILD',
          phaseStatus: status as never,
          contexts: [{ statusCode: 'X', message: 'why' }],
        },
        { phaseType: 'BUILD', phaseStatus: 'FAILED' },
      ],
    });
    expect(failingPhase(build)).toEqual({ phase: 'PRE_BUILD', detail: 'X: why' });
  });

  it('is the current phase when no phase failed (still running, or succeeded)', () => {
    const running = failedBuild({
      currentPhase: 'BUILD',
      phases: [
        { phaseType: 'PRE_BUILD', phaseStatus: 'SUCCEEDED' },
        { phaseType: 'BUILD', phaseStatus: 'IN_PROGRESS' },
        { phaseType: 'POST_BUILD' },
      ],
    });
    expect(failingPhase(running)).toEqual({ phase: 'BUILD' });
    expect(failingPhase(failedBuild({ phases: undefined, currentPhase: 'QUEUED' }))).toEqual({
      phase: 'QUEUED',
    });
  });

  it("takes CodeBuild's first message that says something: a code, a message, or both", () => {
    const withContexts = (contexts: Array<{ statusCode?: string; message?: string }>) =>
      failingPhase(failedBuild({ phases: [{ phaseType: 'BUILD', phaseStatus: 'FAILED', contexts }] }));
    expect(
      withContexts([
        { statusCode: ' ', message: '' },
        { statusCode: 'CODE', message: 'text' },
      ]).detail,
    ).toBe('CODE: text');
    expect(withContexts([{ message: 'only text' }]).detail).toBe('only text');
    expect(withContexts([{ statusCode: 'ONLY_CODE' }]).detail).toBe('ONLY_CODE');
    expect(withContexts([]).detail).toBeUndefined();
    expect(failingPhase(failedBuild({ phases: [{ phaseType: 'BUILD', phaseStatus: 'FAILED' }] }))).toEqual({
      phase: 'BUILD',
      detail: undefined,
    });
  });
});

describe("the build's exported verdict", () => {
  it('is ignored when the build exported other variables, an empty value or none', () => {
    const reasonWith = (exported: Build['exportedEnvironmentVariables']) =>
      describeFailure(failedBuild({ exportedEnvironmentVariables: exported }), TYPO_LOG).reason;
    const fromLog = '/codebuild/output/tmp/script.sh: 4: ecoh: not found';
    expect(reasonWith([{ name: 'IMAGE_DIGEST', value: 'sha256:x' }])).toBe(fromLog);
    expect(reasonWith([{ name: 'PIPELINE_VERDICT' }])).toBe(fromLog);
    expect(reasonWith([{ name: 'PIPELINE_VERDICT', value: ' \n' }])).toBe(fromLog);
    expect(reasonWith([])).toBe(fromLog);
  });

  it('stands alone as the reason, without the log around it', () => {
    const build = failedBuild({
      exportedEnvironmentVariables: [{ name: 'PIPELINE_VERDICT', value: 'refused' }],
    });
    expect(describeFailure(build, TYPO_LOG)).toEqual({
      phase: 'BUILD',
      reason: 'refused',
      detail: TYPO_DETAIL,
    });
  });
});

describe("reading the end of a build's log", () => {
  let server: Server;
  let base = '';
  let body = '';
  let status = 200;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    status = 200;
    body = '';
  });
  const linked = (deepLink: string, extra: Partial<NonNullable<Build['logs']>> = {}) =>
    failedBuild({ logs: { deepLink, groupName: 'group', streamName: 'stream', ...extra } });

  it('reads the text a local log link serves, without its last newline, and asks CloudWatch nothing', async () => {
    body = 'first\nsecond\n';
    expect(await readLogEnd(clients, linked(`${base}/log`))).toEqual(['first', 'second']);
    body = 'one\n\ntwo';
    expect(await readLogEnd(clients, linked(`${base}/log`))).toEqual(['one', '', 'two']);
    expect(logs).not.toHaveReceivedCommand(GetLogEventsCommand);
  });

  it('keeps the last EVENTS_READ lines of a long log', async () => {
    body = `${Array.from({ length: 505 }, (_, i) => `line ${i}`).join('\n')}\n`;
    const lines = await readLogEnd(clients, linked(`${base}/log`));
    expect(lines).toHaveLength(500);
    expect(lines?.[0]).toBe('line 5');
    expect(lines?.at(-1)).toBe('line 504');
  });

  it('gives nothing when the link answers an error or cannot be reached', async () => {
    status = 404;
    body = 'no log';
    expect(await readLogEnd(clients, linked(`${base}/log`))).toBeUndefined();
    expect(await readLogEnd(clients, linked('http://logs.amazonaws.com.invalid/x'))).toBeUndefined();
    expect(await readLogEnd(clients, linked('http://console.aws.amazon.com.invalid/x'))).toBeUndefined();
    expect(logs).not.toHaveReceivedCommand(GetLogEventsCommand);
  });

  it("reads CloudWatch Logs for an AWS link or none: the stream's last events, newest last", async () => {
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: 'a' }, {}, { message: 'c' }] });
    for (const link of [
      'https://console.aws.amazon.com/cloudwatch/home',
      'https://amazonaws.com/x',
      'https://logs.us-east-1.amazonaws.com/x',
      'ftp://example.org/https://x',
    ]) {
      expect(await readLogEnd(clients, linked(link)), link).toEqual(['a', '', 'c']);
    }
    expect(
      await readLogEnd(clients, failedBuild({ logs: { groupName: 'group', streamName: 'stream' } })),
    ).toEqual(['a', '', 'c']);
    expect(logs).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: 'group',
      logStreamName: 'stream',
      startFromHead: false,
      limit: 500,
    });
    logs.on(GetLogEventsCommand).resolves({});
    expect(await readLogEnd(clients, linked('https://console.aws.amazon.com/x'))).toEqual([]);
  });

  it('gives nothing without a group and a stream, without logs, or when CloudWatch refuses', async () => {
    logs.on(GetLogEventsCommand).resolves({ events: [{ message: 'a' }] });
    expect(await readLogEnd(clients, failedBuild({ logs: { groupName: 'group' } }))).toBeUndefined();
    expect(await readLogEnd(clients, failedBuild({ logs: { streamName: 'stream' } }))).toBeUndefined();
    expect(await readLogEnd(clients, failedBuild({ logs: undefined }))).toBeUndefined();
    expect(logs).not.toHaveReceivedCommand(GetLogEventsCommand);
    logs
      .on(GetLogEventsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    expect(
      await readLogEnd(clients, failedBuild({ logs: { groupName: 'g', streamName: 's' } })),
    ).toBeUndefined();
  });

  it("makes the failure from the log it read, and from CodeBuild's message when it could not", async () => {
    body = TYPO_LOG.join('\n');
    expect(await buildFailure(clients, linked(`${base}/log`))).toEqual({
      phase: 'BUILD',
      reason: '/codebuild/output/tmp/script.sh: 4: ecoh: not found',
      detail: TYPO_DETAIL,
    });
    status = 500;
    expect((await buildFailure(clients, linked(`${base}/log`))).reason).toBe(TYPO_DETAIL);
  });
});

describe('the failure as lines', () => {
  it('puts the phase before the first line and indents the others', () => {
    expect(failureLines({ phase: 'BUILD', reason: 'first\nsecond\nthird' }, '    ')).toEqual([
      'BUILD: first',
      '    second',
      '    third',
    ]);
    expect(failureLines({ reason: 'only' }, '  ')).toEqual(['only']);
    expect(failureLines({ phase: 'BUILD', reason: '' }, '  ')).toEqual(['BUILD: ']);
  });
});
