/**
 * `submit --wait-scan` / `--fail-on` after the release: the images whose scans are waited for (the
 * pushed image, or every leg's image of a multi-platform upload: scanners scan the children of an
 * index, never the index), one line per image as its scan completes, and the gate applied to the
 * worst of them.
 */
import type { UploadRecord } from '../functions/shared/upload-record.ts';
import { type FailOnSeverity, SEVERITIES } from './args.ts';
import { CliError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { describeCounts, findingsAtOrAbove, type ScanResult, type SeverityCounts } from './scan.ts';
import { stripControl } from './terminal-text.ts';

/** One image whose scan is waited for: a leg's (named by its platform), or the upload's only image. */
export interface ScanTarget {
  digest: string;
  platform?: string | undefined;
}

/** The completed scan of one image, and what `--fail-on` made of it. */
export interface ImageScan extends ScanResult {
  digest: string;
  platform?: string | undefined;
  gate: 'passed' | 'failed' | 'none';
}

/** What `--output json` carries as `scan`: the worst image's scan, the gate, and each leg's. */
export type ScanSummary = ScanResult & {
  failOn?: FailOnSeverity | undefined;
  gate: 'passed' | 'failed' | 'none';
  /** The leg whose scan the gate judged (the worst), for several platforms. */
  platform?: string | undefined;
  /** Each leg's scan, in the upload's platform order (several platforms only). */
  legs?: ImageScan[] | undefined;
};

/**
 * The images to wait for: each leg's, in the upload's platform order, when the record has several
 * legs; else the image the build pushed. A leg without a digest is an error: its image cannot be scanned.
 */
export function scanTargets(record: UploadRecord, pushedDigest: string | undefined): ScanTarget[] {
  const legs = record.legs ?? [];
  if (legs.length < 2) {
    if (!pushedDigest) throw new CliError('no scan to wait for: the build reported no digest');
    return [{ digest: pushedDigest }];
  }
  return legs.map((leg) => {
    if (!leg.digest) {
      throw new CliError(
        `no scan to wait for: the ${stripControl(leg.platform)} leg reported no digest`,
        `see the upload with: ecr-pipeline status ${record.key}`,
      );
    }
    return { digest: leg.digest, platform: leg.platform };
  });
}

/** The severities, highest first, with UNDEFINED last: the order two scans are compared in. */
function rank(): Array<keyof SeverityCounts> {
  return [...[...SEVERITIES].reverse(), 'UNDEFINED'];
}

/** Compares two scans' counts, highest severity first: negative when `a` is worse than `b`. */
export function compareCounts(a: SeverityCounts, b: SeverityCounts): number {
  for (const severity of rank()) {
    const diff = (b[severity] ?? 0) - (a[severity] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The worst of the scans (most findings at the highest severity); the first of equals. */
export function worstScan<T extends ScanResult>(scans: readonly T[]): T | undefined {
  return scans.reduce<T | undefined>(
    (worst, scan) => (worst === undefined || compareCounts(scan.counts, worst.counts) < 0 ? scan : worst),
    undefined,
  );
}

/** `scan (basic): HIGH 2` for the only image, `scan linux/arm64 (basic): HIGH 2` for a leg's. */
export function scanLine(scan: ScanResult & { platform?: string | undefined }): string {
  const whose = scan.platform ? ` ${stripControl(scan.platform)}` : '';
  return `scan${whose} (${scan.scanner}): ${describeCounts(scan.counts)}`;
}

/**
 * Waits for each target's scan in turn (ECR scans them all at once, so the wait is the slowest
 * one's), prints its line as it completes, and applies `--fail-on` to the worst; the summary for JSON.
 */
export async function waitForScans(
  targets: readonly ScanTarget[],
  wait: (target: ScanTarget) => Promise<ScanResult>,
  failOn: FailOnSeverity | undefined,
  info: (line: string) => void,
): Promise<ScanSummary> {
  const scans: ImageScan[] = [];
  for (const target of targets) {
    const found = await wait(target);
    const over = failOn ? findingsAtOrAbove(found.counts, failOn) : [];
    const gate = !failOn ? 'none' : over.length > 0 ? 'failed' : 'passed';
    const scan: ImageScan = { ...found, digest: target.digest, platform: target.platform, gate };
    scans.push(scan);
    info(scanLine(scan));
  }
  const worst = worstScan(scans);
  if (!worst) throw new CliError('no scan to wait for: no image was pushed');
  if (worst.gate === 'failed' && failOn) {
    const failing = scans
      .filter((scan) => scan.gate === 'failed')
      .map((scan) => {
        const severities = `(${findingsAtOrAbove(scan.counts, failOn).join(', ')})`;
        return scan.platform ? `${stripControl(scan.platform)} ${severities}` : severities;
      });
    const where = scans.length > 1 ? 'in ' : '';
    info(`scan gate: findings at or above ${failOn} ${where}${failing.join(', ')}; exit ${EXIT.scanGate}`);
  }
  const several = scans.length > 1;
  return {
    scanner: worst.scanner,
    counts: worst.counts,
    failOn,
    gate: worst.gate,
    ...(several ? { platform: worst.platform, legs: scans } : {}),
  };
}
