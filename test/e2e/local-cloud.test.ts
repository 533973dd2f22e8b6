/**
 * The pipeline on the local cloud: the packaged stack deployed into moto, the bundled handlers
 * invoked by real S3 notifications and EventBridge rules, notifications landing in the sinks. Also
 * pins the moto departures the local cloud corrects, by asking moto directly and the gateway.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_TAGS } from '../../functions/shared/contract.ts';
import { wildcardToRegExp } from '../../functions/shared/wildcard.ts';
import { BASE_IMAGE_REPOSITORY } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { LOCAL_STACK_PARAMS, LOCAL_TEMPLATE } from '../../local/package.ts';
import { tarballOf } from '../../local/uploads.ts';
import { ACCOUNT_ID } from '../../shared/local-cloud.ts';

const work = mkdtempSync(join(tmpdir(), 'local-cloud-'));
const TRIVY_REPORT = {
  Results: [{ Vulnerabilities: [{ Severity: 'HIGH' }, { Severity: 'CRITICAL' }, { Severity: 'HIGH' }] }],
};
let cloud: LocalCloud;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const config = () => ({ region: cloud.region, endpoint: cloud.endpoint, credentials });
const motoConfig = () => ({
  region: cloud.region,
  endpoint: `http://127.0.0.1:${cloud.ports.moto}`,
  credentials,
});

type S3Record = {
  eventTime: string;
  eventName: string;
  s3: {
    bucket: { name: string };
    object: { key: string; size: number; eTag: string; versionId?: string; sequencer?: string };
  };
};

/** A gzipped build context with one Dockerfile. */
async function context(): Promise<Buffer> {
  const dir = mkdtempSync(join(work, 'ctx-'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCMD ["echo", "hello"]\n');
  return tarballOf(dir);
}

/** The registry's Basic authorization from GetAuthorizationToken, as `docker login` would send it. */
async function basicAuth(): Promise<string> {
  const token = await new ECRClient(config()).send(new GetAuthorizationTokenCommand({}));
  return `Basic ${token.authorizationData?.[0]?.authorizationToken}`;
}

/** Pushes a tiny image with the registry HTTP API, as a client that speaks it would. */
async function pushImage(repository: string, tag: string): Promise<string> {
  const authorization = await basicAuth();
  const base = `http://${cloud.registry}/v2/${repository}`;
  const blob = async (body: Buffer) => {
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const started = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers: { authorization } });
    expect(started.status).toBe(202);
    const location = new URL(String(started.headers.get('location')), `http://${cloud.registry}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', headers: { authorization }, body });
    expect(put.status).toBe(201);
    return { digest, size: body.length };
  };
  const layer = await blob(Buffer.from(`layer of ${repository}:${tag} ${Date.now()}`));
  const configBlob = await blob(
    Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    ),
  );
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
  });
  const put = await fetch(`${base}/manifests/${tag}`, {
    method: 'PUT',
    headers: { authorization, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  expect(put.status).toBe(201);
  return `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
}

beforeAll(async () => {
  // A stand-in for trivy with a fixed report: the scan-on-push wiring is what is tested here.
  const bin = join(work, 'bin');
  const { mkdirSync, chmodSync } = await import('node:fs');
  mkdirSync(bin);
  writeFileSync(join(work, 'trivy-report.json'), JSON.stringify(TRIVY_REPORT));
  writeFileSync(
    join(bin, 'trivy'),
    `#!/bin/sh\necho "$@" >> "${join(work, 'trivy-args')}"\necho "$TRIVY_USERNAME:$TRIVY_PASSWORD" >> "${join(work, 'trivy-credentials')}"\ncat "${join(work, 'trivy-report.json')}"\n`,
  );
  chmodSync(join(bin, 'trivy'), 0o755);
  process.env.PATH = `${bin}:${process.env.PATH}`;
  cloud = await startLocalCloud({
    basePort: 0, // ports the kernel picks: never held by another program's closed connections
    dataDir: join(work, 'cloud'),
    scheduleIntervalMs: 0,
    retryDelaysMs: [200, 400],
  });
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the deployed stack', () => {
  it('is packaged with basePullPattern covering the base image the local cloud installs, as a user would', () => {
    const template = JSON.parse(readFileSync(LOCAL_TEMPLATE, 'utf8'));
    const pattern = LOCAL_STACK_PARAMS.basePullPattern ?? '';
    expect(wildcardToRegExp(pattern).test(BASE_IMAGE_REPOSITORY)).toBe(true);
    expect(template.Conditions.PullsBaseImages).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [pattern, ''] }] });
    // The build's repository rights are on the role its session assumes (the policy's ceiling).
    expect(JSON.stringify(template.Resources.BuildSessionRole)).toContain(`repository/${pattern}`);
  });
});

