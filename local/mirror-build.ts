/**
 * buildspec/build-image.sh run on its own with buildah and a real registry, its base images through
 * the pull-through cache mirror (PULL_THROUGH_CACHE): the registry holds Docker Hub's busybox under
 * `docker-hub/`, as ECR's pull-through cache does, and `FROM busybox` reaches it only through the
 * mirror (docker.io cannot be reached from here). No AWS call is involved: the registry password the
 * build session would write is a stand-in the registry does not check.
 * Used by test/e2e/pull-through-mirror.test.ts and `npm run bench -- build`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBaseImage } from './base-image.ts';
import { freePort, startRegistry } from './processes.ts';

const SCRIPT = new URL('../buildspec/build-image.sh', import.meta.url).pathname;

export interface MirrorBuild {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The registries.conf the build wrote ('' when it wrote none). */
  conf: string;
}

export interface MirrorRegistry {
  /** host:port of the registry (the build's ECR, holding the cache under docker-hub/). */
  host: string;
  dir: string;
  /** A layer store for builds (builds given the same store share their layers). */
  store(): string;
  /** Builds `dockerfile` with build-image.sh and `env` (PULL_THROUGH_CACHE, ...) in layer store `store`. */
  build(dockerfile: string, store: string, env?: Record<string, string>): Promise<MirrorBuild>;
  stop(): Promise<void>;
}

/** Starts a registry holding `docker-hub/library/busybox:latest`. */
export async function startMirrorRegistry(): Promise<MirrorRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'pull-through-mirror-'));
  const port = await freePort();
  const registry = await startRegistry(port, join(dir, 'registry'));
  const host = `127.0.0.1:${port}`;
  await ensureBaseImage(host);
  execFileSync('skopeo', [
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${host}/library/busybox:latest`,
    `docker://${host}/docker-hub/library/busybox:latest`,
  ]);
  let stores = 0;
  return {
    host,
    dir,
    store() {
      const root = join(dir, `store-${++stores}`);
      mkdirSync(root);
      writeFileSync(
        join(root, 'storage.conf'),
        `[storage]\ndriver = "vfs"\nrunroot = "${join(root, 'run')}"\ngraphroot = "${join(root, 'graph')}"\n`,
      );
      return root;
    },
    build: (dockerfile, store, env = {}) => build(host, dir, dockerfile, store, env),
    async stop() {
      await registry.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function build(
  host: string,
  dir: string,
  dockerfile: string,
  store: string,
  env: Record<string, string>,
): Promise<MirrorBuild> {
  const run = mkdtempSync(join(dir, 'run-'));
  const work = join(run, 'work');
  const context = join(run, 'context');
  for (const d of [work, context]) mkdirSync(d);
  writeFileSync(join(work, 'registry-password'), 'password');
  writeFileSync(join(context, 'Dockerfile'), dockerfile);
  writeFileSync(join(work, 'build.env'), "DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=''\n");
  writeFileSync(join(work, 'build-args'), '');
  // This harness measures the base image's way in, not the attestations (test/e2e/supply-chain.test.ts
  // runs those for real): the session helper's attest step does nothing here.
  writeFileSync(join(work, 'build-session.mjs'), "process.exit(process.argv[2] === '--attest' ? 0 : 64);\n");
  const child = spawn('bash', [SCRIPT, context, work], {
    env: {
      PATH: process.env.PATH,
      HOME: run,
      REGISTRY_AUTH_FILE: join(run, 'auth.json'),
      BUILDER: 'buildah',
      BUILDAH_ISOLATION: 'chroot',
      // A layer store of the caller's: no base image from another build can stand in for the pull.
      CONTAINERS_STORAGE_CONF: join(store, 'storage.conf'),
      IMAGE_REPOSITORY_URI: `${host}/team-a/api`,
      IMAGE_TAG: `v${Date.now()}`,
      CONTEXT_BUCKET: 'contexts',
      CONTEXT_KEY: 'team-a/api/v1.tar.gz',
      CONTEXT_VERSION_ID: 'version-1',
      AWS_REGION: 'us-east-1',
      // No download of the pinned SBOM generator (no internet here): the no-op attest step never runs it.
      SBOM_GENERATOR: '/bin/true',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  let conf = '';
  try {
    conf = readFileSync(join(work, 'registries.conf'), 'utf8');
  } catch {
    // The build wrote none (no PULL_THROUGH_CACHE).
  }
  return { status, stdout, stderr, conf };
}
