/**
 * A two-platform upload through the local cloud (`npm run bench -- build-legs`, and with `-- build`):
 * its legs built in parallel and joined into one index by the release function, against the same two
 * builds one after the other (a linux/amd64 upload, then a linux/arm64 one, each to its released
 * tag), in the same run; and the cost of the join: the release function's time from the last leg's
 * report to the index put (its own log), and the calls its role made for the two-platform upload
 * against those for one single-platform upload (the local cloud's IAM usage report).
 *
 * The arm64 leg runs on this host (no ARM environment here: labelled emulated). The context has no
 * RUN step, so it needs no emulator, and a payload unique to each run makes every build miss the
 * layer cache and push new blobs. Native against emulated cannot be measured here.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForRelease } from '../follow/upload.ts';
import { UPLOAD_METADATA } from '../functions/shared/contract.ts';
import { contextKey } from '../functions/shared/naming.ts';
import type { UploadRecord } from '../functions/shared/upload-record.ts';
import { type LocalCloud, startLocalCloud } from '../local/cloud.ts';
import { clientsFor, identityOf, keyPrefixOf, sendContext, tarballOf } from '../local/uploads.ts';
import type { Row } from './types.ts';

const RUNS = 3;
const BENCH = 'build-legs';
const PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;
/** How often the bench reads the upload record while it waits for the release, as build.bench.ts. */
const RELEASE_POLL_MS = 100;
/** Bytes of the run-unique payload each build copies into its image. */
const PAYLOAD_BYTES = 2 * 1024 * 1024;
const ROLE = 'ReleaseRole';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const load = () =>
  loadavg()
    .map((n) => n.toFixed(2))
    .join(' / ');

/** The release role's calls so far, by action. */
function releaseCalls(cloud: LocalCloud): Map<string, number> {
  const used = cloud.iamReport().find((role) => role.role === ROLE)?.used ?? [];
  return new Map(used.map((u) => [u.action, u.count]));
}

/** The calls made between two snapshots, by action. */
function callsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const made = new Map<string, number>();
  for (const [action, count] of after) {
    const n = count - (before.get(action) ?? 0);
    if (n > 0) made.set(action, n);
  }
  return made;
}

