/**
 * `ecr-pipeline submit --local` end to end through the local cloud: the bundled build-trigger
 * function, the local CodeBuild running the real buildspec, the registry. Runs the real launcher
 * in a child process, as a user would.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, type ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { localCliEnv, localEcr, root, runCli } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'submit-e2e-'));
let cloud: LocalCloud;
let env: NodeJS.ProcessEnv;
let ecr: ECRClient;
/** `env` is read at each run: a test may change it for its runs. */
const cli = (...args: string[]) => runCli(env, args);

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
  // `FROM busybox` of the examples: the local cloud's builds have an image store of their own.
  await installBaseImage(cloud);
  env = localCliEnv(cloud, work);
  ecr = localEcr(cloud);
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

  it("exits 3 with the pipeline's reason, without uploading, when the tag exists in the immutable repository", async () => {
    // Repositories are created immutable: the same tag again is refused before anything is uploaded.
    const run = await submitLocal('examples/copy-files', 'examples/static-site', 'v1');
    expect(run.code).toBe(EXIT.rejected);
    expect(run.stderr).toMatch(/rejected \(TagAlreadyExists\): .*v1/);
    expect(run.stderr).toContain('nothing was uploaded');
    expect(run.stderr).not.toContain('uploading');
    expect(run.stdout).toBe('');
  });

  it('exits non-zero with the failing phase and the log link when the build fails', async () => {
    const run = await submitLocal('examples/failing-build', 'examples/failing', 'v1');
    expect(run.code).toBe(EXIT.failed);
    expect(run.stderr).toContain('error: configuration missing');
    expect(run.stderr).toMatch(/build \S+ FAILED: BUILD/);
    expect(run.stderr).toContain(`log: ${cloud.endpoint}/_local/builds/`);
    expect(run.stdout).toBe('');
  });

  it("tells why the build failed with the log's excerpt, the same in JSON and in status", async () => {
    const run = await submitLocal('examples/failing-build', 'examples/failing', 'v2', '-q', '-o', 'json');
    expect(run.code).toBe(EXIT.failed);
    const result = JSON.parse(run.stdout) as Record<string, string>;
    expect(result).toMatchObject({ status: 'failed', phase: 'BUILD' });
    expect(result.reason).toContain('configuration missing');
    // CodeBuild's own message stays apart, never in place of the reason.
    expect(result.reason).not.toContain('COMMAND_EXECUTION_ERROR');
    // The ecr-events function writes the same excerpt into the upload record: status shows it.
    const [first = ''] = result.reason?.split('\n') ?? [];
    let status = await cli('status', 'examples/failing:v2', '--local');
    for (let i = 0; i < 60 && !/record +failed/.test(status.stdout); i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = await cli('status', 'examples/failing:v2', '--local');
    }
    expect(status.stdout).toMatch(/record +failed/);
    expect(status.code).toBe(EXIT.failed);
    expect(status.stdout).toContain(`reason   BUILD: ${first}`);
  });

  it('returns after the upload with --async; status and logs follow it later', async () => {
    const submitted = await submitLocal('examples/copy-files', 'examples/async', 'v2', '--async');
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(submitted.stdout.trim()).toBe('examples/async/v2.tar.gz');
    expect(submitted.stderr).toContain('ecr-pipeline status examples/async/v2.tar.gz --local');

    const followed = await cli('logs', 'examples/async:v2', '--follow', '--local');
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout).toContain('ecr-pipeline: image');

    // The build has ended; the release function writes `built` and then its verdict into the record,
    // moments later. From then on, status reads the record alone.
    let status = await cli('status', 'examples/async/v2.tar.gz', '--local');
    for (let i = 0; i < 60 && !/record +released/.test(status.stdout); i++) {
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/record +(accepted|built)/);
      await new Promise((r) => setTimeout(r, 500));
      status = await cli('status', 'examples/async/v2.tar.gz', '--local');
    }
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/record +released/);
    expect(status.stdout).toMatch(/gate +none: released/);
    expect(status.stdout).toMatch(/build +ecr-pipeline-dev:[0-9a-f-]{36}/);
    expect(status.stdout).toMatch(/image +examples\/async:v2@sha256:[0-9a-f]{64}/);
    // Where the build's time went, from the phases the local CodeBuild reported to the release function.
    expect(status.stdout).toMatch(/time +queued \d+ s, provisioning \d+ s, download \d+ s, .*build \d+ s/);
    const json = await cli('status', 'examples/async/v2.tar.gz', '--local', '--output', 'json');
    const { durations } = JSON.parse(json.stdout);
    for (const phase of ['queued', 'provisioning', 'downloadSource', 'preBuild', 'build', 'postBuild']) {
      expect(
        Number.isInteger(durations[phase]) && durations[phase] >= 0,
        `${phase}: ${durations[phase]}`,
      ).toBe(true);
    }
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

