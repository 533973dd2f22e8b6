/**
 * Uploads become images for real: the local cloud (moto, the registry front, the bundled functions)
 * with the local CodeBuild running buildspec/buildspec.yml with podman.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_MANIFEST_LIST, OCI_INDEX } from '../../functions/shared/media-types.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { slackText } from '../../local/sinks.ts';
import {
  buildsOf,
  clientsFor,
  keyPrefixOf,
  podmanManifestInspect,
  readExamples,
  registryPassword,
  type SentUpload,
  skopeoInspect,
  tarballOf,
  waitForOutcome,
} from '../../local/uploads.ts';
import { FINAL_STATUSES, localEcr, recordOnce, uploadDir } from './helpers.ts';

const examples = Object.fromEntries(readExamples().map((example) => [example.name, example]));
const example = (name: string) => {
  const found = examples[name];
  if (!found) throw new Error(`no example ${name}`);
  return found;
};

let cloud: LocalCloud;
let clients: ReturnType<typeof clientsFor>;
let ecr: ECRClient;
let prefix: string;
let password: string;

beforeAll(async () => {
  // Port 0: the kernel picks free ports (a fixed one in the ephemeral range can be briefly held).
  cloud = await startLocalCloud({ basePort: 0 });
  await installBaseImage(cloud);
  clients = clientsFor(cloud);
  prefix = keyPrefixOf(cloud);
  ecr = localEcr(cloud, clients.s3.config.credentials);
  password = await registryPassword(ecr);
});

afterAll(async () => {
  ecr?.destroy();
  clients?.s3.destroy();
  clients?.codebuild.destroy();
  await cloud?.stop();
});

const upload = (
  dir: string,
  repository: string,
  tag: string,
  metadata: Record<string, string> = {},
  extra: Record<string, string> = {},
) => uploadDir({ cloud, clients, prefix }, dir, { repository, tag }, metadata, extra);

/** The upload's record once final: ecr-events writes the outcome on the build's last state event. */
const finalRecord = (up: SentUpload, timeoutMs = 60_000) =>
  recordOnce({ cloud, clients, prefix }, up, FINAL_STATUSES, timeoutMs);

const slackTexts = () => cloud.sinks.slack.map((message) => slackText(message.body));

/** The S3 ObjectCreated event AWS would deliver for this upload (key encoded as S3 encodes it). */
function s3Event(up: SentUpload, size: number) {
  const key = encodeURIComponent(up.key).replace(/%2F/g, '/').replace(/%20/g, '+');
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: cloud.region,
        eventTime: new Date(up.uploadedAt).toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: {
          'x-amz-request-id': 'C3D13FE58DE4C810',
          'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'duplicate-delivery',
          bucket: {
            name: cloud.bucket,
            ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
            arn: `arn:aws:s3:::${cloud.bucket}`,
          },
          object: {
            key,
            size,
            eTag: up.eTag?.replace(/"/g, ''),
            ...(up.versionId ? { versionId: up.versionId } : {}),
            sequencer: '0055AED6DCD90281E5',
          },
        },
      },
    ],
  };
}

