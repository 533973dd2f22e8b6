/**
 * buildspec/build-image.sh with real buildah and real registries (local/mirror-build.ts): with
 * PULL_THROUGH_CACHE, an unchanged `FROM busybox` (docker.io/library/busybox) is pulled from
 * <registry>/docker-hub, which a distribution registry in proxy mode serves as the pull-through cache
 * of a second registry playing Docker Hub, as ECR's pull-through cache rule does. docker.io cannot be
 * reached from here, so a build that succeeds, with a layer store of its own, took its base image
 * through the mirror.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MirrorRegistry, startMirrorRegistry } from '../../local/mirror-build.ts';

const DOCKERFILE = 'FROM busybox\nRUN echo built > /built\n';
let registry: MirrorRegistry;

beforeAll(async () => {
  registry = await startMirrorRegistry();
}, 120_000);

afterAll(async () => {
  await registry?.stop();
});

/** The blobs the upstream served, one entry per GET. */
const upstreamBlobGets = () =>
  registry.upstreamRequests().filter((line) => /^GET \/v2\/library\/busybox\/blobs\/sha256:/.test(line));

describe('base images through the pull-through cache', () => {
  it('builds an unchanged FROM busybox through the cache, which takes the base from the upstream once', async () => {
    const mirror = { PULL_THROUGH_CACHE: 'docker.io=docker-hub' };
    const first = await registry.build(DOCKERFILE, registry.store(), mirror);
    expect(first.status, `${first.stdout}${first.stderr}`).toBe(0);
    expect(first.conf).toContain(`location = "${registry.host}/docker-hub"`);
    expect(first.stdout).toContain('base images through the pull-through cache: docker.io=docker-hub');
    expect(first.stdout).toMatch(/pushed 127\.0\.0\.1:\d+\/team-a\/api@sha256:[0-9a-f]{64}/);

    // The upstream was asked for Docker Hub's own name, never for the cache's prefix.
    expect(registry.upstreamRequests().some((line) => line.includes('docker-hub'))).toBe(false);
    const blobs = [...new Set(upstreamBlobGets().map((line) => line.slice(line.lastIndexOf('/') + 1)))];
    expect(blobs.length).toBeGreaterThan(0);
    // The cache stores what it served in its own storage (in the background, as it streams).
    for (let i = 0; i < 60 && !blobs.every((digest) => registry.cacheHolds(digest)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const digest of blobs) expect(registry.cacheHolds(digest), digest).toBe(true);

    // A second build with an empty layer store of its own pulls the base again: from the cache only.
    const served = upstreamBlobGets().length;
    const second = await registry.build(DOCKERFILE, registry.store(), mirror);
    expect(second.status, `${second.stdout}${second.stderr}`).toBe(0);
    expect(upstreamBlobGets()).toHaveLength(served);
  }, 600_000);

  it('without the mirror, the same FROM has nowhere to come from', async () => {
    const conf = join(registry.dir, 'no-mirror.conf');
    writeFileSync(conf, 'unqualified-search-registries = ["docker.io"]\n');
    const out = await registry.build(DOCKERFILE, registry.store(), { CONTAINERS_REGISTRIES_CONF: conf });
    expect(out.status).not.toBe(0);
    expect(`${out.stdout}${out.stderr}`).toContain('docker.io/library/busybox');
    expect(out.conf).toBe('');
  }, 300_000);
});
