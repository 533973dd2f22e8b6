/**
 * Asynchronous invocation semantics of the local cloud: a handler that keeps failing is tried three
 * times (Lambda's two retries) and then kept in the on-failure record, on disk and in the function's
 * on-failure destination queue from the template.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'local-cloud-failures-'));
let cloud: LocalCloud;

beforeAll(async () => {
  cloud = await startLocalCloud({
    basePort: 0, // ports the kernel picks: never held by another program's closed connections
    dataDir: join(work, 'cloud'),
    scheduleIntervalMs: 0,
    retryDelaysMs: [100, 200],
    // An invalid setting fails every cold start of build-trigger (its config names the variable).
    functionEnv: { buildTrigger: { KEY_PREFIX: 'no-trailing-slash' } },
  });
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a handler that keeps failing', () => {
  it('is retried twice, then ends in the on-failure record with the event that failed', async () => {
    const s3 = new S3Client({
      region: cloud.region,
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: 'no-trailing-slash/app/v1.tar.gz', Body: 'x' }),
    );

    const failure = await cloud.sinks.waitFor(() => cloud.failures[0], 60_000);
    expect(failure.functionName).toBe('buildTrigger');
    expect(failure.attempts).toBe(3);
    expect(failure.error).toContain('KEY_PREFIX');
    expect(failure.event).toMatchObject({
      Records: [{ s3: { object: { key: 'no-trailing-slash/app/v1.tar.gz' } } }],
    });
    const attempts = cloud.invocations.filter((i) => i.functionName === 'buildTrigger');
    expect(attempts).toHaveLength(3);
    expect(attempts.every((i) => i.error?.includes('KEY_PREFIX'))).toBe(true);

    // As Lambda's on-failure destination: the record on disk and in the template's failure queue.
    const files = readdirSync(join(cloud.dataDir, 'failures'));
    expect(files).toHaveLength(1);
    const record = JSON.parse(readFileSync(join(cloud.dataDir, 'failures', String(files[0])), 'utf8'));
    expect(record).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: failure.event,
    });
    const sqs = new SQSClient({
      region: cloud.region,
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const destination = cloud.deployment.functions.find((f) => f.key === 'buildTrigger')?.onFailure ?? '';
    expect(destination).toMatch(/^arn:aws:sqs:/);
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: destination.split(':').at(-1) }));
    const messages = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(messages.Messages).toHaveLength(1);
    expect(JSON.parse(String(messages.Messages?.[0]?.Body))).toMatchObject({
      requestContext: { condition: 'RetriesExhausted' },
      requestPayload: failure.event,
    });
    // Visible again for the next test, which re-drives it.
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl,
        ReceiptHandle: messages.Messages?.[0]?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
  });

  it('is re-driven by ecr-pipeline replay: listed with --dry-run, then run again and taken off the queue', async () => {
    const state = join(work, 'cloud.json');
    writeFileSync(
      state,
      JSON.stringify({
        endpoint: cloud.endpoint,
        region: cloud.region,
        bucket: cloud.bucket,
        env: cloud.env,
      }),
    );
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, ECR_PIPELINE_LOCAL_STATE: state };

    const listed = await cli(env, 'replay', '--local', '--dry-run');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toContain('would re-drive: no-trailing-slash/app/v1.tar.gz');
    expect(listed.stderr).toContain('1 message(s) in the build-trigger failure queue; nothing changed');
    expect(cloud.invocations.filter((i) => i.functionName === 'buildTrigger')).toHaveLength(3);

    const replayed = await cli(env, 'replay', '--local');
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stderr).toContain('1 re-driven to ecr-pipeline-dev-buildTrigger, 0 kept');
    // The function still fails (its setting is still wrong): three more attempts, a second record.
    const second = await cloud.sinks.waitFor(() => cloud.failures[1], 60_000);
    expect(second.event).toEqual(cloud.failures[0]?.event);
    expect(cloud.invocations.filter((i) => i.functionName === 'buildTrigger')).toHaveLength(6);
    const again = await cli(env, 'replay', '--local', '--dry-run');
    expect(again.stderr).toContain('1 message(s) in the build-trigger failure queue');
  });
});

/** The command line tool, as a user runs it. */
function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'cli/bin/ecr-pipeline.mjs'), ...args], {
      env,
      cwd: root,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
