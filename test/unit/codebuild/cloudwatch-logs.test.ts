import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { excerptFromLog } from '../../../functions/ecr-events/notify/log-excerpt.ts';
import { batches, LogShipper, MAX_BATCH_EVENTS } from '../../../local/codebuild/cloudwatch-logs.ts';
import { type CodeBuildService, createCodeBuildService } from '../../../local/codebuild/index.ts';

const logsMock = mockClient(CloudWatchLogsClient);
const client = new CloudWatchLogsClient({ region: 'us-east-1' });
let dir: string;
beforeEach(() => {
  logsMock.reset();
  dir = mkdtempSync(join(tmpdir(), 'cwlogs-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const shipped = () =>
  logsMock
    .commandCalls(PutLogEventsCommand)
    .flatMap((c) => (c.args[0].input.logEvents ?? []).map((e) => e.message));

describe('the log shipper', () => {
  it('creates the group and stream once and sends complete lines in order, the unfinished one at the end', async () => {
    logsMock
      .on(CreateLogGroupCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ResourceAlreadyExistsException' }));
    const file = join(dir, 'build.log');
    writeFileSync(file, 'one\ntwo\nthr');
    const shipper = new LogShipper({ logs: client, group: '/aws/codebuild/p', stream: 's', file });
    await shipper.flush();
    expect(shipped()).toEqual(['one', 'two']);
    appendFileSync(file, 'ee\n\nfour: é');
    await shipper.flush();
    expect(shipped()).toEqual(['one', 'two', 'three']);
    await shipper.flush(true);
    expect(shipped()).toEqual(['one', 'two', 'three', 'four: é']);
    expect(logsMock).toHaveReceivedCommandTimes(CreateLogStreamCommand, 1);
    expect(logsMock).toHaveReceivedCommandWith(PutLogEventsCommand, {
      logGroupName: '/aws/codebuild/p',
      logStreamName: 's',
    });
    const stamps = logsMock
      .commandCalls(PutLogEventsCommand)
      .flatMap((c) => (c.args[0].input.logEvents ?? []).map((e) => e.timestamp as number));
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
  });

  it('reports a failing call and goes on', async () => {
    logsMock.on(CreateLogStreamCommand).rejects(new Error('down'));
    const file = join(dir, 'build.log');
    writeFileSync(file, 'line\n');
    const errors: unknown[] = [];
    await new LogShipper({ logs: client, group: 'g', stream: 's', file }, (e) => errors.push(e)).flush();
    expect(errors).toHaveLength(1);
  });

  it('batches within what PutLogEvents accepts', () => {
    const many = Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => `l${i}`);
    expect([...batches(many)].map((b) => b.length)).toEqual([MAX_BATCH_EVENTS, 1]);
    const big = Array.from({ length: 5 }, () => 'x'.repeat(300_000));
    const sized = [...batches(big)];
    expect(sized.flat()).toHaveLength(5);
    for (const b of sized) expect(b.reduce((n, l) => n + l.length + 26, 0)).toBeLessThanOrEqual(1_048_576);
  });
});

describe('local CodeBuild with CloudWatch Logs', () => {
  let service: CodeBuildService | undefined;
  afterEach(async () => service?.stop());

  it("puts a failed build's log in its stream before the final state-change event", async () => {
    const order: string[] = [];
    const messages: string[] = [];
    const logs = {
      send: async (command: unknown) => {
        if (command instanceof PutLogEventsCommand) {
          for (const e of command.input.logEvents ?? []) messages.push(e.message ?? '');
          order.push('log');
        }
        return {};
      },
    } as unknown as CloudWatchLogsClient;
    service = createCodeBuildService({
      dataDir: dir,
      region: 'us-east-1',
      accountId: '123456789012',
      endpoint: 'http://127.0.0.1:45100',
      registry: '127.0.0.1:45101',
      buildEnv: {},
      project: {
        name: 'p',
        timeoutInMinutes: 60,
        environmentVariables: [],
        buildspec: `version: 0.2
phases:
  build:
    commands:
      - echo working
      - 'echo "ecr-pipeline: no Dockerfile at Dockerfile in the context" >&2; exit 2'
  post_build:
    commands:
      - echo post
`,
      },
      logs,
      putEvents: async (entries) => {
        for (const e of entries) order.push(JSON.parse(e.Detail)['build-status']);
      },
    });
    const { build } = (await service.handle('StartBuild', { projectName: 'p' })) as { build: { id: string } };
    const done = await service.waitForBuild(build.id);
    await service.stop();
    service = undefined;
    expect(done.logs).toMatchObject({ groupName: '/aws/codebuild/p' });
    expect(order.at(-1)).toBe('FAILED');
    expect(order.lastIndexOf('log')).toBeLessThan(order.lastIndexOf('FAILED'));
    // The notifications function's own reading of the stream finds the failing command's output.
    expect(excerptFromLog(messages, 20).tail).toEqual([
      'ecr-pipeline: no Dockerfile at Dockerfile in the context',
    ]);
    expect(messages).toContain('post');
  });
});