describe('an upload through the local cloud', () => {
  let versionId: string | undefined;

  it('reaches the bundled build-trigger handler with the record as S3 shapes it', async () => {
    // No forcePathStyle: with an IP address as endpoint the SDK makes path-style requests itself,
    // as the bundled handlers do with AWS_ENDPOINT_URL.
    const s3 = new S3Client(config());
    const put = await s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: 'team/my-app/v1.tar.gz', Body: await context() }),
    );
    versionId = put.VersionId;
    expect(versionId).toBeTruthy();

    const invocation = await cloud.sinks.waitFor(() =>
      cloud.invocations.find(
        (i) =>
          i.functionName === 'buildTrigger' &&
          (i.event as { Records: S3Record[] }).Records[0]?.s3.object.key === 'team/my-app/v1.tar.gz' &&
          ('result' in i || 'error' in i),
      ),
    );
    expect(invocation.error).toBeUndefined();
    const [record] = (invocation.event as { Records: S3Record[] }).Records;
    expect(record).toMatchObject({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      awsRegion: cloud.region,
      s3: {
        bucket: { name: cloud.bucket, arn: `arn:aws:s3:::${cloud.bucket}` },
        object: { key: 'team/my-app/v1.tar.gz', versionId, eTag: put.ETag?.replace(/"/g, '') },
      },
    });
    expect(record?.s3.object.sequencer).toMatch(/^[0-9A-F]{16,}$/);
    expect(record?.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('creates the repository in the local ECR and starts a build of the uploaded version', async () => {
    const ecr = new ECRClient(config());
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/my-app'] }));
    expect(described.repositories?.[0]?.repositoryUri).toBe(`${cloud.registry}/team/my-app`);

    const codebuild = new CodeBuildClient(config());
    const ids = await codebuild.send(new ListBuildsForProjectCommand({ projectName: cloud.projectName }));
    expect(ids.ids?.length).toBeGreaterThanOrEqual(1);
    const builds = await codebuild.send(new BatchGetBuildsCommand({ ids: ids.ids ?? [] }));
    const variables = builds.builds?.flatMap((b) => b.environment?.environmentVariables ?? []) ?? [];
    expect(variables).toContainEqual(
      expect.objectContaining({ name: 'IMAGE_REPOSITORY', value: 'team/my-app' }),
    );
    expect(variables).toContainEqual(expect.objectContaining({ name: 'IMAGE_TAG', value: 'v1' }));
    expect(variables).toContainEqual(
      expect.objectContaining({ name: 'CONTEXT_VERSION_ID', value: versionId }),
    );
  });

  it('refuses an invalid upload and the rejection reaches Slack and SNS', async () => {
    const s3 = new S3Client(config());
    await s3.send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: 'team/my app/v1.tar.gz', Body: await context() }),
    );
    const invocation = await cloud.sinks.waitFor(() =>
      cloud.invocations.find(
        (i) => (i.event as { Records?: S3Record[] }).Records?.[0]?.s3.object.key === 'team/my+app/v1.tar.gz',
      ),
    );
    expect(invocation.functionName).toBe('buildTrigger');
    const slack = await cloud.sinks.waitFor(() =>
      cloud.sinks.slack.find((m) => JSON.stringify(m.body).includes('team/my app/v1.tar.gz')),
    );
    expect(JSON.stringify(slack.body)).toContain('InvalidRepositoryName');
    const sns = await cloud.sinks.waitFor(() =>
      cloud.sinks.sns.find((m) => m.message.includes('team/my app/v1.tar.gz')),
    );
    expect(sns.subject).toBeTruthy();
  });

  /** Uploads a context and waits for build-trigger to have handled it. */
  async function uploadAndWait(key: string): Promise<void> {
    await new S3Client(config()).send(
      new PutObjectCommand({ Bucket: cloud.bucket, Key: key, Body: await context() }),
    );
    const invocation = await cloud.sinks.waitFor(() =>
      cloud.invocations.find(
        (i) =>
          i.functionName === 'buildTrigger' &&
          (i.event as { Records?: S3Record[] }).Records?.[0]?.s3.object.key === key &&
          ('result' in i || 'error' in i),
      ),
    );
    expect(invocation.error).toBeUndefined();
  }

  it('refuses an upload into an existing repository the stack did not create, and leaves it as it was', async () => {
    const ecr = new ECRClient(config());
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'other-team/api' }));
    await uploadAndWait('other-team/api/latest.tar.gz');

    const slack = await cloud.sinks.waitFor(() =>
      cloud.sinks.slack.find((m) => JSON.stringify(m.body).includes('other-team/api/latest.tar.gz')),
    );
    expect(JSON.stringify(slack.body)).toContain('RepositoryNotManaged');
    expect(JSON.stringify(slack.body)).toContain('adoptRepositoryPattern');
    const tags = await ecr.send(
      new ListTagsForResourceCommand({ resourceArn: created.repository?.repositoryArn ?? '' }),
    );
    expect(tags.tags ?? []).toEqual([]);
  });

  it("removes the sweeper's stale mark, and only it, when it builds into a marked repository", async () => {
    const ecr = new ECRClient(config());
    const managedBy = { Key: REPOSITORY_TAGS.managedBy, Value: cloud.deployment.stackName };
    // As the stack created it, and the sweeper marked it since.
    const created = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'team/marked',
        tags: [managedBy, { Key: REPOSITORY_TAGS.staleSince, Value: '2026-01-01' }],
      }),
    );
    await uploadAndWait('team/marked/v1.tar.gz');

    const tags = await ecr.send(
      new ListTagsForResourceCommand({ resourceArn: created.repository?.repositoryArn ?? '' }),
    );
    expect(tags.tags).toEqual([managedBy]);
  });
});

