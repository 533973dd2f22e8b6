/**
 * Signing end to end through the local cloud: the stack packaged with a signing profile and a release
 * gate that requires the signature; the registry-settings function merges the signing rule (the local
 * cloud answers the signing calls moto lacks); the local cloud signs the build's push with its own
 * key; the release waits for DescribeImageSigningStatus and says "SBOM, provenance, signed"; verify
 * checks the signature with the local public key, and fails once the signature is another key's or
 * another image's. Runs the real launcher in a child process, as a user would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.ts';
import type { VerifyReport } from '../../cli/verify.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { LOCAL_STACK_PARAMS } from '../../local/package.ts';
import { slackText } from '../../local/sinks.ts';
import { OCI_MANIFEST, RegistryClient } from '../../shared/oci/registry.ts';
import { attachSignature, generateSigningKeys, signatureTag } from '../../shared/oci/sigstore.ts';
import { packageWith } from '../template/template.ts';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'signing-e2e-'));
const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/ecr_pipeline_local';
const lines: string[] = [];
let cloud: LocalCloud;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'cli/bin/ecr-pipeline.mjs'), ...args], {
      env,
      cwd: root,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function submit(repository: string, tag: string): Promise<string> {
  const run = await cli('submit', 'examples/run-steps', '-r', repository, '-t', tag, '--local');
  expect(run.code, run.stderr + run.stdout).toBe(0);
  const digest = /@(sha256:[0-9a-f]{64})/.exec(run.stdout)?.[1];
  if (!digest) throw new Error(`no digest in ${run.stdout}`);
  return digest;
}

async function verify(image: string): Promise<{ run: Run; report: VerifyReport }> {
  const run = await cli('verify', image, '--local', '--output', 'json');
  return { run, report: JSON.parse(run.stdout || '{}') as VerifyReport };
}

beforeAll(async () => {
  const template = packageWith({
    ...LOCAL_STACK_PARAMS,
    repositoryPattern: 'e2e/*',
    signingProfileArn: PROFILE,
    releaseGate: 'signed',
  });
  const templatePath = join(work, 'template.json');
  writeFileSync(templatePath, JSON.stringify(template));
  cloud = await startLocalCloud({
    basePort: 0,
    dataDir: join(work, 'cloud'),
    templatePath,
    signingKeyDir: join(work, 'signing'),
    log: (line) => lines.push(line),
  });
  await installBaseImage(cloud);
  const state = join(work, 'cloud.json');
  writeFileSync(
    state,
    JSON.stringify({
      endpoint: cloud.endpoint,
      region: cloud.region,
      bucket: cloud.bucket,
      registry: cloud.registry,
      projectName: cloud.projectName,
      signingPublicKey: cloud.signingPublicKey,
    }),
  );
  env = { ...process.env, ECR_PIPELINE_LOCAL_STATE: state };
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'])
    delete env[name];
}, 300_000);

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('managed signing on the local cloud', () => {
  it('merges the signing rule, and says in one start-up line what moto cannot do', () => {
    expect(lines).toContain('custom resource RegistrySigning (Custom::RegistrySigning): SUCCESS');
    expect(lines.filter((line) => line.startsWith('moto cannot: sign images'))).toHaveLength(1);
    expect(lines).toContainEqual(
      expect.stringMatching(/^signing: managed signing signs with a new local key/),
    );
  });

  it('signs the push, releases through the signed gate, verifies, and fails verify once the signature is tampered with', async () => {
    const digest = await submit('e2e/signed', 'v1');
    const released = await cloud.sinks.waitFor(
      () =>
        cloud.sinks.slack
          .filter((m) => slackText(m.body).includes('Image released: e2e/signed:v1'))
          .map((m) => JSON.stringify(m.body))[0],
    );
    expect(released).toContain('SBOM, provenance, signed');

    const { run, report } = await verify('e2e/signed:v1');
    expect(run.code, run.stderr + run.stdout).toBe(EXIT.success);
    expect(report).toMatchObject({ digest, problems: [], signature: { status: 'signed' } });
    const text = await cli('verify', `e2e/signed@${digest}`, '--local');
    expect(text.stdout).toContain('verified: SBOM, provenance, signed');

    // Tamper 1: a signature another key made, written to the registry's storage directly.
    const backend = new RegistryClient({
      host: `127.0.0.1:${cloud.ports.registryBackend}`,
      password: 'unused',
    });
    const genuine = await backend.getManifest('e2e/signed', signatureTag(digest));
    const other = generateSigningKeys();
    await attachSignature(backend, {
      host: cloud.registry,
      repository: 'e2e/signed',
      digest,
      privateKey: other.privateKey,
    });
    const forged = await verify('e2e/signed:v1');
    expect(forged.run.code).toBe(EXIT.unverified);
    expect(forged.report.problems).toEqual(['signature: invalid: a signature that the key did not make']);

    // Tamper 2: the genuine signature of another image of the stack, under this image's tag.
    const second = await submit('e2e/signed', 'v2');
    const theirs = await backend.getManifest('e2e/signed', signatureTag(second));
    await backend.putManifest('e2e/signed', signatureTag(digest), OCI_MANIFEST, theirs?.bytes as Buffer);
    const copied = await verify('e2e/signed:v1');
    expect(copied.run.code).toBe(EXIT.unverified);
    expect(copied.report.problems).toEqual([`signature: invalid: a signature of another image (${second})`]);

    // The genuine one back: verified again; the key is the one the local cloud keeps.
    await backend.putManifest('e2e/signed', signatureTag(digest), OCI_MANIFEST, genuine?.bytes as Buffer);
    expect((await verify('e2e/signed:v1')).run.code).toBe(EXIT.success);
    expect(readFileSync(cloud.signingPublicKey, 'utf8')).toContain('BEGIN PUBLIC KEY');
  }, 600_000);
});
