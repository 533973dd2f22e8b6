/**
 * What moto's ECR does not keep about an image and ECR reports: its real size, when it was last
 * pulled and its scan on push; written into moto's DescribeImages answers.
 */
import type { SeverityCounts } from '../scanner.ts';

export interface ImageScan {
  status: 'COMPLETE' | 'FAILED';
  completedAt: Date;
  counts: SeverityCounts;
}

interface ImageRecord {
  sizeInBytes?: number;
  lastPulledAt?: Date;
  scan?: ImageScan;
}

/** The size ECR reports for an image: the sum of its (compressed) layers, for a single-image manifest. */
export function manifestSize(manifest: string): number | undefined {
  try {
    const parsed = JSON.parse(manifest) as { layers?: Array<{ size?: number }>; config?: { size?: number } };
    if (!Array.isArray(parsed.layers)) return undefined;
    return parsed.layers.reduce((sum, layer) => sum + (layer.size ?? 0), 0);
  } catch {
    return undefined;
  }
}

/** Image records by repository and digest. */
export class ImageRecords {
  private readonly records = new Map<string, ImageRecord>();

  private update(repository: string, digest: string, change: ImageRecord): void {
    const key = `${repository}@${digest}`;
    this.records.set(key, { ...this.records.get(key), ...change });
  }

  pushed(repository: string, digest: string, manifest: string): void {
    this.update(repository, digest, { sizeInBytes: manifestSize(manifest) });
  }

  pulled(repository: string, digest: string, at: Date): void {
    this.update(repository, digest, { lastPulledAt: at });
  }

  scanned(repository: string, digest: string, scan: ImageScan): void {
    this.update(repository, digest, { scan });
  }

  forget(repository: string, digest: string): void {
    this.records.delete(`${repository}@${digest}`);
  }

  forgetRepository(repository: string): void {
    for (const key of [...this.records.keys()])
      if (key.startsWith(`${repository}@`)) this.records.delete(key);
  }

  /** Writes size, last pull and scan into DescribeImages' `imageDetails` of one repository. */
  describe(repository: string, details: Array<Record<string, unknown>>): void {
    for (const detail of details) {
      const record = this.records.get(`${repository}@${String(detail.imageDigest)}`);
      if (record?.sizeInBytes !== undefined) detail.imageSizeInBytes = record.sizeInBytes;
      if (record?.lastPulledAt) detail.lastRecordedPullTime = record.lastPulledAt.getTime() / 1000;
      if (record?.scan) {
        detail.imageScanStatus = {
          status: record.scan.status,
          description:
            record.scan.status === 'COMPLETE' ? 'The scan was completed successfully.' : 'The scan failed.',
        };
        detail.imageScanFindingsSummary = {
          imageScanCompletedAt: record.scan.completedAt.getTime() / 1000,
          findingSeverityCounts: record.scan.counts,
        };
      }
    }
  }
}