describe('an image push', () => {
  it('emits the ECR event that reaches the bundled ecr-events handler, whose messages land in the sinks', async () => {
    await new ECRClient(config()).send(new CreateRepositoryCommand({ repositoryName: 'team/pushed' }));
    const digest = await pushImage('team/pushed', 'v7');

    const invocation = await cloud.sinks.waitFor(() =>
      cloud.invocations.find(
        (i) => i.functionName === 'ecrEvents' && JSON.stringify(i.event).includes(digest) && 'result' in i,
      ),
    );
    expect(invocation.event).toMatchObject({
      version: '0',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: ACCOUNT_ID,
      region: cloud.region,
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': 'team/pushed',
        'image-digest': digest,
        'action-type': 'PUSH',
        'image-tag': 'v7',
      },
    });
    // An upload's outcome is told once, by its release; a push by hand is heard but not notified by
    // default (notifyEvents has no image-push): the handler takes it without error and sends nothing.
    expect(invocation.error).toBeUndefined();
    expect(cloud.sinks.slack.some((m) => JSON.stringify(m.body).includes('team/pushed:v7'))).toBe(false);
    expect(cloud.sinks.sns.some((m) => m.message.includes('team/pushed:v7'))).toBe(false);
  });

  it('is scanned on push by the installed scanner, whose counts reach ECR, the bus and Slack', async () => {
    const ecr = new ECRClient(config());
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'team/scanned',
        imageScanningConfiguration: { scanOnPush: true },
      }),
    );
    const digest = await pushImage('team/scanned', 'v1');
    const invocation = await cloud.sinks.waitFor(() =>
      cloud.invocations.find(
        (i) =>
          (i.event as { 'detail-type'?: string })['detail-type'] === 'ECR Image Scan' &&
          JSON.stringify(i.event).includes(digest),
      ),
    );
    expect(invocation.event).toMatchObject({
      source: 'aws.ecr',
      resources: [`arn:aws:ecr:${cloud.region}:${ACCOUNT_ID}:repository/team/scanned`],
      detail: {
        'scan-status': 'COMPLETE',
        'repository-name': 'team/scanned',
        'image-digest': digest,
        'image-tags': ['v1'],
        'finding-severity-counts': { HIGH: 2, CRITICAL: 1 },
      },
    });
    const args = readFileSync(join(work, 'trivy-args'), 'utf8');
    expect(args).toContain(`${cloud.registry}/team/scanned@${digest}`);
    // The registry credentials reach trivy through its environment, never on its command line.
    const credentials = Buffer.from((await basicAuth()).replace(/^Basic /, ''), 'base64').toString();
    expect(readFileSync(join(work, 'trivy-credentials'), 'utf8')).toContain(credentials);
    expect(args).not.toContain(credentials.replace(/^AWS:/, ''));
    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: 'team/scanned' }));
    expect(described.imageDetails?.[0]?.imageScanFindingsSummary?.findingSeverityCounts).toEqual({
      HIGH: 2,
      CRITICAL: 1,
    });
    expect(described.imageDetails?.[0]?.imageScanStatus?.status).toBe('COMPLETE');
    await cloud.sinks.waitFor(() =>
      cloud.sinks.slack.find(
        (m) => JSON.stringify(m.body).includes('team/scanned') && JSON.stringify(m.body).includes('CRITICAL'),
      ),
    );
  });

  it('runs the scheduled sweep on demand', async () => {
    const before = cloud.invocations.length;
    await cloud.fireSchedule('ecrEvents');
    const sweep = cloud.invocations.slice(before).find((i) => i.functionName === 'ecrEvents');
    expect(sweep?.event).toMatchObject({ 'detail-type': 'Scheduled Event', source: 'aws.events' });
    expect(sweep?.error).toBeUndefined();
  });
});

