/**
 * Basic scanning on push: after a push into a repository with `scanOnPush`, the installed scanner
 * (trivy or grype) scans the image through the front; its counts are kept for DescribeImages and
 * reported in an `ECR Image Scan` event, as ECR reports them. Without a scanner, nothing is found.
 */
import { DescribeImagesCommand, type ECRClient, type Repository } from '@aws-sdk/client-ecr';
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
  private noScannerNoted = false;

  constructor(private readonly deps: ScanOnPushDeps) {}

  /** Starts the scan of a pushed image when its repository scans on push. */
  pushed(name: string, digest: string, repo: Repository): void {
    if (!repo.imageScanningConfiguration?.scanOnPush) return;
    const { scanner } = this.deps;
    if (scanner) {
      // The push answers at once, as ECR's does; the scan reports later, and stop() waits for it.
      const running = this.scan(scanner, name, digest, repo);
      this.running.add(running);
      void running.finally(() => this.running.delete(running));
    } else if (!this.noScannerNoted) {
      this.noScannerNoted = true;
      this.deps.log(
        'registry: scan on push is on, but no scanner (trivy or grype) is installed: no findings are reported',
      );
    }
  }

  /** Resolves when no scan is running. */
  async done(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async scan(scanner: Scanner, name: string, digest: string, repo: Repository): Promise<void> {
    const { ecr, log } = this.deps;
    let status: 'COMPLETE' | 'FAILED' = 'COMPLETE';
    let counts: SeverityCounts = {};
    try {
      const password = await this.deps.access.password();
      counts = await scanner.scan(`127.0.0.1:${this.deps.port}/${name}@${digest}`, password);
    } catch (error) {
      status = 'FAILED';
      log(`registry: scanning ${name}@${digest} failed: ${String(error)}`);
    }
    this.deps.images.scanned(name, digest, { status, completedAt: new Date(), counts });
    const tags = await ecr
      .send(new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageDigest: digest }] }))
      .then((a) => a.imageDetails?.[0]?.imageTags ?? [])
      .catch(() => []);
    log(`registry: ${scanner.name} scanned ${name}@${digest}: ${status} ${JSON.stringify(counts)}`);
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
