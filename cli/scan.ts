/**
 * Waiting for the scan of a pushed image, and the `--fail-on` gate. The gate's verdict comes from ECR
 * itself (DescribeImages' `imageScanFindingsSummary`, which answers for basic and enhanced scanning),
 * never from the upload record: the record is a copy kept for people, and a copy is only as
 * trustworthy as the last principal that could write it.
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { scannerOf, scanState } from '../functions/shared/scan-status.ts';
import type { UploadScan } from '../functions/shared/upload-record.ts';
import { type FailOnSeverity, SEVERITIES } from './args.ts';
import { CliError } from './errors.ts';
import { sleep } from './follow.ts';
import type { Clients } from './target.ts';

/** Counts by severity, as ECR reports them (severities without findings left out). */
export type SeverityCounts = UploadScan['counts'];

/** A completed scan: where the counts came from, and the counts. */
export interface ScanResult {
  scanner: 'basic' | 'enhanced' | 'unknown';
  counts: SeverityCounts;
}

/** The scan as ECR reports it for repository@digest; undefined while it has not completed. */
export async function ecrScan(
  clients: Pick<Clients, 'ecr'>,
  repository: string,
  digest: string,
): Promise<ScanResult | undefined> {
  const out = await clients.ecr.send(
    new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
  );
  const image = out.imageDetails?.[0];
  const status = image?.imageScanStatus?.status;
  // Classified as the ecr-events function classifies it: COMPLETE (basic) and ACTIVE (enhanced)
  // carry findings, the failed statuses never will, the rest are still to come.
  const state = scanState(status);
  if (state === 'failed') {
    throw new CliError(
      `the scan of ${repository}@${digest} ended ${status}: ${image?.imageScanStatus?.description ?? 'no description'}`,
      'look at the image in the ECR console; the image itself was pushed',
    );
  }
  if (state !== 'complete' || status === undefined) return undefined;
  const counts = (image?.imageScanFindingsSummary?.findingSeverityCounts ?? {}) as SeverityCounts;
  return { scanner: scannerOf(status), counts };
}

export interface ScanWait {
  clients: Pick<Clients, 'ecr'>;
  repository: string;
  digest: string;
  signal?: AbortSignal | undefined;
  pollMs?: number;
  timeoutMs?: number;
  now?: () => number;
}

/** Waits until ECR reports the pushed image's scan complete, and returns ECR's counts. */
export async function waitForScan(options: ScanWait): Promise<ScanResult> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const deadline = now() + timeoutMs;
  for (;;) {
    const fromEcr = await ecrScan(options.clients, options.repository, options.digest);
    if (fromEcr) return fromEcr;
    if (options.signal?.aborted) throw new CliError('interrupted while waiting for the scan', undefined, 130);
    if (now() > deadline) {
      throw new CliError(
        `no scan of ${options.repository}@${options.digest} completed within ${Math.round(timeoutMs / 1000)} s`,
        'is scan on push (or enhanced scanning) enabled for the repository? The image itself was pushed',
      );
    }
    await sleep(options.pollMs ?? 5000, options.signal);
  }
}

/** The severities at or above `threshold` that have findings, highest first; empty when the gate passes. */
export function findingsAtOrAbove(counts: SeverityCounts, threshold: FailOnSeverity): FailOnSeverity[] {
  return SEVERITIES.slice(SEVERITIES.indexOf(threshold))
    .filter((severity) => (counts[severity] ?? 0) > 0)
    .reverse();
}

/** Counts as people read them: `CRITICAL 1, HIGH 3` (`no findings` when empty). */
export function describeCounts(counts: SeverityCounts): string {
  const order: Array<keyof SeverityCounts> = [...[...SEVERITIES].reverse(), 'UNDEFINED'];
  const parts = order
    .filter((severity) => (counts[severity] ?? 0) > 0)
    .map((severity) => `${severity} ${counts[severity]}`);
  return parts.length ? parts.join(', ') : 'no findings';
}
