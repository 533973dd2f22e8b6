import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CliError, explain } from '../../../cli/errors.ts';
import { followBuild, waitForBuild } from '../../../cli/follow.ts';
import { createClients } from '../../../cli/target.ts';
import { stripControl } from '../../../cli/terminal-text.ts';
import { HIDDEN_LINE } from '../../../functions/shared/redact.ts';
import { uploadRecordKey } from '../../../functions/shared/upload-record.ts';
import { build, identity, ours } from '../follow/fixtures.ts';

const s3 = mockClient(S3Client);
const codebuild = mockClient(CodeBuildClient);
const logs = mockClient(CloudWatchLogsClient);
const ecr = mockClient(ECRClient);
const clients = createClients({ region: 'us-east-1' });

const noSuchKey = () => Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
const body = (text: string) => ({ transformToString: async () => text });
const collect = () => {
  const lines: string[] = [];
  let log = '';
  return {
    out: { info: (line: string) => lines.push(line), log: (text: string) => (log += text) },
    lines,
    log: () => log,
  };
};

beforeEach(() => {
  s3.reset();
  codebuild.reset();
  logs.reset();
  ecr.reset();
});

describe('waiting for the build', () => {
  it('returns the rejection from the upload record', async () => {
    s3.on(GetObjectCommand, { Key: uploadRecordKey('', identity) }).resolves({
      Body: body(
        JSON.stringify({
          status: 'rejected',
          code: 'InvalidTag',
          reason: 'tag "x!" contains "!"',
          bucket: 'contexts',
          key: identity.key,
          at: '',
        }),
      ),
    } as never);
    const { out } = collect();
    const result = await waitForBuild({ clients, project: 'p', prefix: '', identity, out, pollMs: 1 });
    expect(result).toEqual({
      rejected: { kind: 'rejected', code: 'InvalidTag', reason: 'tag "x!" contains "!"' },
    });
  });

  it('says that nothing handled the upload when neither record nor build appears', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey());
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    const { out } = collect();
    const error = await waitForBuild({
      clients,
      project: 'p',
      prefix: '',
      identity,
      out,
      pollMs: 1,
      findTimeoutMs: 5,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toMatch(/nothing handled the upload/);
  });

  it('asks for the project when it is not known', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey());
    const { out } = collect();
    await expect(waitForBuild({ clients, prefix: '', identity, out, pollMs: 1 })).rejects.toThrow(
      /project is not known/,
    );
  });

  it('stops at once when the function failed on the upload before any build, and says why', async () => {
    s3.on(GetObjectCommand).resolves({
      Body: body(JSON.stringify({ status: 'failed', reason: 'StartBuild refused: project gone' })),
    } as never);
    const { out } = collect();
    const error = await waitForBuild({ clients, project: 'p', prefix: '', identity, out, pollMs: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe(
      'the build-trigger function failed on the upload: StartBuild refused: project gone',
    );
    expect(codebuild).not.toHaveReceivedCommand(ListBuildsForProjectCommand);
  });
});

describe('following a build', () => {
  it('shows phases as they change and the log as it is written, then the image with the exported digest', async () => {
    const logsLocation = {
      groupName: '/aws/codebuild/p',
      streamName: 's1',
      deepLink: 'https://console.aws.amazon.com/x',
    };
    codebuild
      .on(BatchGetBuildsCommand)
      .resolvesOnce({ builds: [build('p:2', ours, { currentPhase: 'BUILD', logs: logsLocation })] })
      .resolves({
        builds: [
          build('p:2', ours, {
            currentPhase: 'COMPLETED',
            buildComplete: true,
            buildStatus: 'SUCCEEDED',
            logs: logsLocation,
            exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: 'sha256:feed' }],
          }),
        ],
      });
    logs
      .on(GetLogEventsCommand)
      .resolvesOnce({ events: [{ message: 'line 1\n' }], nextForwardToken: 't1' })
      .resolvesOnce({ events: [], nextForwardToken: 't1' })
      .resolvesOnce({ events: [{ message: 'line 2' }], nextForwardToken: 't2' })
      .resolves({ events: [], nextForwardToken: 't2' });
    const first = build('p:2', ours, { currentPhase: 'PROVISIONING', logs: logsLocation });
    const { out, lines, log } = collect();
    const outcome = await followBuild({ clients, project: 'p', prefix: '', identity, out, pollMs: 1 }, first);
    expect(lines.filter((l) => l.startsWith('phase'))).toEqual([
      'phase PROVISIONING',
      'phase BUILD',
      'phase COMPLETED',
    ]);
    expect(log()).toBe('line 1\nline 2\n');
    expect(outcome).toEqual({
      kind: 'pushed',
      buildId: 'p:2',
      image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:v1@sha256:feed',
      digest: 'sha256:feed',
    });
    expect(logs).toReceiveCommandWith(GetLogEventsCommand, {
      logGroupName: '/aws/codebuild/p',
      logStreamName: 's1',
      startFromHead: true,
      nextToken: 't1',
    });
  });

  it('asks ECR for the digest when the build did not export it', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: 'sha256:beef' }] });
    const done = build('p:2', ours, { buildComplete: true, buildStatus: 'SUCCEEDED' });
    const { out } = collect();
    const outcome = await followBuild(
      { clients, prefix: '', identity, out, pollMs: 1, showLogs: false },
      done,
    );
    expect(outcome).toMatchObject({ kind: 'pushed', digest: 'sha256:beef' });
    expect(ecr).toReceiveCommandWith(DescribeImagesCommand, {
      repositoryName: 'team/api',
      imageIds: [{ imageTag: 'v1' }],
    });
  });

  it('reports a failed build with the failing phase, its message and the log link', async () => {
    const failed = build('p:2', ours, {
      buildComplete: true,
      buildStatus: 'FAILED',
      logs: { deepLink: 'https://console.aws.amazon.com/log' },
      phases: [
        { phaseType: 'INSTALL', phaseStatus: 'SUCCEEDED' },
        {
          phaseType: 'BUILD',
          phaseStatus: 'FAILED',
          contexts: [
            {
              statusCode: 'COMMAND_EXECUTION_ERROR',
              message: 'Error while executing command: build-image.sh. Reason: exit status 1',
            },
          ],
        },
      ],
    });
    const { out } = collect();
    const outcome = await followBuild(
      { clients, prefix: '', identity, out, pollMs: 1, showLogs: false },
      failed,
    );
    expect(outcome).toEqual({
      kind: 'failed',
      buildId: 'p:2',
      status: 'FAILED',
      phase: 'BUILD',
      // No log to read (no stream named): CodeBuild's message is all there is.
      reason: 'COMMAND_EXECUTION_ERROR: Error while executing command: build-image.sh. Reason: exit status 1',
      detail: 'COMMAND_EXECUTION_ERROR: Error while executing command: build-image.sh. Reason: exit status 1',
      logLink: 'https://console.aws.amazon.com/log',
    });
  });
});

