#!/usr/bin/env node
// Installs what the tests, the local cloud and the demo need, and only what is missing: the pinned
// Node.js when the machine's is another major (scripts/node-runtime.mjs), npm packages (npm ci when
// node_modules is absent or older than the lock file) and the Debian packages for the registry, the
// image builder and the base image. Prints precisely what is missing when it cannot install it
// (no root, no apt-get).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { registerBinfmt } from './binfmt.mjs';
import { pinnedNodeEnv } from './node-runtime.mjs';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// The pinned Node.js, then npm packages installed with it (so that npm checks engines against the
// Node.js the project runs on).
let nodeEnv;
try {
  nodeEnv = pinnedNodeEnv();
} catch (error) {
  console.error(`setup: ${error.message}`);
  process.exit(1);
}
const lock = `${root}package-lock.json`;
const marker = `${root}node_modules/.package-lock.json`;
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('setup: installing npm packages (npm ci)');
  if (run('npm', ['ci', '--no-audit', '--no-fund'], { env: nodeEnv }).status !== 0) process.exit(1);
}

// Debian packages for the registry, the image builder (rootless-capable podman and buildah),
// skopeo for inspecting images, busybox-static for the locally made base image, and
// qemu-user-static for the legs of a multi-platform upload that this machine's CPU cannot run;
// openssl checks the local cloud's image signatures with its public key alone (docs/supply-chain.md).
const debian = [
  'qemu-user-static',
  'podman',
  'buildah',
  'skopeo',
  'docker-registry',
  'busybox-static',
  'uidmap',
  'fuse-overlayfs',
  'openssl',
];
// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
const DPKG_STATUS = '-f=${Status}';
const installed = (pkg) =>
  spawnSync('dpkg-query', ['-W', DPKG_STATUS, pkg], { encoding: 'utf8' }).stdout?.includes(
    'install ok installed',
  );
const missing = has('dpkg-query') ? debian.filter((pkg) => !installed(pkg)) : debian;
if (missing.length > 0) {
  const isRoot = process.getuid?.() === 0;
  if (!has('apt-get') || !isRoot) {
    console.error(`setup: missing Debian packages: ${missing.join(' ')}`);
    console.error(`setup: install them with: sudo apt-get install -y ${missing.join(' ')}`);
    process.exit(1);
  }
  console.log(`setup: installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (run('apt-get', ['update', '-qq'], { env }).status !== 0) process.exit(1);
  if (run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env }).status !== 0) {
    process.exit(1);
  }
}

// Foreign-platform legs of the local builds run under QEMU: register the emulators (binfmt_misc),
// or say that this kernel does not allow it and that only the machine's own platform builds.
const binfmt = registerBinfmt();
if (binfmt.ok && binfmt.registered.length > 0) {
  console.log(`setup: registered QEMU emulators: ${binfmt.registered.join(' ')}`);
} else if (!binfmt.ok) {
  console.error(
    `setup: foreign platforms cannot be emulated: ${binfmt.why}; the local cloud builds only this machine's platform natively (a foreign leg with a RUN step fails, naming its leg)`,
  );
}

// Python tools from the machine image (moto server, aws CLI, cfn-lint); pip where they are missing.
const python = { moto_server: 'moto[server]', aws: 'awscli', 'cfn-lint': 'cfn-lint' };
const missingPy = Object.entries(python)
  .filter(([cmd]) => !has(cmd))
  .map(([, pkg]) => pkg);
if (missingPy.length > 0) {
  console.log(`setup: installing Python tools: ${missingPy.join(' ')}`);
  const pip = has('pip3') ? 'pip3' : 'pip';
  if (run(pip, ['install', ...missingPy]).status !== 0) {
    console.error(
      `setup: could not install ${missingPy.join(' ')}; install them with: pip install ${missingPy.map((p) => `'${p}'`).join(' ')}`,
    );
    process.exit(1);
  }
}
