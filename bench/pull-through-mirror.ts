/**
 * A case of `npm run bench -- build`: base images through the pull-through cache mirror
 * (local/mirror-build.ts, build-image.sh with buildah). A cold build (an empty layer store: the base
 * image comes through the mirror) against a second build of a changed context in the same store
 * (the base image and unchanged layers already there), ratio in one run.
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
    const cold = await timed(registry, dockerfile(1), store);
    const warm = await timed(registry, dockerfile(2), store);
    return [
      {
        benchmark: BENCH,
        metric: 'through the pull-through mirror: cold build (empty layer store)',
        value: `${(cold / 1000).toFixed(1)} s`,
      },
      {
        benchmark: BENCH,
        metric: 'through the pull-through mirror: second build, changed context',
        value: `${(warm / 1000).toFixed(1)} s (${(cold / warm).toFixed(1)}x faster than cold)`,
      },
    ];
  } finally {
    await registry.stop();
  }
}
