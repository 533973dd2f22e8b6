/**
 * Real builds through the local cloud: upload-to-released-tag latency (the build pushes by digest,
 * the release function moves the tag; the end is when the upload record, polled every 100 ms as
 * `submit` would, says `released`) compared with the same build and push run directly with the same
 * builder (podman) in the same run, the pipeline's own seconds and where they go, then 20 uploads
 * at once.
 * Every run builds for real: a build arg unique to the run makes the RUN steps miss the layer cache
 * in both paths alike.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { extract } from 'tar';
import { waitForRelease } from '../follow/upload.ts';
import { contextKey } from '../functions/shared/naming.ts';
import { installBaseImage } from '../local/base-image.ts';
import { startLocalCloud } from '../local/cloud.ts';
import { writeRegistriesConf, writeStorageConf } from '../local/codebuild/environment.ts';
import {
  buildsOf,
  clientsFor,
  identityOf,
  keyPrefixOf,
  readExamples,
  registryPassword,
  sendContext,
  tarballOf,
  type UploadOutcome,
  waitForOutcome,
} from '../local/uploads.ts';
import { type Breakdown, breakdownOf, medianBreakdown, ownParts } from './build-breakdown.ts';
import { pullThroughMirrorRows } from './pull-through-mirror.ts';
import type { Row } from './types.ts';

const execFileAsync = promisify(execFile);
const RUNS = 5;
const BURST = 20;
const BENCH = 'build';
/** How often the bench reads the upload record while it waits for the release. */
const RELEASE_POLL_MS = 100;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** Resident memory (bytes) of this process and every process under it: the cloud, moto, the builds. */
function treeRss(root = process.pid): number {
  const children = new Map<number, number[]>();
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      total += Number(rss ?? 0) * 1024;
    } catch {
      // Gone.
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** The pipeline's own seconds (total minus the direct build and push) and where they go. */
function ownSeconds(ownMs: number, pipelineParts: Breakdown[], directParts: Breakdown[]): Row[] {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return [
    {
      benchmark: BENCH,
      metric: "the pipeline's own seconds (total - direct build + push)",
      value: seconds(ownMs),
    },
    ...ownParts(pipelineParts, directParts).map(
      ([name, ms]): Row => ({ benchmark: BENCH, metric: `  own: ${name}`, value: seconds(ms) }),
    ),
  ];
}

/**
 * The pull-through cache case (bench/pull-through-mirror.ts), short and on its own registries, then
 * the builds through the local cloud: a burst that reaches no outcome does not take the first away.
 */
export default async function buildBench(): Promise<Row[]> {
  const mirror = await pullThroughMirrorRows();
  return [...(await pipelineRows()), ...mirror];
}

async function pipelineRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const cloud = await startLocalCloud({ basePort: 0 });
  const work = mkdtempSync(join(tmpdir(), 'ecr-pipeline-bench-'));
  const clients = clientsFor(cloud);
  const ecr = new ECRClient({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: clients.s3.config.credentials,
  });
  const logs = new CloudWatchLogsClient({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: clients.s3.config.credentials,
  });
  try {
    await installBaseImage(cloud);
    const prefix = keyPrefixOf(cloud);
    const example = readExamples().find((e) => e.name === 'run-steps');
    if (!example) throw new Error('examples/run-steps is missing');
    const body = await tarballOf(example.dir);
    const password = await registryPassword(ecr);

    // The direct path: the same context, the same podman, the same registry, no pipeline.
    const context = join(work, 'context');
    mkdirSync(context);
    await new Promise<void>((resolve, reject) => {
      const stream = extract({ cwd: context });
      stream.on('finish', resolve).on('error', reject);
      stream.end(body);
    });
    await ecr.send(
      new CreateRepositoryCommand({ repositoryName: 'bench/direct', imageTagMutability: 'MUTABLE' }),
    );
    const env = {
      ...process.env,
      CONTAINERS_REGISTRIES_CONF: writeRegistriesConf(work, cloud.registry),
      // The same kind of image store as the local builds (vfs, a folder of its own): the two paths
      // differ by the pipeline only, not by the storage driver.
      CONTAINERS_STORAGE_CONF: writeStorageConf(work),
      REGISTRY_AUTH_FILE: join(work, 'auth.json'),
    };
    const podman = (...args: string[]) =>
      execFileAsync('podman', ['--cgroup-manager=cgroupfs', ...args], { env, maxBuffer: 64 * 1024 * 1024 });
    await podman('login', '--tls-verify=false', '--username', 'AWS', '--password', password, cloud.registry);
    const directParts: Breakdown[] = [];
    const direct = async (run: string) => {
      const started = Date.now();
      const image = `${cloud.registry}/bench/direct:${run}`;
      await podman(
        'build',
        '--isolation=chroot',
        '--layers',
        '--tls-verify=false',
        '--target',
        'app',
        '--build-arg',
        `GREETING=${run}`,
        '--tag',
        image,
        context,
      );
      const built = Date.now();
      await podman('push', '--tls-verify=false', image);
      const pushed = Date.now();
      await podman('untag', image).catch(() => undefined);
      directParts.push([
        ['podman build', built - started],
        ['podman push', pushed - built],
      ]);
      return pushed - started;
    };
    const throughPipeline = async (repository: string, run: string) => {
      const up = await sendContext(clients.s3, cloud.bucket, contextKey(prefix, repository, run), body, {
        'build-args': JSON.stringify({ GREETING: run }),
        target: 'app',
      });
      // The release is watched from the upload on, beside the build, so that its end is seen within
      // one poll whenever it comes.
      const [outcome, release] = await Promise.all([
        waitForOutcome(cloud, clients, prefix, up, 600_000),
        waitForRelease(clients, {
          prefix,
          identity: identityOf(up),
          pollMs: RELEASE_POLL_MS,
          timeoutMs: 600_000,
          acceptedGraceMs: 600_000,
        }).then((sighting) => ({ sighting, at: Date.now() })),
      ]);
      return { up, outcome, release };
    };
    const pushedAt = (outcome: UploadOutcome) =>
      outcome.kind === 'built' && outcome.build.buildStatus === 'SUCCEEDED' && outcome.build.endTime
        ? outcome.build.endTime.getTime()
        : undefined;
    const releasedAt = (result: Awaited<ReturnType<typeof throughPipeline>>) =>
      pushedAt(result.outcome) !== undefined && result.release.sighting.record.status === 'released'
        ? result.release.at
        : undefined;

    // Warm-up: the base image in podman's store, the functions' containers warm, like the runs after.
    await throughPipeline('bench/latency', `warm-${Date.now()}`);
    await direct(`warm-${Date.now()}`);

    const pipelineMs: number[] = [];
    const directMs: number[] = [];
    const pipelineParts: Breakdown[] = [];
    for (let i = 0; i < RUNS; i++) {
      const run = `run-${Date.now()}-${i}`;
      const result = await throughPipeline('bench/latency', run);
      const { up, outcome } = result;
      const end = releasedAt(result);
      const buildEnd = pushedAt(outcome);
      if (end === undefined || buildEnd === undefined || outcome.kind !== 'built')
        throw new Error(
          `bench build ${run} was not released: build ${outcome.kind}, record ${result.release.sighting.record.status}`,
        );
      pipelineMs.push(end - up.uploadedAt);
      const parts = await breakdownOf(logs, outcome.build, up.uploadedAt);
      const decidedAt = Date.parse(result.release.sighting.record.release?.decidedAt ?? '');
      pipelineParts.push([
        ...parts,
        ['build end -> release decided (event bus, release function)', decidedAt - buildEnd],
        ['release decided -> released tag seen (tag move, record, poll)', end - decidedAt],
      ]);
      directMs.push(await direct(`${run}-direct`));
      // Each run as it ends: a run that fails later (a builder shared with other work) keeps these.
      process.stderr.write(
        `bench build: run ${i}: local cloud ${pipelineMs.at(-1)} ms, direct ${directMs.at(-1)} ms\n`,
      );
    }
    const ratio = median(pipelineMs) / median(directMs);
    rows.push(
      {
        benchmark: BENCH,
        metric: `upload to released tag, local cloud (median of ${RUNS})`,
        value: `${(median(pipelineMs) / 1000).toFixed(2)} s`,
      },
      {
        benchmark: BENCH,
        metric: `same build + push, podman directly (median of ${RUNS})`,
        value: `${(median(directMs) / 1000).toFixed(2)} s`,
      },
      { benchmark: BENCH, metric: 'local cloud / direct', value: ratio.toFixed(2), goal: '<= 1.3' },
      ...ownSeconds(median(pipelineMs) - median(directMs), pipelineParts, directParts),
      ...[
        ...medianBreakdown(pipelineParts),
        ...medianBreakdown(directParts).map(([n, ms]): [string, number] => [`direct: ${n}`, ms]),
      ].map(
        ([name, ms]): Row => ({
          benchmark: BENCH,
          metric: `  median ${name}`,
          value: `${(ms / 1000).toFixed(2)} s`,
        }),
      ),
    );

    // The latency rows as soon as they are known: a burst that fails later keeps them.
    for (const row of rows) process.stderr.write(`bench build: ${row.metric.trim()}: ${row.value}\n`);

    // 20 uploads at once.
    let peak = treeRss();
    const sampler = setInterval(() => {
      peak = Math.max(peak, treeRss());
    }, 250);
    const started = Date.now();
    const burst = await Promise.all(
      Array.from({ length: BURST }, (_, i) => throughPipeline(`bench/burst-${i}`, `v${Date.now()}`)),
    );
    const total = Date.now() - started;
    clearInterval(sampler);
    const built = burst.filter((result) => releasedAt(result) !== undefined).length;
    const buildCounts = await Promise.all(
      burst.map(({ up }) => buildsOf(clients.codebuild, cloud.projectName, up).then((b) => b.length)),
    );
    rows.push(
      {
        benchmark: BENCH,
        metric: `${BURST} uploads at once: released`,
        value: `${built}/${BURST}`,
        goal: `${BURST}/${BURST}`,
      },
      {
        benchmark: BENCH,
        metric: `${BURST} uploads at once: lost / built twice`,
        value: `${buildCounts.filter((n) => n === 0).length} / ${buildCounts.filter((n) => n > 1).length}`,
        goal: '0 / 0',
      },
      {
        benchmark: BENCH,
        metric: `${BURST} uploads at once: total time`,
        value: `${(total / 1000).toFixed(1)} s`,
      },
      {
        benchmark: BENCH,
        metric: `${BURST} uploads at once: peak memory (cloud + builds)`,
        value: `${Math.round(peak / 1024 / 1024)} MB`,
      },
    );
    return rows;
  } finally {
    ecr.destroy();
    logs.destroy();
    clients.s3.destroy();
    clients.codebuild.destroy();
    await cloud.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
