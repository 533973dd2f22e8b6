// The Node.js the project is tested on, deployed on and run with, from one place:
// scripts/node-version.json pins the exact version (and, per platform, the npm package that carries
// its binary with that package's integrity). The Lambda runtime (nodejs<major>.x), esbuild's target
// (node<major>) and package.json's engines follow its major; a unit test checks they agree.
//
// When the machine's Node.js is another major, the pinned one is installed from the npm registry
// (the node-<platform>-<arch> packages hold the official binaries) into .local/node/v<version>/,
// and scripts/pinned-node.mjs runs the project's commands on it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const pinned = JSON.parse(readFileSync(join(root, 'scripts', 'node-version.json'), 'utf8'));

export const NODE_VERSION = pinned.version;
export const NODE_MAJOR = Number(NODE_VERSION.split('.')[0]);
export const LAMBDA_RUNTIME = `nodejs${NODE_MAJOR}.x`;
export const ESBUILD_TARGET = `node${NODE_MAJOR}`;

/** Where the pinned Node.js is installed when the machine's is another major. */
export const PINNED_NODE_DIR = join(root, '.local', 'node', `v${NODE_VERSION}`);

/** True when this process already runs on the pinned major. */
export const onPinnedMajor = (version = process.versions.node) =>
  Number(version.split('.')[0]) === NODE_MAJOR;

/**
 * The folder of a `node` binary of the pinned major: this process's own when it runs on that
 * major, else the project-local install (made from the npm registry when it is missing).
 */
export function pinnedNodeBinDir() {
  if (onPinnedMajor()) return dirname(process.execPath);
  const bin = join(PINNED_NODE_DIR, 'bin');
  if (!existsSync(join(bin, 'node'))) installPinnedNode();
  return bin;
}

/** The environment of a child that runs on the pinned Node.js: its folder first on PATH. */
export function pinnedNodeEnv(env = process.env) {
  return { ...env, PATH: [pinnedNodeBinDir(), env.PATH].filter(Boolean).join(delimiter) };
}

/**
 * Installs the pinned Node.js into .local/node/v<version>/ from the npm registry: packs the
 * platform's package, checks its integrity against the pinned one, keeps bin/node and the licence,
 * checks the binary reports the pinned version, then moves the folder into place in one rename
 * (a concurrent install that finished first wins; ours is discarded).
 */
export function installPinnedNode() {
  const platform = `${process.platform}-${process.arch}`;
  const pkg = pinned.packages[platform];
  if (!pkg) {
    throw new Error(
      `no pinned Node.js package for ${platform}: install Node.js ${NODE_MAJOR} (${NODE_VERSION} is what the tests run on) and run the command with it`,
    );
  }
  const spec = `${pkg.name}@${NODE_VERSION}`;
  console.log(`setup: installing Node.js ${NODE_VERSION} from the npm registry (${spec}) into .local/node/`);
  const parent = dirname(PINNED_NODE_DIR);
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(join(parent, 'install-'));
  try {
    const pack = spawnSync('npm', ['pack', spec, '--pack-destination', work, '--silent'], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (pack.status !== 0 || !tarball) throw new Error(`npm pack ${spec} failed (exit ${pack.status})`);
    const file = join(work, tarball);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
    if (integrity !== pkg.integrity) {
      throw new Error(`${spec}: integrity ${integrity} is not the pinned ${pkg.integrity}`);
    }
    const dest = join(work, 'node');
    mkdirSync(dest);
    const untar = spawnSync(
      'tar',
      ['-xzf', file, '-C', dest, '--strip-components=1', 'package/bin/node', 'package/LICENSE'],
      { stdio: 'inherit' },
    );
    if (untar.status !== 0) throw new Error(`could not extract bin/node from ${tarball}`);
    const reported = spawnSync(join(dest, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout?.trim();
    if (reported !== `v${NODE_VERSION}`) {
      throw new Error(`${spec}: bin/node reports ${reported || 'nothing'}, not v${NODE_VERSION}`);
    }
    try {
      renameSync(dest, PINNED_NODE_DIR);
    } catch (error) {
      if (!existsSync(join(PINNED_NODE_DIR, 'bin', 'node'))) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