/** `ecr:PutImage +1, s3:PutObject +2` : what `more` made beyond `less`, by action. */
function extraCalls(more: Map<string, number>, less: Map<string, number>): string {
  const parts = [...new Set([...more.keys(), ...less.keys()])]
    .sort()
    .map((action) => [action, (more.get(action) ?? 0) - (less.get(action) ?? 0)] as const)
    .filter(([, n]) => n !== 0)
    .map(([action, n]) => `${action} ${n > 0 ? '+' : ''}${n}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

/**
 * The release role's calls once its function has gone quiet (no new call for 3 s; at most 60 s): the
 * verdict is announced after the record says released, so a snapshot taken at once would give that
 * upload's last calls to the next one.
 */
async function settledCalls(cloud: LocalCloud): Promise<Map<string, number>> {
  const deadline = Date.now() + 60_000;
  let last = releaseCalls(cloud);
  let quietSince = Date.now();
  while (Date.now() - quietSince < 3000 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = releaseCalls(cloud);
    if (total(now) !== total(last)) quietSince = Date.now();
    last = now;
  }
  return last;
}

const total = (calls: Map<string, number>) => [...calls.values()].reduce((a, b) => a + b, 0);

/** When the release function logged the index of `digest` put (its Powertools timestamp). */
function joinedAt(lines: readonly string[], digest: string | undefined): number | undefined {
  for (const line of lines) {
    if (!line.includes('legs joined into one index')) continue;
    try {
      const entry = JSON.parse(line.slice(line.indexOf('{'))) as { timestamp?: string; digest?: string };
      if (entry.digest === digest && entry.timestamp) return Date.parse(entry.timestamp);
    } catch {
      // A line that only names the message.
    }
  }
  return undefined;
}

export default async function buildLegsBench(): Promise<Row[]> {
  const lines: string[] = [];
  const loadBefore = load();
  const cloud = await startLocalCloud({ basePort: 0, scheduleIntervalMs: 0, log: (l) => lines.push(l) });
  const clients = clientsFor(cloud);
  const work = mkdtempSync(join(tmpdir(), 'ecr-pipeline-bench-legs-'));
  try {
    const prefix = keyPrefixOf(cloud);
    writeFileSync(join(work, 'Dockerfile'), 'FROM scratch\nCOPY payload.txt hello.txt /\n');
    writeFileSync(join(work, 'hello.txt'), 'hello\n');

    /** One upload of `platforms` to its released tag: milliseconds, its record. */
    const upload = async (repository: string, tag: string, platforms: readonly string[]) => {
      const body = await tarballOf(work, {
        'payload.txt': randomBytes(PAYLOAD_BYTES / 2).toString('hex'),
      });
      const up = await sendContext(clients.s3, cloud.bucket, contextKey(prefix, repository, tag), body, {
        [UPLOAD_METADATA.platforms]: platforms.join(','),
      });
      const sighting = await waitForRelease(clients, {
        prefix,
        identity: identityOf(up),
        pollMs: RELEASE_POLL_MS,
        timeoutMs: 900_000,
        acceptedGraceMs: 900_000,
      });
      const record: UploadRecord = sighting.record;
      if (record.status !== 'released')
        throw new Error(`bench ${repository}:${tag} ended ${record.status}: ${record.reason ?? ''}`);
      return { ms: Date.now() - up.uploadedAt, record };
    };

    // Warm-up: the functions' containers warm and the builders' first start behind us, for both paths.
    await upload('bench/legs', `warm-${Date.now()}`, PLATFORMS);

    const parallelMs: number[] = [];
    const sequentialMs: number[] = [];
    const joinMs: number[] = [];
    const lastLegToDecidedMs: number[] = [];
    let joinedCalls = new Map<string, number>();
    let singleCalls = new Map<string, number>();
    for (let i = 0; i < RUNS; i++) {
      const run = `r${Date.now()}-${i}`;
      const before = await settledCalls(cloud);
      const joined = await upload('bench/legs', `${run}-both`, PLATFORMS);
      const between = await settledCalls(cloud);
      parallelMs.push(joined.ms);
      const legsEnd = Math.max(...(joined.record.legs ?? []).map((leg) => Date.parse(leg.finishedAt ?? '')));
      const putAt = joinedAt(lines, joined.record.digest);
      if (putAt !== undefined && Number.isFinite(legsEnd)) joinMs.push(putAt - legsEnd);
      const decidedAt = Date.parse(joined.record.release?.decidedAt ?? '');
      if (Number.isFinite(decidedAt) && Number.isFinite(legsEnd))
        lastLegToDecidedMs.push(decidedAt - legsEnd);

      let one = 0;
      for (const [n, platform] of PLATFORMS.entries()) {
        const start = await settledCalls(cloud);
        one += (await upload(`bench/legs-${platform.split('/')[1]}`, `${run}-one`, [platform])).ms;
        if (n === 0) singleCalls = callsBetween(start, await settledCalls(cloud));
      }
      sequentialMs.push(one);
      joinedCalls = callsBetween(before, between);
      process.stderr.write(
        `bench build-legs: run ${i}: parallel ${joined.ms} ms, one after the other ${one} ms, join ${joinMs.at(-1) ?? '?'} ms; load ${load()}\n`,
      );
    }
    const ratio = median(parallelMs) / median(sequentialMs);
    return [
      {
        benchmark: BENCH,
        metric: `two platforms, legs in parallel: upload to released index (median of ${RUNS})`,
        value: seconds(median(parallelMs)),
      },
      {
        benchmark: BENCH,
        metric: `same two builds one after the other: amd64 then arm64 upload, each to its tag (median of ${RUNS})`,
        value: seconds(median(sequentialMs)),
      },
      { benchmark: BENCH, metric: 'parallel / one after the other', value: ratio.toFixed(2), goal: '< 1' },
      {
        benchmark: BENCH,
        metric: `join: last leg reported -> index put (DescribeImages, BatchGetImage, PutImage; median of ${joinMs.length})`,
        value: seconds(median(joinMs)),
      },
      {
        benchmark: BENCH,
        metric: `last leg reported -> release decided (join, record, gate; median of ${lastLegToDecidedMs.length})`,
        value: seconds(median(lastLegToDecidedMs)),
      },
      {
        benchmark: BENCH,
        metric: `release role calls: two-platform upload / one single-platform upload`,
        value: `${total(joinedCalls)} / ${total(singleCalls)}`,
      },
      {
        benchmark: BENCH,
        metric: '  calls the second leg and the join add',
        value: extraCalls(joinedCalls, singleCalls),
      },
      {
        benchmark: BENCH,
        metric: 'load average (1/5/15 min) before / after',
        value: `${loadBefore} | ${load()}`,
      },
    ];
  } finally {
    clients.s3.destroy();
    clients.codebuild.destroy();
    await cloud.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
