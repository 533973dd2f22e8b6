/**
 * Basic scanning on push: after a push into a repository with `scanOnPush`, the installed scanner
 * (trivy or grype) scans the image through the front; its counts are kept for DescribeImages and
 * reported in an `ECR Image Scan` event, as ECR reports them. Without a scanner, the result is the
 * one moto's ECR reports (StartImageScan, then DescribeImageScanFindings: a fixed finding, not a scan
 * of the image), said as such in the log, so that what reads scans (the release gate) runs end to end.
 */
import {
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  type ECRClient,
  type Repository,
  StartImageScanCommand,
} from '@aws-sdk/client-ecr';
import type { Scanner, SeverityCounts } from '../scanner.ts';
import type { RegistryAccess } from './access.ts';
import { type EventEntry, imageScan } from './image-events.ts';
import type { ImageRecords } from './images.ts';

export interface ScanOnPushDeps {
  scanner: Scanner | undefined;
  ecr: ECRClient;
  access: RegistryAccess;
  images: ImageRecords;
  /** Where the front listens, for the scanner to pull from. */
  port: number;
  emit: (entries: EventEntry[]) => Promise<void>;
  log: (line: string) => void;
}

/** The scans on push, run in the background; `done()` waits for the running ones. */
export class ScanOnPush {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: ScanOnPushDeps) {}

  /** Starts the scan of a pushed image when its repository scans on push. */
  pushed(name: string, digest: string, repo: Repository): void {
    if (!repo.imageScanningConfiguration?.scanOnPush) return;
    const { scanner } = this.deps;
    // The push answers at once, as ECR's does; the scan reports later, and stop() waits for it.
    const running = scanner ? this.scan(scanner, name, digest, repo) : this.motoScan(name, digest, repo);
    this.running.add(running);
    void running.finally(() => this.running.delete(running));
  }

  /** Resolves when no scan is running. */
  async done(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async scan(scanner: Scanner, name: string, digest: string, repo: Repository): Promise<void> {
    let status: 'COMPLETE' | 'FAILED' = 'COMPLETE';
    let counts: SeverityCounts = {};
    try {
      const password = await this.deps.access.password();
      counts = await scanner.scan(`127.0.0.1:${this.deps.port}/${name}@${digest}`, password);
    } catch (error) {
      status = 'FAILED';
      this.deps.log(`registry: scanning ${name}@${digest} failed: ${String(error)}`);
    }
    this.deps.images.scanned(name, digest, { status, completedAt: new Date(), counts });
    this.deps.log(`registry: ${scanner.name} scanned ${name}@${digest}: ${status} ${JSON.stringify(counts)}`);
    await this.report(name, digest, repo, status, counts);
  }

  /**
   * No scanner installed: the result moto's ECR reports for the image (moto answers a fixed finding,
   * CVE-9999-9999 HIGH, unless told otherwise), labelled as moto's in the log.
   */
  private async motoScan(name: string, digest: string, repo: Repository): Promise<void> {
    const { ecr, log } = this.deps;
    const imageId = { imageDigest: digest };
    let status: 'COMPLETE' | 'FAILED' = 'FAILED';
    let counts: SeverityCounts = {};
    try {
      // moto scans an image once a day: a second start is refused, and the first result stands.
      await ecr.send(new StartImageScanCommand({ repositoryName: name, imageId })).catch((error: unknown) => {
        if ((error as Error).name !== 'LimitExceededException') throw error;
      });
      const found = await ecr.send(new DescribeImageScanFindingsCommand({ repositoryName: name, imageId }));
      status = found.imageScanStatus?.status === 'COMPLETE' ? 'COMPLETE' : 'FAILED';
      counts = (found.imageScanFindings?.findingSeverityCounts ?? {}) as SeverityCounts;
    } catch (error) {
      log(`registry: moto's ECR gave no scan result for ${name}@${digest}: ${String(error)}`);
    }
    this.deps.images.scanned(name, digest, { status, completedAt: new Date(), counts });
    log(
      `registry: no scanner (trivy or grype) installed: ${name}@${digest} gets the scan result moto's ECR reports ` +
        `(moto's reported result, not a scan of the image): ${status} ${JSON.stringify(counts)}`,
    );
    await this.report(name, digest, repo, status, counts);
  }

  /** The `ECR Image Scan` event of a finished scan, with the image's tags as ECR gives them. */
  private async report(
    name: string,
    digest: string,
    repo: Repository,
    status: 'COMPLETE' | 'FAILED',
    counts: SeverityCounts,
  ): Promise<void> {
    const tags = await this.deps.ecr
      .send(new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageDigest: digest }] }))
      .then((a) => a.imageDetails?.[0]?.imageTags ?? [])
      .catch(() => []);
    await this.deps.emit([
      imageScan({
        status,
        name,
        digest,
        tags,
        counts,
        ...(repo.repositoryArn ? { repositoryArn: repo.repositoryArn } : {}),
      }),
    ]);
  }
}
