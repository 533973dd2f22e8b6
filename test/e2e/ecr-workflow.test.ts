/**
 * The ECR workflow as the AWS documentation gives it, with the real `aws` CLI and podman in the
 * place of docker, against the local cloud: create an IMMUTABLE repository, log in with
 * get-login-password, tag, push, pull, describe, and delete (refused without --force).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { ACCOUNT_ID } from '../../shared/local-cloud.ts';

const REPOSITORY = 'my-project/my-app';
const work = mkdtempSync(join(tmpdir(), 'ecr-workflow-'));
let cloud: LocalCloud;
let env: NodeJS.ProcessEnv;

/**
 * Runs a shell line (pipes as the docs write them) with the local cloud's environment. Asynchronous:
 * the local cloud's gateway and registry front run in this process and must keep answering.
 */
function sh(line: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', line], { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

async function aws(args: string): Promise<unknown> {
  const result = await sh(`aws ${args} --output json`);
  if (result.status !== 0) throw new Error(`aws ${args}: ${result.stderr}`);
  return result.stdout.trim() === '' ? undefined : JSON.parse(result.stdout);
}

const run = (cmd: string, args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(cmd, args, { encoding: 'utf8' }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
  );

/** A tiny image made from busybox-static, no base image and no RUN step needed. */
async function makeImage(name: string, file: string): Promise<void> {
  const container = (await run('buildah', ['from', 'scratch'])).trim();
  try {
    await run('buildah', ['copy', container, '/bin/busybox', file]);
    await run('buildah', ['config', '--cmd', `["${file}","true"]`, container]);
    await run('buildah', ['commit', '-q', container, name]);
  } finally {
    await run('buildah', ['rm', container]);
  }
}

beforeAll(async () => {
  // basePort 0: ports the kernel picks, never held by another program's closed connections.
  cloud = await startLocalCloud({ basePort: 0, dataDir: join(work, 'cloud') });
  // A podman auth file of the test's own, so that the machine's logins are left alone.
  env = { ...process.env, ...cloud.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') };
  await makeImage('localhost/ecr-workflow-test:one', '/bin/busybox');
  await makeImage('localhost/ecr-workflow-test:two', '/bin/sh');
});

afterAll(async () => {
  await cloud?.stop();
  await sh(
    `podman rmi -f localhost/ecr-workflow-test:one localhost/ecr-workflow-test:two; podman images --format '{{.Repository}}:{{.Tag}}' | grep '^${cloud?.registry}/' | xargs -r podman rmi -f`,
  );
  rmSync(work, { recursive: true, force: true });
});

describe('the ECR workflow with the aws CLI and podman', () => {
  let uri: string;
  let pushedDigest: string;
  const events: unknown[] = [];
  const sqs = () =>
    new SQSClient({
      region: cloud.region,
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });

  it('creates an IMMUTABLE repository whose repositoryUri is the local registry', async () => {
    // A rule of the test's own catches the ECR Image Action events the registry emits.
    const clients = {
      region: cloud.region,
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    await sqs().send(new CreateQueueCommand({ QueueName: 'ecr-workflow-events' }));
    const bus = new EventBridgeClient(clients);
    await bus.send(
      new PutRuleCommand({
        Name: 'ecr-workflow-events',
        EventPattern: JSON.stringify({ source: ['aws.ecr'] }),
      }),
    );
    await bus.send(
      new PutTargetsCommand({
        Rule: 'ecr-workflow-events',
        Targets: [{ Id: 'q', Arn: `arn:aws:sqs:${cloud.region}:${ACCOUNT_ID}:ecr-workflow-events` }],
      }),
    );

    const created = (await aws(
      `ecr create-repository --repository-name ${REPOSITORY} --image-tag-mutability IMMUTABLE`,
    )) as { repository: { repositoryUri: string; imageTagMutability: string } };
    uri = created.repository.repositoryUri;
    expect(uri).toBe(`${cloud.registry}/${REPOSITORY}`);
    expect(created.repository.imageTagMutability).toBe('IMMUTABLE');
  });

  it('logs podman in with get-login-password and refuses a wrong password', async () => {
    const registry = uri.split('/')[0];
    const login = await sh(
      `aws ecr get-login-password --region ${cloud.region} | podman login --username AWS --password-stdin --tls-verify=false ${registry}`,
    );
    expect(login.stderr).toBe('');
    expect(login.stdout).toContain('Login Succeeded');
    const wrong = await sh(
      `podman login --username AWS --password not-the-token --tls-verify=false --authfile wrong.json ${registry}`,
    );
    expect(wrong.status).not.toBe(0);
  });

  it('pushes a tagged image and describe-images shows its real digest and size', async () => {
    expect((await sh(`podman tag localhost/ecr-workflow-test:one ${uri}:v1`)).status).toBe(0);
    const push = await sh(`podman push --tls-verify=false --digestfile digest ${uri}:v1`);
    expect(push.stderr).not.toContain('Error');
    expect(push.status).toBe(0);
    pushedDigest = readFileSync(join(work, 'digest'), 'utf8').trim();
    expect(pushedDigest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const described = (await aws(`ecr describe-images --repository-name ${REPOSITORY}`)) as {
      imageDetails: Array<{
        imageDigest: string;
        imageTags: string[];
        imageSizeInBytes: number;
        imagePushedAt: number;
      }>;
    };
    expect(described.imageDetails).toHaveLength(1);
    const [image] = described.imageDetails;
    expect(image?.imageDigest).toBe(pushedDigest);
    expect(image?.imageTags).toEqual(['v1']);
    // The compressed busybox layer: well over the few hundred bytes of a config blob.
    expect(image?.imageSizeInBytes).toBeGreaterThan(100_000);
    expect(image?.imagePushedAt).toBeGreaterThan(Date.now() / 1000 - 600);
  });

  it("emits an ECR Image Action event with exactly AWS's fields and detail (but account, which moto's SQS delivery drops)", async () => {
    const client = sqs();
    const queueUrl = `${cloud.endpoint}/${ACCOUNT_ID}/ecr-workflow-events`;
    for (let i = 0; i < 50 && events.length === 0; i++) {
      const answer = await client.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
      );
      for (const m of answer.Messages ?? []) events.push(JSON.parse(String(m.Body)));
      if (events.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(events[0]).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: cloud.region,
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': REPOSITORY,
        'image-digest': pushedDigest,
        'action-type': 'PUSH',
        'image-tag': 'v1',
      },
    });
  });

  it('refuses to overwrite a tag in the immutable repository', async () => {
    expect((await sh(`podman tag localhost/ecr-workflow-test:two ${uri}:v1`)).status).toBe(0);
    const push = await sh(`podman push --tls-verify=false ${uri}:v1`);
    expect(push.status).not.toBe(0);
    expect(push.stderr).toContain(
      `The image tag 'v1' already exists in the '${REPOSITORY}' repository and cannot be overwritten because the repository is immutable`,
    );
    const described = (await aws(`ecr describe-images --repository-name ${REPOSITORY}`)) as {
      imageDetails: Array<{ imageDigest: string }>;
    };
    expect(described.imageDetails.map((d) => d.imageDigest)).toEqual([pushedDigest]);
  });

  it('refuses a push into a repository that does not exist in ECR', async () => {
    const registry = uri.split('/')[0];
    expect((await sh(`podman tag localhost/ecr-workflow-test:one ${registry}/not/created:v1`)).status).toBe(
      0,
    );
    const push = await sh(`podman push --tls-verify=false ${registry}/not/created:v1`);
    expect(push.status).not.toBe(0);
    expect(push.stderr).toContain("The repository with name 'not/created' does not exist");
  });

  it('pulls the image and records lastRecordedPullTime', async () => {
    await sh(`podman rmi -f ${uri}:v1`);
    const pull = await sh(`podman pull --tls-verify=false ${uri}:v1`);
    expect(pull.status).toBe(0);
    const inspected = await sh(`podman image inspect --format '{{json .RepoDigests}}' ${uri}:v1`);
    expect(JSON.parse(inspected.stdout)).toContain(`${uri}@${pushedDigest}`);
    const described = (await aws(`ecr describe-images --repository-name ${REPOSITORY}`)) as {
      imageDetails: Array<{ lastRecordedPullTime?: number }>;
    };
    expect(described.imageDetails[0]?.lastRecordedPullTime).toBeGreaterThan(Date.now() / 1000 - 600);
  });

  it('put-image puts a tag on a pushed manifest in the registry too: podman pulls it, and batch-delete-image of the tag takes it away', async () => {
    const got = (await aws(
      `ecr batch-get-image --repository-name ${REPOSITORY} --image-ids imageDigest=${pushedDigest}`,
    )) as { images: Array<{ imageManifest: string }> };
    writeFileSync(join(work, 'manifest.json'), String(got.images[0]?.imageManifest));
    await aws(
      `ecr put-image --repository-name ${REPOSITORY} --image-tag release --image-digest ${pushedDigest} --image-manifest file://manifest.json`,
    );
    const tagsOf = async () =>
      (
        (await aws(`ecr describe-images --repository-name ${REPOSITORY}`)) as {
          imageDetails: Array<{ imageDigest: string; imageTags?: string[] }>;
        }
      ).imageDetails.map((d) => ({ digest: d.imageDigest, tags: [...(d.imageTags ?? [])].sort() }));
    expect(await tagsOf()).toEqual([{ digest: pushedDigest, tags: ['release', 'v1'] }]);
    const pull = await sh(`podman pull --tls-verify=false ${uri}:release`);
    expect(pull.stderr).not.toContain('Error');
    expect(pull.status).toBe(0);
    const inspected = await sh(`podman image inspect --format '{{json .RepoDigests}}' ${uri}:release`);
    expect(JSON.parse(inspected.stdout)).toContain(`${uri}@${pushedDigest}`);

    // A manifest whose layer was never pushed: refused as ECR refuses it, and not kept.
    const config = JSON.parse(String(got.images[0]?.imageManifest)) as { config: unknown };
    writeFileSync(
      join(work, 'unpushed.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: config.config,
        layers: [
          {
            mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
            digest: `sha256:${'1'.repeat(64)}`,
            size: 1,
          },
        ],
      }),
    );
    const refused = await sh(
      `aws ecr put-image --repository-name ${REPOSITORY} --image-tag unpushed --image-manifest file://unpushed.json`,
    );
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('LayersNotFoundException');
    expect(await tagsOf()).toEqual([{ digest: pushedDigest, tags: ['release', 'v1'] }]);

    await aws(`ecr batch-delete-image --repository-name ${REPOSITORY} --image-ids imageTag=release`);
    expect(await tagsOf()).toEqual([{ digest: pushedDigest, tags: ['v1'] }]);
    await sh(`podman rmi -f ${uri}:release`);
    const gone = await sh(`podman pull --tls-verify=false ${uri}:release`);
    expect(gone.status).not.toBe(0);
    expect(gone.stderr).toMatch(/manifest unknown|not found|does not exist/i);
    // The image keeps its other tag.
    expect((await sh(`podman pull --tls-verify=false ${uri}:v1`)).status).toBe(0);
  });

  it('describe-repositories lists the repository with its local URI', async () => {
    const described = (await aws('ecr describe-repositories')) as {
      repositories: Array<{ repositoryName: string; repositoryUri: string }>;
    };
    expect(described.repositories).toContainEqual(
      expect.objectContaining({ repositoryName: REPOSITORY, repositoryUri: uri }),
    );
  });

  it('batch-delete-image removes the image from the registry and emits an ECR Image Action DELETE', async () => {
    expect((await sh(`podman tag localhost/ecr-workflow-test:two ${uri}:v2`)).status).toBe(0);
    expect((await sh(`podman push --tls-verify=false --digestfile digest2 ${uri}:v2`)).status).toBe(0);
    const digest = readFileSync(join(work, 'digest2'), 'utf8').trim();
    const deleted = (await aws(
      `ecr batch-delete-image --repository-name ${REPOSITORY} --image-ids imageTag=v2`,
    )) as {
      imageIds: Array<{ imageDigest: string }>;
      failures: unknown[];
    };
    expect(deleted.failures).toEqual([]);
    expect(deleted.imageIds[0]?.imageDigest).toBe(digest);

    const manifest = await fetch(`http://${cloud.registry}/v2/${REPOSITORY}/manifests/${digest}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`AWS:${(await sh('aws ecr get-login-password')).stdout.trim()}`).toString('base64')}`,
      },
    });
    expect(manifest.status).toBe(404);
    const client = sqs();
    const queueUrl = `${cloud.endpoint}/${ACCOUNT_ID}/ecr-workflow-events`;
    let deleteEvent: unknown;
    for (let i = 0; i < 50 && !deleteEvent; i++) {
      const answer = await client.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
      );
      deleteEvent = (answer.Messages ?? [])
        .map((m) => JSON.parse(String(m.Body)))
        .find((e) => e.detail?.['action-type'] === 'DELETE' && e.detail?.['image-tag'] === 'v2');
      if (!deleteEvent) await new Promise((r) => setTimeout(r, 100));
    }
    expect(deleteEvent).toMatchObject({
      'detail-type': 'ECR Image Action',
      detail: {
        result: 'SUCCESS',
        'repository-name': REPOSITORY,
        'image-digest': digest,
        'action-type': 'DELETE',
        'image-tag': 'v2',
      },
    });
  });

  it('refuses delete-repository without --force on a repository with images, then deletes with it', async () => {
    const refused = await sh(`aws ecr delete-repository --repository-name ${REPOSITORY}`);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('RepositoryNotEmptyException');

    const deleted = (await aws(`ecr delete-repository --repository-name ${REPOSITORY} --force`)) as {
      repository: { repositoryName: string };
    };
    expect(deleted.repository.repositoryName).toBe(REPOSITORY);
    // Its images are gone from the registry storage and from the registry.
    expect(existsSync(join(work, 'cloud/registry/docker/registry/v2/repositories', REPOSITORY))).toBe(false);
    await sh(`podman rmi -f ${uri}:v1`);
    const pull = await sh(`podman pull --tls-verify=false ${uri}:v1`);
    expect(pull.status).not.toBe(0);
    expect(pull.stderr).toContain('does not exist');
  });
});
