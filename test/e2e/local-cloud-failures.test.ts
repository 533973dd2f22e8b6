/**
 * Asynchronous invocation semantics of the local cloud: a handler that keeps failing is tried three
 * times (Lambda's two retries) and then kept in the on-failure record, on disk and in the function's
 * on-failure destination queue from the template.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';

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
  });
});
