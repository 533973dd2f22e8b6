/**
 * The local cloud: how long it takes to come up (moto, the registry, the gateway and registry front,
 * the packaged stack deployed, median of several starts), and the time from an S3 upload through the
 * SDK to the bundled build-trigger handler's return (the S3 notification, the queue poll, the Lambda
 * invocation in a warm container, repository creation and StartBuild), median and slowest of a series.
 *
 * The local CodeBuild runs no build for this figure (`maxConcurrentBuilds: 0`: StartBuild queues
 * them), so that real builds started by earlier uploads do not take the CPU from the ones measured.
 *
 * The IAM enforcement's cost (bench/iam-cost.ts): the role's calls, authorized, against the same
 * calls let through unexamined, on the same cloud, median per call and the ratio, in one run.
 *
 * Run alone: `npm run build && npm run package && npx tsx bench/run.ts local-cloud`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type LocalCloud, startLocalCloud } from '../local/cloud.ts';
import { authorizationMicros, IAM_CALLS, requestLatencies } from './iam-cost.ts';
import type { Row } from './types.ts';

const STARTS = 3;
const UPLOADS = 10;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

export default async function bench(): Promise<Row[]> {
  const work = mkdtempSync(join(tmpdir(), 'bench-local-cloud-'));
  try {
    const starts: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const t0 = performance.now();
      const cloud = await startLocalCloud({
        basePort: 0,
        dataDir: join(work, `start-${i}`),
        scheduleIntervalMs: 0,
        prepare: i === 0,
        codebuild: { maxConcurrentBuilds: 0 },
      });
      starts.push(performance.now() - t0);
      await cloud.stop();
    }

    const cloud = await startLocalCloud({
      basePort: 0,
      dataDir: join(work, 'uploads'),
      scheduleIntervalMs: 0,
      prepare: false,
      codebuild: { maxConcurrentBuilds: 0 },
    });
    const latencies: number[] = [];
    try {
      const s3 = new S3Client({
        region: cloud.region,
        endpoint: cloud.endpoint,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      // The first upload warms the container (cold start); it is reported on its own.
      let cold = Number.NaN;
      for (let i = 0; i <= UPLOADS; i++) {
        const key = `bench/app/v${i}.tar.gz`;
        const t0 = Date.now();
        await s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: key, Body: Buffer.alloc(1024) }));
        const done = await cloud.sinks.waitFor(
          () =>
            cloud.invocations.find(
              (inv) =>
                inv.endedAtMs !== undefined &&
                (inv.event as { Records?: Array<{ s3: { object: { key: string } } }> }).Records?.[0]?.s3
                  .object.key === key,
            ),
          60_000,
        );
        if (done.error) throw new Error(`build-trigger failed: ${done.error}`);
        if (i === 0) cold = (done.endedAtMs ?? t0) - t0;
        else latencies.push((done.endedAtMs ?? t0) - t0);
      }
      const iamRows = await iamCost(cloud);
      return [
        ...iamRows,
        {
          benchmark: 'local cloud',
          metric: `start-up, median of ${STARTS} (ms)`,
          value: median(starts).toFixed(0),
        },
        {
          benchmark: 'local cloud',
          metric: 'upload -> build-trigger returned, cold (ms)',
          value: cold.toFixed(0),
        },
        {
          benchmark: 'local cloud',
          metric: `upload -> build-trigger returned, warm median of ${UPLOADS} (ms)`,
          value: median(latencies).toFixed(0),
        },
        {
          benchmark: 'local cloud',
          metric: `upload -> build-trigger returned, warm slowest of ${UPLOADS} (ms)`,
          value: Math.max(...latencies).toFixed(0),
        },
      ];
    } finally {
      await cloud.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The role's calls, authorized, against the same calls let through unexamined: rows with the ratio. */
async function iamCost(cloud: LocalCloud): Promise<Row[]> {
  const latencies = await requestLatencies(cloud);
  const rows: Row[] = Object.entries(latencies).map(([call, { on, off }]) => ({
    benchmark: 'local cloud',
    metric: `IAM on / off, ${call}, median of ${IAM_CALLS} (ms)`,
    value: `${on.toFixed(2)} / ${off.toFixed(2)} = ${(on / off).toFixed(2)}x (${on >= off ? '+' : ''}${(on - off).toFixed(2)} ms)`,
  }));
  for (const [call, micros] of Object.entries(await authorizationMicros(cloud))) {
    rows.push({
      benchmark: 'local cloud',
      metric: `IAM authorization alone, ${call}, in process (µs per request)`,
      value: micros.toFixed(1),
    });
  }
  return rows;
}