describe("the build's output on the operator's terminal", () => {
  const logsLocation = { groupName: '/aws/codebuild/p', streamName: 's1' };

  it('strips control characters and escape sequences, and hides credentials, from the RUN output it shows', async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        build('p:2', ours, {
          currentPhase: 'COMPLETED',
          buildComplete: true,
          buildStatus: 'FAILED',
          logs: logsLocation,
          phases: [
            {
              phaseType: 'BUILD',
              phaseStatus: 'FAILED',
              contexts: [{ statusCode: 'COMMAND_EXECUTION_ERROR', message: 'exit status 1' }],
            },
          ],
        }),
      ],
    });
    logs
      .on(GetLogEventsCommand)
      .resolvesOnce({
        events: [
          { message: '\u001b[2J\u001b]0;owned\u0007step \u001b[31mred\u001b[0m\r\u0008\u009b done\n' },
          { message: 'PGPASSWORD=hunter2 psql\n' },
          { message: 'ecr-pipeline: superseded: a newer upload exists\n' },
        ],
        nextForwardToken: 't1',
      })
      .resolves({ events: [], nextForwardToken: 't1' });
    const { out, log } = collect();
    const first = build('p:2', ours, { currentPhase: 'BUILD', logs: logsLocation });
    const outcome = await followBuild({ clients, project: 'p', prefix: '', identity, out, pollMs: 1 }, first);
    expect(log()).toBe(`step red done\n${HIDDEN_LINE}\necr-pipeline: superseded: a newer upload exists\n`);
    // A line of the log is the build's output, never the pipeline's verdict.
    expect(outcome).toMatchObject({
      kind: 'failed',
      phase: 'BUILD',
      reason: 'COMMAND_EXECUTION_ERROR: exit status 1',
    });
  });

  it("gives the verdict the build's scripts exported as the reason", async () => {
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        build('p:2', ours, {
          currentPhase: 'COMPLETED',
          buildComplete: true,
          buildStatus: 'FAILED',
          exportedEnvironmentVariables: [
            { name: 'PIPELINE_VERDICT', value: 'superseded: a newer upload of team/web/v1.tar.gz exists\n' },
          ],
        }),
      ],
    });
    const first = build('p:2', ours, { currentPhase: 'BUILD' });
    const outcome = await followBuild(
      { clients, project: 'p', prefix: '', identity, out: collect().out, pollMs: 1, showLogs: false },
      first,
    );
    expect(outcome).toMatchObject({
      kind: 'failed',
      reason: 'superseded: a newer upload of team/web/v1.tar.gz exists',
    });
  });
});

describe('text for the terminal', () => {
  it('keeps tabs and newlines, drops every other control character', () => {
    expect(stripControl('a\tb\nc\u0000d\u007fe\u0085f')).toBe('a\tb\ncdef');
    expect(stripControl('\u001bPq\u001b\\x')).toBe('qx');
  });
});

describe('errors people meet', () => {
  it('says what to do without credentials', () => {
    const error = explain(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
    );
    expect(error.message).toBe('no AWS credentials found');
    expect(error.hint).toMatch(/aws configure.*--profile.*--local/);
  });

  it('names the missing bucket', () => {
    const error = explain(Object.assign(new Error('nope'), { name: 'NoSuchBucket' }), { bucket: 'ctx' });
    expect(error.message).toContain('ctx does not exist');
    expect(error.hint).toContain('--bucket');
  });

  it('explains access denied with the permissions needed', () => {
    const error = explain(
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
      { bucket: 'ctx', key: 'a/b.tar.gz' },
    );
    expect(error.message).toContain('access denied to s3://ctx/a/b.tar.gz');
    expect(error.hint).toContain('s3:PutObject');
  });

  it('tells that the local cloud is not running when its endpoint refuses connections', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' });
    const error = explain(Object.assign(new Error('fetch failed'), { cause: refused }), {
      local: true,
      endpoint: 'http://127.0.0.1:4566',
    });
    expect(error.message).toContain('local cloud is not running');
    expect(error.hint).toContain('npm start');
  });
});
