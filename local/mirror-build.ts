/**
 * buildspec/build-image.sh run on its own with buildah and real registries, its base images through
 * a pull-through cache (PULL_THROUGH_CACHE), as on AWS: a registry process plays Docker Hub (the
 * upstream, holding `library/busybox`), a distribution registry in proxy mode is the pull-through
 * cache of it, and the build's registry host routes `docker-hub/...` to that cache, as an ECR
 * pull-through cache rule with the prefix `docker-hub` does (a proxy-mode registry refuses pushes, so
 * the image is pushed to a third, plain registry behind the same host). `FROM busybox` reaches the
 * base only through the mirror: docker.io cannot be reached from here. No AWS call is involved: the
 * registry password the build session would write is a stand-in the registries do not check.
 * Used by test/e2e/pull-through-mirror.test.ts and `npm run bench -- build`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeServer, forward, listen } from './http.ts';
import { freePort, startRegistry } from './processes.ts';
import { cacheRoute, startPullThroughCache } from './pull-through.ts';

const SCRIPT = new URL('../buildspec/build-image.sh', import.meta.url).pathname;

/** The repository prefix of the cache rule, as the buildspec's PULL_THROUGH_CACHE names it. */
export const CACHE_PREFIX = 'docker-hub';

export interface MirrorBuild {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The registries.conf the build wrote ('' when it wrote none). */
  conf: string;
}

export interface MirrorRegistry {
  /** host:port of the build's registry (its ECR: pushes, and the cache under docker-hub/). */
  host: string;
  dir: string;
  /** The requests the upstream ("Docker Hub") served, as `METHOD /v2/...` lines, oldest first. */
  upstreamRequests(): string[];
  /** Whether the pull-through cache holds blob `digest` in its own storage. */
  cacheHolds(digest: string): boolean;
  /** A layer store for builds (builds given the same store share their layers). */
  store(): string;
  /** Builds `dockerfile` with build-image.sh and `env` (PULL_THROUGH_CACHE, ...) in layer store `store`. */
  build(dockerfile: string, store: string, env?: Record<string, string>): Promise<MirrorBuild>;
  stop(): Promise<void>;
}

/** Starts the upstream holding `library/busybox:latest`, its pull-through cache, and the build's registry. */
export async function startMirrorRegistry(): Promise<MirrorRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'pull-through-mirror-'));
  const [pushPort, port] = [await freePort(), await freePort()];
  const cache = await startPullThroughCache(dir, CACHE_PREFIX);
  const registry = await startRegistry(pushPort, join(dir, 'registry'));
  const front = await startCacheRoute(port, pushPort, cache.port);
  const host = `127.0.0.1:${port}`;
  let stores = 0;
  return {
    host,
    dir,
    upstreamRequests: () => cache.upstreamRequests(),
    cacheHolds: (digest) => existsSync(blobPath(cache.storage, digest)),
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
      await closeServer(front);
      await registry.stop();
      await cache.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The build's registry host: `/v2/docker-hub/<name>/...` goes to the pull-through cache as
 * `/v2/<name>/...` (the rule's prefix names the upstream, the rest is the upstream's name); every
 * other request goes to the registry that takes the pushes.
 */
async function startCacheRoute(port: number, pushPort: number, cachePort: number): Promise<Server> {
  const server = createServer((req, res) => {
    const route = cacheRoute(req.url ?? '/', [CACHE_PREFIX]);
    if (route) req.url = route.url;
    forward(route ? cachePort : pushPort, req, res, {
      onAnswer: (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
      onUnreachable: (error) => {
        res.writeHead(502);
        res.end(error.message);
      },
    });
  });
  await listen(server, port);
  return server;
}

/** Where the distribution registry's filesystem driver keeps blob `digest`. */
function blobPath(storage: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(storage, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
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
