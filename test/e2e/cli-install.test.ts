/**
 * The command as a user installs it: `npm pack` (its prepack bundles the CLI with esbuild), the
 * tarball installed into an empty folder and globally (under a scratch prefix), `--version`, and a
 * submit from that folder against the local cloud. Nothing of the clone is on the way: no tsx, no
 * TypeScript source, no devDependencies. npm resolves the dependencies from its cache, or from the
 * registry when the cache lacks them.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'cli-install-'));
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const project = join(work, 'project');
const globalPrefix = join(work, 'global');
let tarball = '';
let cloud: LocalCloud;
let env: NodeJS.ProcessEnv;

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs an installed `ecr-pipeline` in `cwd` without blocking this process (the local cloud lives here). */
function run(bin: string, cwd: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  const packed = npm(['pack', '--pack-destination', work, '--json'], root);
  // prepack prints what it built before npm prints its JSON.
  const [{ filename }] = JSON.parse(packed.slice(packed.indexOf('['))) as [{ filename: string }];
  tarball = join(work, filename);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{"name":"ci-job","private":true}\n');
  npm(['install', tarball], project);
  env = { ...process.env, PATH: `${join(globalPrefix, 'bin')}:${process.env.PATH ?? ''}` };
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'])
    delete env[name];
}, 300_000);

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the packed command', () => {
  it('holds the launcher and the bundle only: no TypeScript, no tests, no local cloud', () => {
    const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(listing).toEqual([
      'package/README.md',
      'package/cli/bin/ecr-pipeline.mjs',
      'package/dist/cli/index.mjs',
      'package/dist/cli/index.mjs.map',
      'package/package.json',
    ]);
  });

  it('installs into an empty folder with its dependencies and none of the development ones', async () => {
    const installed = readdirSync(join(project, 'node_modules'));
    expect(installed).toContain('ecr-pipeline');
    expect(installed).toContain('@aws-sdk');
    for (const dev of ['tsx', 'esbuild', 'typescript', 'vitest', 'osls'])
      expect(installed).not.toContain(dev);
    const result = await run(join(project, 'node_modules/.bin/ecr-pipeline'), project, '--version');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`ecr-pipeline ${version}\n`);
  });

  it('installs globally and runs from any folder', async () => {
    npm(['install', '--global', '--prefix', globalPrefix, tarball], work);
    expect(existsSync(join(globalPrefix, 'bin', 'ecr-pipeline'))).toBe(true);
    const result = await run('ecr-pipeline', tmpdir(), '--version');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`ecr-pipeline ${version}\n`);
    const help = await run('ecr-pipeline', tmpdir(), 'submit', '--tga', 'x');
    expect(help.code).toBe(EXIT.usage);
    expect(help.stderr).toContain('did you mean --tag?');
  });

  it('submits from the folder it was installed in, against the local cloud', async () => {
    cloud = await startLocalCloud({ basePort: 0, dataDir: join(work, 'cloud'), log: () => undefined });
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
      }),
    );
    env.ECR_PIPELINE_LOCAL_STATE = state;
    cpSync(join(root, 'examples/copy-files'), join(project, 'app'), { recursive: true });
    const result = await run(
      join(project, 'node_modules/.bin/ecr-pipeline'),
      project,
      'submit',
      'app',
      '-r',
      'installed/app',
      '-t',
      'v1',
      '--local',
      '-q',
    );
    expect(result.code, result.stderr).toBe(EXIT.success);
    expect(result.stdout.trim()).toMatch(/installed\/app:v1@sha256:[0-9a-f]{64}$/);
  });
});
