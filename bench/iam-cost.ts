/**
 * What enforcing the template's IAM costs per request: the calls of every upload (a
 * repository-scoped ECR read, for which the authorizer also needs the repository's tags, and an S3
 * write and read of an upload record) made as the build-trigger role, which the local cloud
 * authorizes, and the same calls with the console's credentials, which it lets through unexamined
 * as it lets every request through with `--iam off`. Same cloud, same moto, calls interleaved.
 */

import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { LocalCloud } from '../local/cloud.ts';
import { LocalIam } from '../local/iam/index.ts';
import type { ApiRequest } from '../local/iam/request.ts';
import { ACCOUNT_ID } from '../shared/local-cloud.ts';

const CALLS = 100;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

type Calls = Record<string, () => Promise<unknown>>;
type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** The calls of every upload with these credentials (the repository made once, by the console). */
function callsAs(cloud: LocalCloud, credentials: Credentials, recordKey: string) {
  const config = { region: cloud.region, endpoint: cloud.endpoint, credentials };
  const ecr = new ECRClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const calls: Calls = {
    'ECR DescribeImages': () => ecr.send(new DescribeImagesCommand({ repositoryName: REPOSITORY })),
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

const REPOSITORY = 'bench/iam-cost';

const timed = async (call: () => Promise<unknown>) => {
  const t0 = performance.now();
  await call();
  return performance.now() - t0;
};

/**
 * Median milliseconds of each call made as the build-trigger role (authorized: `on`) and with the
 * console's credentials (let through unexamined, as every request is with `--iam off`: `off`), on
 * the same local cloud, interleaved one by one so that the machine's load weighs on both alike.
 */
export async function requestLatencies(
  cloud: LocalCloud,
): Promise<Record<string, { on: number; off: number }>> {
  const fn = cloud.deployment.functions.find((f) => f.key === 'buildTrigger');
  if (!fn) throw new Error('no buildTrigger function');
  const env = fn.env;
  const console_ = { accessKeyId: 'test', secretAccessKey: 'test' };
  const admin = new ECRClient({ region: cloud.region, endpoint: cloud.endpoint, credentials: console_ });
  const tags = [{ Key: 'ecr-pipeline:managed-by', Value: cloud.deployment.stackName }];
  await admin.send(new CreateRepositoryCommand({ repositoryName: REPOSITORY, tags }));
  admin.destroy();
  const recordKey = `${env.KEY_PREFIX ?? ''}.ecr-pipeline/uploads/bench-iam-cost.json`;
  const role = {
    accessKeyId: String(env.AWS_ACCESS_KEY_ID),
    secretAccessKey: String(env.AWS_SECRET_ACCESS_KEY),
    sessionToken: env.AWS_SESSION_TOKEN,
  };
  const on = callsAs(cloud, role, recordKey);
  const off = callsAs(cloud, console_, recordKey);
  const medians: Record<string, { on: number; off: number }> = {};
  try {
    for (const [name, call] of Object.entries(on.calls)) {
      const other = off.calls[name] as () => Promise<unknown>;
      await call(); // warm the connections
      await other();
      const times = { on: [] as number[], off: [] as number[] };
      // Which goes first alternates: the second of a pair can find moto still busy with the first.
      for (let i = 0; i < CALLS; i++) {
        if (i % 2 === 0) times.on.push(await timed(call));
        times.off.push(await timed(other));
        if (i % 2 === 1) times.on.push(await timed(call));
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

/**
 * The authorization alone, in process (the request mapped, the role's and the resource's policies
 * evaluated, the decision recorded), repository tags known: microseconds per request, mean of `n`.
 */
export async function authorizationMicros(cloud: LocalCloud, n = 10_000): Promise<Record<string, number>> {
  const iam = new LocalIam({
    scope: { region: cloud.region, account: ACCOUNT_ID },
    enforce: true,
    resourceTags: async () => ({ 'ecr-pipeline:managed-by': cloud.deployment.stackName }),
  });
  iam.useModel(cloud.deployment.iam);
  const principal = iam.credentialsOf('function', 'buildTrigger', 'bench');
  if (!principal) throw new Error('no build-trigger role');
  const authorization = `AWS4-HMAC-SHA256 Credential=${principal.accessKeyId}/20261201/${cloud.region}/x/aws4_request`;
  const requests: Record<string, ApiRequest> = {
    'ECR DescribeImages': {
      method: 'POST',
      url: '/',
      headers: { authorization, 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeImages' },
      body: Buffer.from(JSON.stringify({ repositoryName: REPOSITORY })),
    },
    'S3 PutObject (record)': {
      method: 'PUT',
      url: `/${cloud.bucket}/.ecr-pipeline/uploads/bench-iam-cost.json`,
      headers: { authorization: authorization.replace('/x/', '/s3/') },
    },
  };
  const micros: Record<string, number> = {};
  for (const [name, request] of Object.entries(requests)) {
    if (await iam.authorize(request)) throw new Error(`${name} denied`);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await iam.authorize(request);
    micros[name] = ((performance.now() - t0) * 1000) / n;
  }
  return micros;
}
