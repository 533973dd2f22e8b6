/**
 * buildspec/build-image.sh with real buildah and a real registry (local/mirror-build.ts): with
 * PULL_THROUGH_CACHE, an unchanged `FROM busybox` (docker.io/library/busybox) is pulled from
 * <registry>/docker-hub, where ECR's pull-through cache keeps Docker Hub's images. docker.io cannot be
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

describe('base images through the pull-through cache mirror', () => {
  it('builds an unchanged FROM busybox from <registry>/docker-hub, with docker.io out of reach', async () => {
    const out = await registry.build(DOCKERFILE, registry.store(), {
      PULL_THROUGH_CACHE: 'docker.io=docker-hub',
    });
    expect(out.status, `${out.stdout}${out.stderr}`).toBe(0);
    expect(out.conf).toContain(`location = "${registry.host}/docker-hub"`);
    expect(out.stdout).toContain('base images through the pull-through cache: docker.io=docker-hub');
    expect(out.stdout).toMatch(/pushed 127\.0\.0\.1:\d+\/team-a\/api@sha256:[0-9a-f]{64}/);
  }, 300_000);

  it('without the mirror, the same FROM has nowhere to come from', async () => {
    const conf = join(registry.dir, 'no-mirror.conf');
    writeFileSync(conf, 'unqualified-search-registries = ["docker.io"]\n');
    const out = await registry.build(DOCKERFILE, registry.store(), { CONTAINERS_REGISTRIES_CONF: conf });
    expect(out.status).not.toBe(0);
    expect(`${out.stdout}${out.stderr}`).toContain('docker.io/library/busybox');
    expect(out.conf).toBe('');
  }, 300_000);
});
