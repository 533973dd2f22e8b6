/**
 * What enforcing the template's IAM costs per request: the same calls, signed with the build-trigger
 * role's credentials (as the function makes them), through a local cloud with enforcement on and
 * one with it off, median per call and the ratio. The calls are those of every upload: a
 * repository-scoped ECR read (the authorizer also reads the repository's tags) and an S3 write and
 * read of an upload record.
 */
import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LocalCloud } from '../local/cloud.ts';

const CALLS = 60;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

type Calls = Record<string, () => Promise<unknown>>;

/** The calls of every upload, made as the build-trigger role of `cloud`; the repository set up as admin. */
async function roleCalls(cloud: LocalCloud): Promise<{ calls: Calls; close: () => void }> {
  const fn = cloud.deployment.functions.find((f) => f.key === 'buildTrigger');
  if (!fn) throw new Error('no buildTrigger function');
  const env = fn.env;
  const credentials = {
    accessKeyId: String(env.AWS_ACCESS_KEY_ID),
    secretAccessKey: String(env.AWS_SECRET_ACCESS_KEY),
    sessionToken: env.AWS_SESSION_TOKEN,
  };
  const config = { region: cloud.region, endpoint: cloud.endpoint };
  const admin = new ECRClient({ ...config, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const repositoryName = 'bench/iam-cost';
  await admin.send(
    new CreateRepositoryCommand({
      repositoryName,
      tags: [{ Key: 'ecr-pipeline:managed-by', Value: cloud.deployment.stackName }],
    }),
  );
  admin.destroy();
  const ecr = new ECRClient({ ...config, credentials });
  const s3 = new S3Client({ ...config, credentials, forcePathStyle: true });
  const recordKey = `${env.KEY_PREFIX ?? ''}.ecr-pipeline/uploads/bench-iam-cost.json`;
  const calls: Calls = {
    'ECR DescribeImages': () => ecr.send(new DescribeImagesCommand({ repositoryName })),
    'S3 PutObject (record)': () =>
      s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: recordKey, Body: '{}' })),
    'S3 GetObject (record)': () =>
      s3
        .send(new GetObjectCommand({ Bucket: cloud.bucket, Key: recordKey }))
        .then((r) => r.Body?.transformToString()),
  };
  const close = () => {
    ecr.destroy();
    s3.destroy();
  };
  return { calls, close };
}

const timed = async (call: () => Promise<unknown>) => {
  const t0 = performance.now();
  await call();
  return performance.now() - t0;
};

/**
 * Median milliseconds of each call with enforcement on (`enforced`) and off (`open`), the two
 * clouds' calls interleaved one by one so that the machine's load weighs on both alike.
 */
export async function requestLatencies(
  enforced: LocalCloud,
  open: LocalCloud,
): Promise<Record<string, { on: number; off: number }>> {
  const on = await roleCalls(enforced);
  const off = await roleCalls(open);
  const medians: Record<string, { on: number; off: number }> = {};
  try {
    for (const [name, call] of Object.entries(on.calls)) {
      const other = off.calls[name] as () => Promise<unknown>;
      await call(); // warm the connections
      await other();
      const times = { on: [] as number[], off: [] as number[] };
      for (let i = 0; i < CALLS; i++) {
        times.on.push(await timed(call));
        times.off.push(await timed(other));
      }
      medians[name] = { on: median(times.on), off: median(times.off) };
    }
  } finally {
    on.close();
    off.close();
  }
  return medians;
}

export const IAM_CALLS = CALLS;