describe('submit with defaults, --output json, status, list', () => {
  let app: string;
  let commit: string;
  let result: Record<string, unknown>;

  it('names the image after the folder and its git commit, and prints one JSON object', async () => {
    app = join(work, 'hello-app');
    cpSync(join(root, 'examples/copy-files'), app, { recursive: true });
    rmSync(join(app, 'example.json'));
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', app, '-c', 'user.email=e2e@example.com', '-c', 'user.name=e2e', ...args], {
        encoding: 'utf8',
      }).trim();
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'hello');
    commit = git('rev-parse', '--short', 'HEAD');

    const run = await cli('submit', app, '--local', '--output', 'json');
    expect(run.code, run.stderr).toBe(EXIT.success);
    expect(run.stderr).toContain(`image hello-app:${commit} (repository chosen from the folder`);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      status: 'pushed',
      exitCode: 0,
      repository: 'hello-app',
      tag: commit,
      key: `hello-app/${commit}.tar.gz`,
    });
    expect(result.image).toMatch(new RegExp(`hello-app:${commit}@sha256:[0-9a-f]{64}$`));
    expect(result.digest).toBe(await registryDigest('hello-app', commit));
    expect(result.buildId).toMatch(/^\S+:[0-9a-f-]{36}$/);
    expect(result.recordKey).toMatch(/^\.ecr-pipeline\/uploads\/[0-9a-f]{64}\.json$/);
    const phases = result.phases as Array<{ phase: string; status?: string; seconds?: number }>;
    expect(phases.map((p) => p.phase)).toContain('BUILD');
    expect(phases.find((p) => p.phase === 'BUILD')).toMatchObject({ status: 'SUCCEEDED' });
    expect(phases.every((p) => p.seconds === undefined || p.seconds >= 0)).toBe(true);
  });

  let dirtyKeys: string[] = [];

  it('tags each uncommitted edit by its content, so a second edit does not collide with the first', async () => {
    const edit = async (text: string) => {
      writeFileSync(join(app, 'site', 'extra.txt'), text);
      const run = await cli('submit', app, '--local', '--async', '-q');
      expect(run.code, run.stderr).toBe(EXIT.success);
      return run.stdout.trim();
    };
    const first = await edit('not committed\n');
    expect(first).toMatch(new RegExp(`^hello-app/${commit}-dirty-[0-9a-f]{12}\\.tar\\.gz$`));
    const second = await edit('edited again\n');
    expect(second).toMatch(new RegExp(`^hello-app/${commit}-dirty-[0-9a-f]{12}\\.tar\\.gz$`));
    expect(second).not.toBe(first);
    dirtyKeys = [second, first];
    rmSync(join(app, 'site', 'extra.txt'));
    const again = await cli('submit', app, '--local', '--output', 'json');
    expect(again.code).toBe(EXIT.rejected);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'rejected', code: 'TagAlreadyExists' });
  });

  it('status of the finished upload shows the image', async () => {
    const status = await cli('status', `hello-app:${commit}`, '--local');
    expect(status.code, status.stderr).toBe(EXIT.success);
    expect(status.stdout).toContain(`upload   s3://${cloud.bucket}/hello-app/${commit}.tar.gz`);
    expect(status.stdout).toMatch(new RegExp(`image +\\S*hello-app:${commit}@${result.digest}`));
    // moto does not implement DescribeImageReplicationStatus: said in one line, the rest stands.
    expect(status.stdout).toContain(
      'replicas unknown: this endpoint does not answer DescribeImageReplicationStatus',
    );
  });

  it('list shows the uploads newest first, filters by repository, and prints JSON', async () => {
    const text = await cli('list', '--local');
    expect(text.code, text.stderr).toBe(EXIT.success);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^KEY +IMAGE +STATUS +GATE +AGE +PLATFORMS +BUILD$/);
    expect(lines.some((line) => line.startsWith(`hello-app/${commit}.tar.gz `))).toBe(true);

    const json = await cli('list', '--local', '--output', 'json', '--repository', 'hello-app');
    expect(json.code, json.stderr).toBe(EXIT.success);
    const { uploads } = JSON.parse(json.stdout) as { uploads: Array<Record<string, unknown>> };
    // Newest first by the record's last write (a scan's counts may land in an older record later).
    expect(uploads.map((u) => u.key).sort()).toEqual([...dirtyKeys, `hello-app/${commit}.tar.gz`].sort());
    const written = uploads.map((u) => Date.parse(String(u.updatedAt)));
    expect(written).toEqual([...written].sort((x, y) => y - x));
    expect(uploads.find((u) => u.key === `hello-app/${commit}.tar.gz`)).toMatchObject({
      image: `hello-app:${commit}`,
      buildId: result.buildId,
    });

    const limited = await cli('list', '--local', '-o', 'json', '--limit', '1');
    expect((JSON.parse(limited.stdout) as { uploads: unknown[] }).uploads).toHaveLength(1);
  });

  it('exits 2 on a usage error, before anything else', async () => {
    const run = await cli('submit', app, '--local', '--fail-on', 'SEVERE');
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toContain('--fail-on must be one of');
    expect(run.stdout).toBe('');
  });
});
