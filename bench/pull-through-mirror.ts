/**
 * A case of `npm run bench -- build`: base images through the local pull-through cache
 * (local/mirror-build.ts: build-image.sh with buildah; a registry playing Docker Hub, a proxy-mode
 * registry as its cache). A cold build (an empty layer store, an empty cache: the base image comes
 * from the upstream through the cache) against a second build of a changed context in the same store,
 * and against a build of a changed context on a new machine (an empty layer store) with the cache
 * warm, as each on-demand CodeBuild build is; ratios in one run.
 */
import { type MirrorRegistry, startMirrorRegistry } from '../local/mirror-build.ts';
import type { Row } from './types.ts';

const BENCH = 'build';
const dockerfile = (n: number) => `FROM busybox\nRUN echo base > /base\nRUN echo change-${n} > /changed\n`;

async function timed(registry: MirrorRegistry, text: string, store: string): Promise<number> {
  const started = performance.now();
  const out = await registry.build(text, store, { PULL_THROUGH_CACHE: 'docker.io=docker-hub' });
  if (out.status !== 0) throw new Error(`build through the mirror failed: ${out.stdout}${out.stderr}`);
  return performance.now() - started;
}

/** The rows of the pull-through mirror case. */
export async function pullThroughMirrorRows(): Promise<Row[]> {
  const registry = await startMirrorRegistry();
  try {
    const store = registry.store();
    // Requests of the upstream from here on are the builds' (before: the base image's push).
    const setup = registry.upstreamRequests().length;
    const upstream = () => registry.upstreamRequests().slice(setup);
    const cold = await timed(registry, dockerfile(1), store);
    const upstreamAfterCold = upstream().length;
    const warm = await timed(registry, dockerfile(2), store);
    const fresh = await timed(registry, dockerfile(3), registry.store());
    const upstreamBlobs = upstream().filter((line) => line.includes('/blobs/'));
    const ratio = (ms: number) => `${(ms / 1000).toFixed(1)} s (${(cold / ms).toFixed(1)}x faster than cold)`;
    return [
      {
        benchmark: BENCH,
        metric: 'through the pull-through cache: cold build (empty layer store, empty cache)',
        value: `${(cold / 1000).toFixed(1)} s`,
      },
      {
        benchmark: BENCH,
        metric: 'through the pull-through cache: second build, changed context',
        value: ratio(warm),
      },
      {
        benchmark: BENCH,
        metric: 'through the pull-through cache: new machine (empty layer store), cache warm',
        value: ratio(fresh),
      },
      {
        benchmark: BENCH,
        metric: 'through the pull-through cache: requests the upstream served (cold build / in all)',
        value: `${upstreamAfterCold} / ${upstream().length} (${upstreamBlobs.length} blob GETs in all)`,
      },
    ];
  } finally {
    await registry.stop();
  }
}