describe('moto departures the local cloud corrects', () => {
  it('moto encodes "/" in notification keys as %2F and gives no versionId or sequencer; the handler got S3s shape', async () => {
    const s3 = new S3Client({ ...motoConfig(), forcePathStyle: true });
    const sqs = new SQSClient(motoConfig());
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'departure-s3' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'departure-bucket' }));
    await s3.send(
      new PutBucketVersioningCommand({
        Bucket: 'departure-bucket',
        VersioningConfiguration: { Status: 'Enabled' },
      }),
    );
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: 'departure-bucket',
        NotificationConfiguration: {
          QueueConfigurations: [
            {
              QueueArn: `arn:aws:sqs:${cloud.region}:${ACCOUNT_ID}:departure-s3`,
              Events: ['s3:ObjectCreated:*'],
            },
          ],
        },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'departure-bucket', Key: 'a/b c.tar.gz', Body: 'x' }));
    const messages = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10 }),
    );
    const bodies = (messages.Messages ?? []).map((m) => JSON.parse(String(m.Body)));
    expect(bodies[0]).toMatchObject({ Event: 's3:TestEvent' });
    const object = bodies[1]?.Records?.[0]?.s3?.object;
    expect(object.key).toBe('a%2Fb+c.tar.gz');
    expect(object.versionId).toBeUndefined();
    expect(object.sequencer).toBeUndefined();
  });

  it('moto names the AWS registry host in repositoryUri; the gateway names the local registry', async () => {
    await new ECRClient(motoConfig()).send(new CreateRepositoryCommand({ repositoryName: 'departure/uri' }));
    const raw = await new ECRClient(motoConfig()).send(
      new DescribeRepositoriesCommand({ repositoryNames: ['departure/uri'] }),
    );
    expect(raw.repositories?.[0]?.repositoryUri).toBe(
      `${ACCOUNT_ID}.dkr.ecr.${cloud.region}.amazonaws.com/departure/uri`,
    );
    const local = await new ECRClient(config()).send(
      new DescribeRepositoriesCommand({ repositoryNames: ['departure/uri'] }),
    );
    expect(local.repositories?.[0]?.repositoryUri).toBe(`${cloud.registry}/departure/uri`);
  });

  it('moto gives an authorization token that expired in 2015; the gateway gives one valid for 12 hours', async () => {
    const raw = await new ECRClient(motoConfig()).send(new GetAuthorizationTokenCommand({}));
    expect(raw.authorizationData?.[0]?.expiresAt?.getTime()).toBeLessThan(Date.now());
    const local = await new ECRClient(config()).send(new GetAuthorizationTokenCommand({}));
    const expires = local.authorizationData?.[0]?.expiresAt?.getTime() ?? 0;
    expect(expires).toBeGreaterThan(Date.now() + 11 * 3600_000);
    expect(local.authorizationData?.[0]?.proxyEndpoint).toBe(`http://${cloud.registry}`);
  });

  it('moto delivers EventBridge events to SQS without "account"; the handler gets it', async () => {
    const sqs = new SQSClient(motoConfig());
    const events = new EventBridgeClient(motoConfig());
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: 'departure-events' }));
    await events.send(
      new PutRuleCommand({ Name: 'departure-events', EventPattern: '{"source":["departure.test"]}' }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'departure-events',
        Targets: [{ Id: 'q', Arn: `arn:aws:sqs:${cloud.region}:${ACCOUNT_ID}:departure-events` }],
      }),
    );
    await events.send(
      new PutEventsCommand({ Entries: [{ Source: 'departure.test', DetailType: 'x', Detail: '{}' }] }),
    );
    const messages = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.QueueUrl }));
    expect(JSON.parse(String(messages.Messages?.[0]?.Body))).not.toHaveProperty('account');
    const delivered = cloud.invocations.find(
      (i) => i.functionName === 'ecrEvents' && (i.event as { source?: string }).source === 'aws.ecr',
    );
    expect(delivered?.event).toHaveProperty('account', ACCOUNT_ID);
  });

  it('moto records PutImage without imageDigest under a digest that is not the manifest’s; the front passes it', async () => {
    const moto = new ECRClient(motoConfig());
    await moto.send(new CreateRepositoryCommand({ repositoryName: 'departure/digest' }));
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${'1'.repeat(64)}`,
        size: 2,
      },
      layers: [],
    });
    const put = await moto.send(
      new PutImageCommand({ repositoryName: 'departure/digest', imageManifest: manifest, imageTag: 'x' }),
    );
    expect(put.image?.imageId?.imageDigest).not.toBe(
      `sha256:${createHash('sha256').update(manifest).digest('hex')}`,
    );
    // Pushed through the front, DescribeImages has the digest the registry computed (see the push test).
    const pushed = await new ECRClient(config()).send(
      new DescribeImagesCommand({ repositoryName: 'team/pushed' }),
    );
    const stored = await fetch(`http://${cloud.registry}/v2/team/pushed/manifests/v7`, {
      headers: { authorization: await basicAuth(), accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(pushed.imageDetails?.[0]?.imageDigest).toBe(stored.headers.get('docker-content-digest'));
  });

  it('moto drops the image a moved tag leaves; ECR, and the local cloud, keep it untagged', async () => {
    const moto = new ECRClient(motoConfig());
    await moto.send(new CreateRepositoryCommand({ repositoryName: 'departure/retag' }));
    const manifest = (n: number) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: `sha256:${String(n).repeat(64)}`,
          size: 2,
        },
        layers: [],
      });
    for (const n of [1, 2]) {
      const m = manifest(n);
      await moto.send(
        new PutImageCommand({
          repositoryName: 'departure/retag',
          imageManifest: m,
          imageDigest: `sha256:${createHash('sha256').update(m).digest('hex')}`,
          imageTag: 'latest',
        }),
      );
    }
    const raw = await moto.send(new DescribeImagesCommand({ repositoryName: 'departure/retag' }));
    expect(raw.imageDetails).toHaveLength(1);

    // Through the registry front, into a MUTABLE repository: both images, the first one untagged.
    const first = await pushImage('team/pushed', 'moving');
    const second = await pushImage('team/pushed', 'moving');
    const local = await new ECRClient(config()).send(
      new DescribeImagesCommand({ repositoryName: 'team/pushed' }),
    );
    const byDigest = new Map(local.imageDetails?.map((d) => [d.imageDigest, d.imageTags ?? []]));
    expect(byDigest.get(second)).toEqual(['moving']);
    expect(byDigest.get(first)).toEqual([]);
  });

  it('moto records an image size that is not the sum of its layers; DescribeImages through the gateway is', async () => {
    const v7 = { repositoryName: 'team/pushed', imageIds: [{ imageTag: 'v7' }] };
    const raw = await new ECRClient(motoConfig()).send(new DescribeImagesCommand(v7));
    const local = await new ECRClient(config()).send(new DescribeImagesCommand(v7));
    const layerSize = `layer of team/pushed:v7 `.length + String(Date.now()).length;
    expect(local.imageDetails?.[0]?.imageSizeInBytes).toBe(layerSize);
    expect(raw.imageDetails?.[0]?.imageSizeInBytes).not.toBe(layerSize);
  });
});