describe('builds through the local cloud', () => {
  it('turns an upload into an image that skopeo can pull, with labels that trace it to the upload', async () => {
    const up = await upload(example('run-steps').dir, 'e2e/greeter', 'v1', example('run-steps').metadata);
    const outcome = await waitForOutcome(cloud, clients, prefix, up);
    expect(outcome.kind).toBe('built');
    if (outcome.kind !== 'built') return;
    expect(outcome.build.buildStatus).toBe('SUCCEEDED');
    expect(outcome.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The build pushed by digest; the release function moves the tag (PutImage, made real in the
    // registry by the local cloud) once the release record says so.
    expect((await finalRecord(up)).status).toBe('released');

    const image = await skopeoInspect(`${cloud.registry}/e2e/greeter:v1`, password);
    expect(image.Digest).toBe(outcome.digest);
    expect(image.Labels).toMatchObject({
      'org.opencontainers.image.source': `s3://${cloud.bucket}/${up.key}`,
      'org.opencontainers.image.version': 'v1',
      'ecr-pipeline.context.uri': `s3://${cloud.bucket}/${up.key}`,
      'ecr-pipeline.context.version-id': up.versionId ?? '',
    });
    const described = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'e2e/greeter', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(described.imageDetails?.[0]?.imageDigest).toBe(outcome.digest);
    await cloud.sinks.waitFor(
      () => slackTexts().find((text) => text.includes('e2e/greeter:v1') && /released/i.test(text)),
      30_000,
    );
    // The record tells the outcome by itself: released, with the digest the registry has.
    const record = await finalRecord(up);
    expect(record).toMatchObject({
      status: 'released',
      digest: image.Digest,
      repository: 'e2e/greeter',
      tag: 'v1',
    });
    expect(record.buildId).toContain(outcome.build.id ?? 'no build id');
    expect(record.finishedAt).toBeDefined();
  });

  it('builds a duplicate S3 delivery of the same object version once', async () => {
    const dir = example('copy-files').dir;
    const body = await tarballOf(dir);
    const up = await upload(dir, 'e2e/duplicate', 'v1');
    // The notification S3 sent, then the same event delivered twice more (at-least-once delivery).
    await Promise.all([
      cloud.invoke('buildTrigger', s3Event(up, body.length)),
      cloud.invoke('buildTrigger', s3Event(up, body.length)),
    ]);
    const outcome = await waitForOutcome(cloud, clients, prefix, up);
    expect(outcome.kind).toBe('built');
    await cloud.invoke('buildTrigger', s3Event(up, body.length));
    await cloud.idle();
    const builds = await buildsOf(clients.codebuild, cloud.projectName, up);
    expect(builds).toHaveLength(1);
    expect(builds[0]?.buildStatus).toBe('SUCCEEDED');
  });

  it('never overwrites a tag of an immutable repository when two uploads of it race', async () => {
    const dir = example('immutable-tag').dir;
    const [first, second] = await Promise.all([
      upload(dir, 'e2e/immutable', 'v1', {}, { 'upload.txt': 'first\n' }),
      upload(dir, 'e2e/immutable', 'v1', {}, { 'upload.txt': 'second\n' }),
    ]);
    const outcomes = await Promise.all(
      [first, second].map((up) => waitForOutcome(cloud, clients, prefix, up as SentUpload)),
    );
    // Both may build (each pushes by digest, never the tag), or the second be rejected before its
    // build; the release decides which image the tag names, and the tag is never moved again.
    expect(
      outcomes.filter((o) => o.kind === 'built' && o.build.buildStatus === 'SUCCEEDED').length,
    ).toBeGreaterThan(0);
    const raced = await Promise.all([first, second].map((up) => finalRecord(up as SentUpload)));
    expect(raced.map((r) => r.status).sort()).toEqual(
      expect.arrayContaining([expect.stringMatching(/^(superseded|rejected)$/), 'released']),
    );
    const winner = raced.find((r) => r.status === 'released');
    const described = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'e2e/immutable', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(described.imageDetails?.[0]?.imageDigest).toBe(winner?.digest);
    const pulled = await skopeoInspect(`${cloud.registry}/e2e/immutable:v1`, password);
    expect(pulled.Digest).toBe(winner?.digest);

    // A third upload of the tag is refused before any build starts.
    const third = await upload(dir, 'e2e/immutable', 'v1', {}, { 'upload.txt': 'third\n' });
    const late = await waitForOutcome(cloud, clients, prefix, third);
    expect(late).toMatchObject({ kind: 'rejected', record: { code: 'TagAlreadyExists' } });
    const notified = await cloud.sinks.waitFor(
      () =>
        slackTexts().filter(
          (text) =>
            text.includes('e2e/immutable:v1') &&
            /Build failed|Build superseded|Upload rejected|Upload superseded|Release rejected/.test(text),
        ).length >= 2 || undefined,
      30_000,
    );
    expect(notified).toBe(true);
    // The records still tell the same after the third upload: the tag was never moved again.
    const records = await Promise.all([first, second].map((up) => finalRecord(up as SentUpload)));
    expect(records.map((r) => r.status)).toEqual(raced.map((r) => r.status));
  });

  it('reports a failing Dockerfile with a notification whose log link shows the failure', async () => {
    const up = await upload(example('failing-build').dir, 'e2e/failing', 'v1');
    const outcome = await waitForOutcome(cloud, clients, prefix, up);
    expect(outcome.kind === 'built' && outcome.build.buildStatus).toBe('FAILED');
    const message = await cloud.sinks.waitFor(
      () => cloud.sinks.slack.find((m) => slackText(m.body).includes('Build failed: e2e/failing:v1')),
      30_000,
    );
    // The notification links to the build's log stream, a link it makes from the log group and
    // stream rather than the event's deep-link; locally the log itself is served where CodeBuild's
    // description of the build says.
    const build = outcome.kind === 'built' ? outcome.build : undefined;
    const stream = build?.logs?.streamName as string;
    expect(JSON.stringify(message.body)).toContain(
      `#logsV2:log-groups/log-group/${encodeURIComponent(build?.logs?.groupName as string).replace(/%/g, '$25')}/log-events/${encodeURIComponent(stream).replace(/%/g, '$25')}`,
    );
    const link = build?.logs?.deepLink;
    expect(link).toMatch(new RegExp(`^${cloud.endpoint}/_local/builds/[^\\s"<>|)]+/log$`));
    const response = await fetch(link as string);
    expect(response.status).toBe(200);
    const log = await response.text();
    expect(log).toContain('error: configuration missing');
    expect(log).toContain('Phase complete: BUILD State: FAILED');
    // The notification itself shows the failing step's error, read from the build's log stream.
    expect(JSON.stringify(message.body)).toContain('error: configuration missing');
    const sns = await cloud.sinks.waitFor(
      () =>
        cloud.sinks.sns.find(
          (m) => m.message.includes('Build failed') && m.message.includes('e2e/failing:v1'),
        ),
      30_000,
    );
    expect(sns.message).toContain('error: configuration missing');
    // The record says failed, with the same reason and the phase.
    expect(await finalRecord(up)).toMatchObject({
      status: 'failed',
      phase: 'BUILD',
      buildStatus: 'FAILED',
      reason: expect.stringContaining('error: configuration missing'),
    });
  });

  it('builds each platform as its own build and joins them into one index that aws ecr batch-get-image and podman read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecr-pipeline-multi-'));
    try {
      // FROM scratch and COPY only: no RUN step, so the foreign platform builds without an emulator.
      writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
      writeFileSync(join(dir, 'hello.txt'), 'hello\n');
      const up = await upload(dir, 'e2e/multi', 'v1', { platforms: 'linux/amd64,linux/arm64' });
      const record = await finalRecord(up, 240_000);
      expect(record.status, record.reason).toBe('released');
      // Two legs, two builds; this machine has no ARM environment: the arm64 leg is emulated.
      const legs = record.legs ?? [];
      expect(legs.map((leg) => [leg.platform, leg.emulated, leg.environmentType])).toEqual([
        ['linux/amd64', false, 'LINUX_CONTAINER'],
        ['linux/arm64', true, 'LINUX_CONTAINER'],
      ]);
      expect(new Set(legs.map((leg) => leg.buildId)).size).toBe(2);
      const got = await promisify(execFile)(
        'aws',
        [
          'ecr',
          'batch-get-image',
          '--repository-name',
          'e2e/multi',
          '--image-ids',
          'imageTag=v1',
          '--output',
          'json',
        ],
        { env: { ...process.env, ...cloud.env } },
      );
      const image = (
        JSON.parse(got.stdout) as {
          images: {
            imageManifest: string;
            imageManifestMediaType?: string;
            imageId: { imageDigest: string };
          }[];
        }
      ).images[0];
      expect(image?.imageId.imageDigest).toBe(record.digest);
      const index = JSON.parse(image?.imageManifest ?? '{}') as {
        mediaType: string;
        manifests: { digest: string; platform: { architecture: string; os: string } }[];
      };
      expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
      expect(index.manifests.map((m) => [m.platform.os, m.platform.architecture, m.digest])).toEqual([
        ['linux', 'amd64', legs[0]?.digest],
        ['linux', 'arm64', legs[1]?.digest],
      ]);
      // podman reads the same index back from the registry, by the tag.
      const inspected = await podmanManifestInspect(
        cloud.registry,
        `${cloud.registry}/e2e/multi:v1`,
        password,
      );
      // podman 4 prints a remote index in Docker's list type; the registry's own bytes are the OCI
      // index batch-get-image read above. The children, digests and platforms are the same.
      expect([OCI_INDEX, DOCKER_MANIFEST_LIST]).toContain(inspected.mediaType);
      expect(inspected.manifests?.map((m) => [m.platform?.os, m.platform?.architecture, m.digest])).toEqual([
        ['linux', 'amd64', legs[0]?.digest],
        ['linux', 'arm64', legs[1]?.digest],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds one platform as a plain image manifest, never an index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecr-pipeline-one-'));
    try {
      writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
      writeFileSync(join(dir, 'hello.txt'), 'hello\n');
      const up = await upload(dir, 'e2e/one', 'v1', { platforms: 'linux/amd64', 'lambda-safe': 'true' });
      const record = await finalRecord(up, 120_000);
      expect(record.status, record.reason).toBe('released');
      const manifest = await skopeoInspect<{ mediaType?: string; manifests?: unknown }>(
        `${cloud.registry}/e2e/one@${record.digest}`,
        password,
        '--raw',
      );
      expect(manifest.manifests).toBeUndefined();
      expect(manifest.mediaType).not.toMatch(/index|list/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails a context without a Dockerfile with a message that says so', async () => {
    const up = await upload(join(example('missing-dockerfile').dir), 'e2e/no-dockerfile', 'v1');
    const outcome = await waitForOutcome(cloud, clients, prefix, up);
    expect(outcome.kind === 'built' && outcome.build.buildStatus).toBe('FAILED');
    if (outcome.kind !== 'built') return;
    const log = await fetch(outcome.build.logs?.deepLink ?? '').then((r) => r.text());
    expect(log).toContain('ecr-pipeline: no Dockerfile at Dockerfile in the context');
    // Slack and SNS carry the build's own reason, not only "exit status 2".
    const slack = await cloud.sinks.waitFor(
      () =>
        cloud.sinks.slack
          .filter((m) => slackText(m.body).includes('Build failed: e2e/no-dockerfile:v1'))
          .map((m) => JSON.stringify(m.body))[0],
      30_000,
    );
    expect(slack).toContain('*Reason:* no Dockerfile at Dockerfile in the context');
    const sns = await cloud.sinks.waitFor(
      () =>
        cloud.sinks.sns.find(
          (m) => m.message.includes('Build failed') && m.message.includes('e2e/no-dockerfile:v1'),
        ),
      30_000,
    );
    expect(sns.message).toContain('Reason:     no Dockerfile at Dockerfile in the context');
    expect(await finalRecord(up)).toMatchObject({
      status: 'failed',
      phase: 'PRE_BUILD',
      buildStatus: 'FAILED',
      reason: 'no Dockerfile at Dockerfile in the context',
    });
  });
});
