/**
 * Enhanced scanning re-scans an image for as long as it is pushed or pulled, and Amazon Inspector
 * sends an event for every finding it creates, updates or closes: an old image's findings arrive again
 * and again. A digest's findings are notified once per change: when its worst severity rises, or when
 * its findings at or above `minScanSeverity` grow in number. What was last seen of each digest is
 * kept in S3 under the stack's own prefix (`<prefix>.ecr-pipeline/scan-memory/`), written on
 * condition (`If-None-Match: *` for the first, `If-Match` on the ETag read after), so that two events
 * of one digest at once notify once and neither result is lost: the one whose write loses reads again
 * and judges against what the winner wrote.
 */
import type { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  SEVERITIES,
  type Severity,
  type SeverityCounts,
  severityRank,
  worstSeverity,
} from '../../shared/severity.ts';
import { httpStatusOf } from '../../shared/transient.ts';
import { scanMemoryKey } from '../../shared/upload-record.ts';

/** The scan memory object of one image. */
export interface ScanMemory {
  repository: string;
  digest: string;
  /** Findings by severity at the last result seen; absent when nothing was told yet. */
  counts?: SeverityCounts;
  /** ISO time of that result. */
  at: string;
}

export type ScanChange = { notify: true; reason: string } | { notify: false; reason: string };

const rankOf = (severity: Severity | undefined): number => (severity ? severityRank(severity) : 0);

/**
 * Whether a digest's scan result is news against the last one seen: the first result is; later ones
 * only when the worst severity rises or a severity at or above `min` has more findings than before.
 */
export function judgeScan(
  previous: SeverityCounts | undefined,
  current: SeverityCounts,
  min: Severity | 'ALL',
): ScanChange {
  if (!previous) return { notify: true, reason: 'first result for this image' };
  const before = worstSeverity(previous);
  const now = worstSeverity(current);
  if (rankOf(now) > rankOf(before)) {
    return { notify: true, reason: `worst severity rose from ${before ?? 'none'} to ${now}` };
  }
  const floor = min === 'ALL' ? 0 : severityRank(min);
  const grown = SEVERITIES.find((s) => severityRank(s) >= floor && (current[s] ?? 0) > (previous[s] ?? 0));
  if (grown) {
    return {
      notify: true,
      reason: `${grown} findings went from ${previous[grown] ?? 0} to ${current[grown]}`,
    };
  }
  return { notify: false, reason: `no new findings at or above ${min} since the last result` };
}

const sameCounts = (a: SeverityCounts | undefined, b: SeverityCounts): boolean =>
  a !== undefined && SEVERITIES.every((s) => (a[s] ?? 0) === (b[s] ?? 0));

export interface ScanMemoryDeps {
  s3: Pick<S3Client, 'send'>;
  commands: { GetObjectCommand: typeof GetObjectCommand; PutObjectCommand: typeof PutObjectCommand };
  bucket: string;
  keyPrefix: string;
}

export interface ScanResult {
  repository: string;
  digest: string;
  counts: SeverityCounts;
  at: string;
}

/** What remembering a result decided; `forget` puts the previous memory back (the news was not delivered). */
export type Remembered = ScanChange & { forget: () => Promise<void> };

const CONFLICT = [412, 409];
const ATTEMPTS = 3;

async function read(
  deps: ScanMemoryDeps,
  key: string,
): Promise<{ memory: ScanMemory; eTag?: string } | undefined> {
  try {
    const out = await deps.s3.send(new deps.commands.GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    return {
      memory: JSON.parse((await out.Body?.transformToString()) ?? '{}') as ScanMemory,
      eTag: out.ETag,
    };
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}

async function write(
  deps: ScanMemoryDeps,
  key: string,
  memory: ScanMemory,
  eTag: string | undefined,
): Promise<string | undefined> {
  const out = await deps.s3.send(
    new deps.commands.PutObjectCommand({
      Bucket: deps.bucket,
      Key: key,
      Body: JSON.stringify(memory),
      ContentType: 'application/json',
      ...(eTag ? { IfMatch: eTag } : { IfNoneMatch: '*' }),
    }),
  );
  return out.ETag;
}

const nothing = async () => undefined;

/**
 * Judges `result` against the image's memory and remembers it, on condition of what was read (read
 * again and judged again when another event wrote in between). Throws what S3 throws otherwise.
 */
export async function rememberScan(
  deps: ScanMemoryDeps,
  result: ScanResult,
  min: Severity | 'ALL',
): Promise<Remembered> {
  const key = scanMemoryKey(deps.keyPrefix, result.repository, result.digest);
  for (let attempt = 1; ; attempt++) {
    const found = await read(deps, key);
    // An older result than the one kept (events arrive in any order) changes nothing.
    if (found?.memory.counts && found.memory.at > result.at) {
      return { notify: false, reason: 'a newer result was already seen', forget: nothing };
    }
    if (sameCounts(found?.memory.counts, result.counts)) {
      return { notify: false, reason: 'the same findings as the last result', forget: nothing };
    }
    const change = judgeScan(found?.memory.counts, result.counts, min);
    const next: ScanMemory = {
      repository: result.repository,
      digest: result.digest,
      counts: result.counts,
      at: result.at,
    };
    try {
      const written = await write(deps, key, next, found?.eTag);
      const previous: ScanMemory = found?.memory ?? {
        repository: result.repository,
        digest: result.digest,
        at: result.at,
      };
      return {
        ...change,
        forget: async () => {
          await write(deps, key, previous, written);
        },
      };
    } catch (error) {
      if (attempt >= ATTEMPTS || !CONFLICT.includes(httpStatusOf(error) ?? 0)) throw error;
    }
  }
}
