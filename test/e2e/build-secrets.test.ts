/**
 * Build secrets through the local cloud: an SSM SecureString parameter and a Secrets Manager secret
 * under the stack's buildSecretsPrefix, mounted for a RUN step (`RUN --mount=type=secret`) that
 * writes their sha256 into the image. The values themselves must be in no layer, not in the image's
 * config or history, not in the build log, the upload record, the build's variables or a message.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { ECRClient } from '@aws-sdk/client-ecr';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextKey } from '../../functions/shared/naming.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { slackText } from '../../local/sinks.ts';
import {
  clientsFor,
  keyPrefixOf,
  readRecord,
  registryPassword,
  type SentUpload,
  sendContext,
  tarballOf,
  waitForOutcome,
} from '../../local/uploads.ts';

const PREFIX = '/ecr-pipeline/dev/build-secrets/';
// Values no build would print by chance: any appearance of them is a leak.
const npmToken = `npm-${randomBytes(16).toString('hex')}`;
const pipToken = `pip-${randomBytes(16).toString('hex')}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let cloud: LocalCloud;
let clients: ReturnType<typeof clientsFor>;
let ecr: ECRClient;
let prefix: string;
let password: string;
let work: string;

beforeAll(async () => {
  cloud = await startLocalCloud({ basePort: 0 });
  await installBaseImage(cloud);
  clients = clientsFor(cloud);
  prefix = keyPrefixOf(cloud);
  const config = {
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: clients.s3.config.credentials,
  };
  ecr = new ECRClient(config);
  password = await registryPassword(ecr);
  const ssm = new SSMClient(config);
  const secrets = new SecretsManagerClient(config);
  await ssm.send(
    new PutParameterCommand({ Name: `${PREFIX}npm-token`, Type: 'SecureString', Value: npmToken }),
  );
  await secrets.send(new CreateSecretCommand({ Name: `${PREFIX}pip-token`, SecretString: pipToken }));
  // A parameter the build role may not read, outside the prefix.
  await ssm.send(
    new PutParameterCommand({ Name: '/elsewhere/db-password', Type: 'SecureString', Value: npmToken }),
  );
  ssm.destroy();
  secrets.destroy();
  work = mkdtempSync(join(tmpdir(), 'ecr-pipeline-secrets-'));
});

afterAll(async () => {
  ecr?.destroy();
  clients?.s3.destroy();
  clients?.codebuild.destroy();
  await cloud?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function context(dockerfile: string): string {
  const dir = mkdtempSync(join(work, 'context-'));
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

async function upload(dir: string, repository: string, metadata: Record<string, string>) {
  const body = await tarballOf(dir);
  return sendContext(clients.s3, cloud.bucket, contextKey(prefix, repository, 'v1'), body, metadata);
}

async function finalRecord(up: SentUpload) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const record = await readRecord(clients.s3, prefix, up);
    if (record && ['built', 'failed', 'rejected', 'superseded'].includes(record.status)) return record;
    if (Date.now() > deadline) throw new Error(`the record of ${up.key} is not final`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every file under `dir` (below 64 MiB) whose bytes hold `needle`. */
function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  const bytes = Buffer.from(needle);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (statSync(path).size > 64 * 1024 * 1024) continue;
    if (readFileSync(path).includes(bytes)) found.push(path);
  }
  return found;
}

