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
