/**
 * `ecr-pipeline submit --local` end to end through the local cloud: the bundled build-trigger
 * function, the local CodeBuild running the real buildspec, the registry. Runs the real launcher
 * in a child process, as a user would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'submit-e2e-'));
let cloud: LocalCloud;
let env: NodeJS.ProcessEnv;
let ecr: ECRClient;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command through its launcher without blocking this process (the local cloud lives here). */
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

/** `submit DIR -r R -t T --local [extra]`. */
const submitLocal = (dir: string, repository: string, tag: string, ...extra: string[]) =>
  cli('submit', dir, '-r', repository, '-t', tag, '--local', ...extra);

/** The manifest digest the registry itself serves for repository:tag (with an ECR token, as docker would). */
async function registryDigest(repository: string, tag: string): Promise<string | null> {
  const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
  const token = authorizationData?.[0]?.authorizationToken ?? '';
  const response = await fetch(`http://${cloud.registry}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      Authorization: `Basic ${token}`,
      Accept: [
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.oci.image.manifest.v1+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
      ].join(', '),
    },
  });
  return response.headers.get('docker-content-digest');
}

beforeAll(async () => {
  cloud = await startLocalCloud({ basePort: 0, dataDir: join(work, 'cloud'), log: () => undefined });
  // What the local cloud's state file holds; the command finds everything from it with --local.
  const state = join(work, 'cloud.json');
  writeFileSync(
    state,
    JSON.stringify({
      endpoint: cloud.endpoint,
      region: cloud.region,
      bucket: cloud.bucket,
      registry: cloud.registry,
      projectName: cloud.projectName,
    }),
  );
  env = { ...process.env, ECR_PIPELINE_LOCAL_STATE: state };
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'])
    delete env[name];
  ecr = new ECRClient({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('submit --local', () => {
  it('builds an example and prints the image with the digest the registry holds', async () => {
    const run = await submitLocal('examples/copy-files', 'examples/static-site', 'v1');
    expect(run.stderr).toContain('phase BUILD');
    expect(run.code, run.stderr).toBe(0);
    const image = run.stdout.trim();
    expect(image).toMatch(/examples\/static-site:v1@sha256:[0-9a-f]{64}$/);
    const digest = image.slice(image.indexOf('@') + 1);
    expect(await registryDigest('examples/static-site', 'v1')).toBe(digest);
    const described = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'examples/static-site', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(described.imageDetails?.[0]?.imageDigest).toBe(digest);
  });

  it('exits non-zero with the reason when the build-trigger function rejects the upload', async () => {
    // Repositories are created immutable: the same tag again is refused before any build starts.
    const run = await submitLocal('examples/copy-files', 'examples/static-site', 'v1');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/rejected \(TagAlreadyExists\): .*v1/);
    expect(run.stdout).toBe('');
  });

  it('exits non-zero with the failing phase and the log link when the build fails', async () => {
    const run = await submitLocal('examples/failing-build', 'examples/failing', 'v1');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('error: configuration missing');
    expect(run.stderr).toMatch(/build \S+ FAILED: BUILD/);
    expect(run.stderr).toContain(`log: ${cloud.endpoint}/_local/builds/`);
    expect(run.stdout).toBe('');
  });

  it('returns after the upload with --async; status and logs follow it later', async () => {
    const submitted = await submitLocal('examples/copy-files', 'examples/async', 'v2', '--async');
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout.trim()).toBe('examples/async/v2.tar.gz');
    expect(submitted.stderr).toContain('ecr-pipeline status examples/async/v2.tar.gz --local');

    const followed = await cli('logs', 'examples/async:v2', '--follow', '--local');
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain('ecr-pipeline: image');

    const status = await cli('status', 'examples/async/v2.tar.gz', '--local');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/record +accepted/);
    expect(status.stdout).toMatch(/build +\S+ +SUCCEEDED/);
    expect(status.stdout).toMatch(/image +\S+examples\/async:v2@sha256:[0-9a-f]{64}/);
  });

  it('finds the bucket and the project by itself when the local cloud left no state file', async () => {
    const saved = env;
    env = {
      ...saved,
      ECR_PIPELINE_LOCAL_STATE: join(work, 'missing.json'),
      AWS_ENDPOINT_URL: cloud.endpoint,
    };
    try {
      const submitted = await submitLocal('examples/copy-files', 'examples/found', 'v1');
      expect(submitted.stderr).toContain(`s3://${cloud.bucket}/examples/found/v1.tar.gz`);
      expect(submitted.code, submitted.stderr).toBe(0);
      expect(submitted.stdout).toMatch(/examples\/found:v1@sha256:[0-9a-f]{64}/);
    } finally {
      env = saved;
    }
  });
});
