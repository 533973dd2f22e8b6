/**
 * buildspec/build-image.sh with real buildah and a real registry: with PULL_THROUGH_CACHE, an
 * unchanged `FROM busybox` (docker.io/library/busybox) is pulled from <registry>/docker-hub, where
 * ECR's pull-through cache keeps Docker Hub's images. docker.io cannot be reached from here, so a
 * build that succeeds (with a layer store of its own) took its base image through the mirror. `aws` is a stand-in (no AWS here).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '../../local/base-image.ts';
import { freePort, type Service, startRegistry } from '../../local/processes.ts';

const script = new URL('../../buildspec/build-image.sh', import.meta.url).pathname;
let dir: string;
let registry: Service;
let host: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pull-through-mirror-'));
  const port = await freePort();
  registry = await startRegistry(port, join(dir, 'registry'));
  host = `127.0.0.1:${port}`;
  // The cache's copy of Docker Hub's busybox, under the rule's prefix.
  await ensureBaseImage(host);
  execFileSync('skopeo', [
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    `docker://${host}/library/busybox:latest`,
    `docker://${host}/docker-hub/library/busybox:latest`,
  ]);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function build(env: Record<string, string>) {
  const run = mkdtempSync(join(dir, 'run-'));
  const bin = join(run, 'bin');
  const work = join(run, 'work');
  const context = join(run, 'context');
  mkdirSync(bin);
  mkdirSync(work);
  mkdirSync(context);
  writeFileSync(
    join(bin, 'aws'),
    `#!/bin/bash
case "$1 $2" in
  "s3api head-object") printf 'version-1\\t"etag-1"\\n' ;;
  *) echo password ;;
esac
`,
  );
  chmodSync(join(bin, 'aws'), 0o755);
  // A layer store of its own: no base image from an earlier build can stand in for the pull.
  writeFileSync(
    join(run, 'storage.conf'),
    `[storage]\ndriver = "vfs"\nrunroot = "${join(run, 'runroot')}"\ngraphroot = "${join(run, 'graph')}"\n`,
  );
  writeFileSync(join(context, 'Dockerfile'), 'FROM busybox\nRUN echo built > /built\n');
  writeFileSync(join(work, 'build.env'), "DOCKERFILE=Dockerfile\nBUILD_TARGET=''\nBUILD_PLATFORMS=''\n");
  writeFileSync(join(work, 'build-args'), '');
  const out = spawnSync('bash', [script, context, work], {
    encoding: 'utf8',
    timeout: 300_000,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: run,
      REGISTRY_AUTH_FILE: join(run, 'auth.json'),
      BUILDER: 'buildah',
      CONTAINERS_STORAGE_CONF: join(run, 'storage.conf'),
      BUILDAH_ISOLATION: 'chroot',
      IMAGE_REPOSITORY_URI: `${host}/team-a/api`,
      IMAGE_TAG: `v${Date.now()}`,
      CONTEXT_BUCKET: 'contexts',
      CONTEXT_KEY: 'team-a/api/v1.tar.gz',
      CONTEXT_VERSION_ID: 'version-1',
      AWS_REGION: 'us-east-1',
      ...env,
    },
  });
  const conf = (() => {
    try {
      return readFileSync(join(work, 'registries.conf'), 'utf8');
    } catch {
      return '';
    }
  })();
  return { ...out, conf };
}

describe('base images through the pull-through cache mirror', () => {
  it('builds an unchanged FROM busybox from <registry>/docker-hub, with docker.io out of reach', () => {
    const out = build({ PULL_THROUGH_CACHE: 'docker.io=docker-hub' });
    expect(out.status, `${out.stdout}${out.stderr}`).toBe(0);
    expect(out.conf).toContain(`location = "${host}/docker-hub"`);
    expect(out.stdout).toContain('base images through the pull-through cache: docker.io=docker-hub');
    expect(out.stdout).toMatch(/pushed 127\.0\.0\.1:\d+\/team-a\/api:v\d+@sha256:[0-9a-f]{64}/);
  }, 300_000);

  it('without the mirror, the same FROM has nowhere to come from', () => {
    writeFileSync(join(dir, 'no-mirror.conf'), 'unqualified-search-registries = ["docker.io"]\n');
    const out = build({ CONTAINERS_REGISTRIES_CONF: join(dir, 'no-mirror.conf') });
    expect(out.status).not.toBe(0);
    expect(`${out.stdout}${out.stderr}`).toContain('docker.io/library/busybox');
    expect(out.conf).toBe('');
  }, 300_000);
});
