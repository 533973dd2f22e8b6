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

/** Median milliseconds of each kind of call, made as the build-trigger role. */
export async function requestLatencies(cloud: LocalCloud): Promise<Record<string, number>> {
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
  const ecr = new ECRClient({ ...config, credentials });
  const s3 = new S3Client({ ...config, credentials, forcePathStyle: true });
  const recordKey = `${env.KEY_PREFIX ?? ''}.ecr-pipeline/uploads/bench-iam-cost.json`;
  const calls: Record<string, () => Promise<unknown>> = {
    'ECR DescribeImages': () => ecr.send(new DescribeImagesCommand({ repositoryName })),
    'S3 PutObject (record)': () =>
      s3.send(new PutObjectCommand({ Bucket: cloud.bucket, Key: recordKey, Body: '{}' })),
    'S3 GetObject (record)': () =>
      s3
        .send(new GetObjectCommand({ Bucket: cloud.bucket, Key: recordKey }))
        .then((r) => r.Body?.transformToString()),
  };
  const medians: Record<string, number> = {};
  for (const [name, call] of Object.entries(calls)) {
    await call(); // warm the connection
    const times: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      await call();
      times.push(performance.now() - t0);
    }
    medians[name] = median(times);
  }
  admin.destroy();
  ecr.destroy();
  s3.destroy();
  return medians;
}

export const IAM_CALLS = CALLS;
