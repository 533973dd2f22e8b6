/**
 * One uploader cannot reach another's images: each build works with credentials of its own session
 * (BuildSessionRole assumed with a session policy naming its object and repository), enforced by
 * the local IAM on the packaged template. A Dockerfile FROM another managed repository is refused;
 * the build's session can neither read nor push another repository.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextKey } from '../../functions/shared/naming.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import {
  clientsFor,
  keyPrefixOf,
  readExamples,
  type SentUpload,
  sendContext,
  tarballOf,
  waitForOutcome,
} from '../../local/uploads.ts';

const root = new URL('../../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'build-session-e2e-'));
let cloud: LocalCloud;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  cloud = await startLocalCloud({ basePort: 0, dataDir: join(work, 'cloud') });
  await installBaseImage(cloud);
  clients = clientsFor(cloud);
}, 300_000);
afterAll(async () => {
  clients?.s3.destroy();
  clients?.codebuild.destroy();
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function upload(dir: string, repository: string, tag: string, metadata: Record<string, string> = {}) {
  const body = await tarballOf(dir);
  return sendContext(
    clients.s3,
    cloud.bucket,
    contextKey(keyPrefixOf(cloud), repository, tag),
    body,
    metadata,
  );
}

async function built(up: SentUpload) {
  const outcome = await waitForOutcome(cloud, clients, keyPrefixOf(cloud), up, 240_000);
  if (outcome.kind !== 'built') throw new Error(`no build: ${JSON.stringify(outcome)}`);
  const log = await (await fetch(`${cloud.endpoint}/_local/builds/${outcome.build.id}/log`)).text();
  return { status: outcome.build.buildStatus, log, digest: outcome.digest };
}

const example = (name: string) => {
  const found = readExamples().find((e) => e.name === name);
  if (!found) throw new Error(`no example ${name}`);
  return found;
};

describe('a build works with credentials scoped to its own upload', () => {
  it('builds into its own repository, and refuses a Dockerfile FROM another managed repository', async () => {
    const victim = await built(
      await upload(example('run-steps').dir, 'team-b/secret', 'v1', example('run-steps').metadata),
    );
    expect(victim.status, victim.log).toBe('SUCCEEDED');
    expect(victim.log).toMatch(/session [\w.-]+: team-b\/secret and s3:\/\/\S+ only/);

    const context = join(work, 'thief');
    mkdirSync(context);
    writeFileSync(join(context, 'Dockerfile'), `FROM ${cloud.registry}/team-b/secret:v1\nRUN true\n`);
    const thief = await built(await upload(context, 'team-a/thief', 'v1'));
    expect(thief.status).toBe('FAILED');
    expect(thief.log).toContain(
      `ecr-pipeline: pulling ${cloud.registry}/team-b/secret from this account's ECR registry was denied`,
    );
    const denied = cloud.iamReport().find((r) => r.role === 'BuildSessionRole')?.denied ?? [];
    expect(denied).toContainEqual(
      expect.objectContaining({
        action: 'ecr:BatchGetImage',
        resource: `arn:aws:ecr:${cloud.region}:123456789012:repository/team-b/secret`,
      }),
    );
  }, 480_000);

  it("gives the build's session a registry password that cannot read or push another repository", async () => {
    const up = await upload(example('run-steps').dir, 'team-a/app', 'v1', example('run-steps').metadata);
    const own = await built(up);
    expect(own.status, own.log).toBe('SUCCEEDED');
    const sessionRole = cloud.deployment.iam.roles.find((r) => r.logicalId === 'BuildSessionRole');
    if (!sessionRole) throw new Error('the stack has no BuildSessionRole');
    // The bundled program, as the build runs it, with the build's own credentials.
    const dir = join(work, 'session');
    mkdirSync(dir);
    // Asynchronously: the gateway it calls runs in this process.
    await promisify(execFile)('node', [join(root, 'dist/build-session/build-session.mjs'), dir], {
      env: {
        PATH: process.env.PATH ?? '',
        ...cloud.buildEnv,
        BUILD_SESSION_ROLE_ARN: sessionRole.arn,
        BASE_PULL_PATTERN: '',
        CONTEXT_BUCKET: cloud.bucket,
        CONTEXT_KEY: up.key,
        CONTEXT_VERSION_ID: up.versionId ?? '',
        CONTEXT_ETAG: up.eTag?.replace(/"/g, '') ?? '',
        IMAGE_REPOSITORY: 'team-a/app',
        CODEBUILD_BUILD_ID: 'ecr-pipeline-dev:e2e',
      },
    });
    const password = readFileSync(join(dir, 'registry-password'), 'utf8');
    const auth = { authorization: `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}` };
    const registry = (method: string, path: string, body?: string) =>
      fetch(`http://${cloud.registry}${path}`, {
        method,
        headers: {
          ...auth,
          // The registry answers an OCI manifest only to a client that accepts one.
          accept:
            'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
        },
        ...(body !== undefined ? { body } : {}),
      }).then((r) => r.status);
    // Its own repository: readable (the image the build pushed by digest; the tag is the release's).
    expect(await registry('GET', `/v2/team-a/app/manifests/${own.digest}`)).toBe(200);
    // Another managed repository: neither readable nor writable.
    expect([401, 403]).toContain(await registry('GET', '/v2/team-b/secret/manifests/v1'));
    expect([401, 403]).toContain(await registry('PUT', '/v2/team-b/secret/manifests/poisoned', '{}'));
    expect([401, 403]).toContain(await registry('POST', '/v2/team-b/secret/blobs/uploads/'));
    const denied = cloud.iamReport().find((r) => r.role === 'BuildSessionRole')?.denied ?? [];
    expect(denied).toContainEqual(expect.objectContaining({ action: 'ecr:PutImage' }));
  }, 480_000);
});