describe('build secrets', () => {
  it('mounts an SSM parameter and a Secrets Manager secret for a RUN step and leaves them nowhere else', async () => {
    const dir = context(
      [
        'FROM busybox',
        'ARG API_TOKEN',
        // The step's text is new each run: the layer cache keys on it, not on the secrets' values.
        `RUN --mount=type=secret,id=npm_token --mount=type=secret,id=pip echo ${randomBytes(8).toString('hex')} && \\`,
        '    sha256sum /run/secrets/npm_token | cut -c1-64 > /npm.sha256 && \\',
        '    sha256sum /run/secrets/pip | cut -c1-64 > /pip.sha256 && \\',
        '    test ! -e /run/secrets/npm_token.copy',
        '',
      ].join('\n'),
    );
    const up = await upload(dir, 'e2e/secrets', {
      secrets: JSON.stringify({ npm_token: `${PREFIX}npm-token`, pip: `${PREFIX}pip-token` }),
      'build-args': JSON.stringify({ API_TOKEN: 'not-a-real-token' }),
    });
    const outcome = await waitForOutcome(cloud, clients, prefix, up);
    expect(outcome.kind === 'built' && outcome.build.buildStatus).toBe('SUCCEEDED');
    if (outcome.kind !== 'built') return;

    // The image the build pushed (by digest: the tag is the release function's to move), every layer
    // and the config, as the registry serves them.
    expect(outcome.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const image = join(work, 'image');
    // Asynchronously: the registry front answers from this process.
    await promisify(execFile)('skopeo', [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      `AWS:${password}`,
      `docker://${cloud.registry}/e2e/secrets@${outcome.digest}`,
      `dir:${image}`,
    ]);
    const manifest = JSON.parse(readFileSync(join(image, 'manifest.json'), 'utf8')) as {
      config: { digest: string };
      layers: Array<{ digest: string; mediaType: string }>;
    };
    const blob = (digest: string) => readFileSync(join(image, digest.replace(/^sha256:/, '')));
    const layers = manifest.layers.map((layer) =>
      layer.mediaType.endsWith('gzip') ? gunzipSync(blob(layer.digest)) : blob(layer.digest),
    );
    const config = blob(manifest.config.digest).toString('utf8');
    // The RUN step read both values: their digests are in the image (the last layer)...
    const last = join(work, 'last-layer.tar');
    writeFileSync(last, layers.at(-1) ?? Buffer.alloc(0));
    const fileOf = async (name: string) =>
      (await promisify(execFile)('tar', ['-xOf', last, name], { encoding: 'utf8' })).stdout;
    expect(await fileOf('npm.sha256')).toBe(`${sha256(npmToken)}\n`);
    expect(await fileOf('pip.sha256')).toBe(`${sha256(pipToken)}\n`);
    const everything = Buffer.concat(layers);
    // ...and the values are in no layer, nowhere in the config (history, env, labels).
    for (const value of [npmToken, pipToken]) {
      expect(everything.includes(Buffer.from(value))).toBe(false);
      expect(config).not.toContain(value);
    }
    expect(config).toContain('--mount=type=secret');
    // The same search finds what a build arg leaks: its value is in the history (why --secret exists).
    expect(config).toContain('not-a-real-token');

    // The build log names the secrets, warns about the credential-like build arg, shows no value.
    const log = await fetch(outcome.build.logs?.deepLink ?? '').then((r) => r.text());
    expect(log).toContain('build secrets npm_token, pip mounted for the build (values not shown)');
    expect(log).toMatch(/warning: build arg API_TOKEN looks like a credential.*--secret/);
    // The build's secrets session read them under the session role's statements that allow the
    // prefix (the template's IAM), narrowed by its session policy to these two names.
    const used = cloud.iamReport().find((role) => role.role === 'BuildSessionRole')?.used ?? [];
    // CodeBuild's own role read none: it may only write its logs and assume the session role.
    const own = cloud.iamReport().find((role) => role.role === 'BuildRole')?.used ?? [];
    expect(own.filter((u) => /^(ssm|secretsmanager|kms):/.test(u.action))).toEqual([]);
    expect(used).toContainEqual(
      expect.objectContaining({
        action: 'ssm:GetParameters',
        allowedBy: [
          'BuildSessionRole/build-session#BuildSecretParameters',
          'BuildSessionRole/session-policy#TheseParameters',
        ],
      }),
    );
    expect(used).toContainEqual(
      expect.objectContaining({
        action: 'secretsmanager:GetSecretValue',
        allowedBy: [
          'BuildSessionRole/build-session#BuildSecretSecrets',
          'BuildSessionRole/session-policy#TheseSecrets',
        ],
      }),
    );
    // The record, the build as CodeBuild reports it, the messages and the local cloud's files.
    const record = await finalRecord(up);
    expect(record.status).toBe('built');
    await cloud.sinks.waitFor(
      // The stack's default notifies the release, not each build that succeeded.
      () => cloud.sinks.slack.find((m) => slackText(m.body).includes('e2e/secrets')),
      30_000,
    );
    const messages = JSON.stringify([cloud.sinks.slack, cloud.sinks.sns]);
    for (const value of [npmToken, pipToken]) {
      expect(log).not.toContain(value);
      expect(JSON.stringify(record)).not.toContain(value);
      expect(JSON.stringify(outcome.build)).not.toContain(value);
      expect(messages).not.toContain(value);
      expect(filesHolding(cloud.dataDir, value)).toEqual([]);
    }
  });

  it('refuses a secret name outside the prefix, and one that climbs out of it, with a message that says so', async () => {
    const dir = context('FROM busybox\nRUN --mount=type=secret,id=db cat /run/secrets/db\n');
    for (const [repository, name] of [
      ['e2e/secret-outside', '/elsewhere/db-password'],
      ['e2e/secret-traversal', `${PREFIX}../../../elsewhere/db-password`],
    ] as const) {
      const up = await upload(dir, repository, { secrets: JSON.stringify({ db: name }) });
      const outcome = await waitForOutcome(cloud, clients, prefix, up);
      expect(outcome.kind === 'built' && outcome.build.buildStatus).toBe('FAILED');
      const record = await finalRecord(up);
      expect(record).toMatchObject({ status: 'failed', phase: 'PRE_BUILD' });
      expect(record.reason).toContain('build secret db');
      expect(record.reason).toMatch(/outside \/ecr-pipeline\/dev\/build-secrets\/|not a plain path/);
      expect(JSON.stringify(record)).not.toContain(npmToken);
    }
  });
});
