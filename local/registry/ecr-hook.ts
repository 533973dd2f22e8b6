/**
 * Corrections of moto's ECR answers where the registry side knows better: token expiry, image size,
 * last pull and scan in DescribeImages, and the registry storage kept in step with deletes.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import type { RegistryBackend } from './backend.ts';
import { type EventEntry, imageAction } from './image-events.ts';
import type { ImageRecords } from './images.ts';

export interface EcrCorrectionsDeps {
  ecr: ECRClient;
  backend: RegistryBackend;
  images: ImageRecords;
  /** The registry's storage folder. */
  storage: string;
  emit: (entries: EventEntry[]) => Promise<void>;
  now?: () => number;
}

/** Corrects moto's ECR answers (see gateway EcrHook). */
export class EcrCorrections {
  constructor(private readonly deps: EcrCorrectionsDeps) {}

  /** The answer to `operation`, corrected; `output` is changed in place. */
  async correct(operation: string, input: Record<string, unknown>, output: unknown): Promise<unknown> {
    const out = output as Record<string, unknown>;
    switch (operation) {
      case 'GetAuthorizationToken': {
        // moto gives a fixed expiry in 2015; ECR tokens are valid for 12 hours.
        const now = (this.deps.now ?? Date.now)();
        const data = (out.authorizationData ?? []) as Array<Record<string, unknown>>;
        for (const item of data) item.expiresAt = Math.floor(now / 1000) + 12 * 3600;
        return out;
      }
      case 'DescribeImages':
        this.deps.images.describe(
          String(input.repositoryName ?? ''),
          (out.imageDetails ?? []) as Array<Record<string, unknown>>,
        );
        return out;
      case 'BatchDeleteImage':
        await this.deleted(String(input.repositoryName ?? ''), out);
        return out;
      case 'DeleteRepository': {
        const name = String(input.repositoryName ?? '');
        // The repository is gone from ECR: its images go from the registry storage too.
        rmSync(join(this.deps.storage, 'docker/registry/v2/repositories', name), {
          recursive: true,
          force: true,
        });
        this.deps.images.forgetRepository(name);
        return out;
      }
      default:
        return out;
    }
  }

  /** Images BatchDeleteImage left with no tag go from the registry too; DELETE events for each id. */
  private async deleted(repositoryName: string, out: Record<string, unknown>): Promise<void> {
    const { ecr, backend, images } = this.deps;
    const deleted = (out.imageIds ?? []) as Array<{ imageDigest?: string; imageTag?: string }>;
    for (const digest of new Set(deleted.map((id) => id.imageDigest).filter(Boolean) as string[])) {
      const still = await ecr
        .send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }))
        .then((a) => (a.imageDetails?.length ?? 0) > 0)
        .catch(() => false);
      if (!still) {
        await backend.deleteManifest(repositoryName, digest);
        images.forget(repositoryName, digest);
      }
    }
    await this.deps.emit(
      deleted
        .filter((id) => id.imageDigest)
        .map((id) => imageAction('DELETE', repositoryName, String(id.imageDigest), id.imageTag)),
    );
  }
}
