/**
 * Corrections of moto's ECR answers where the registry side knows better: token expiry, image size,
 * last pull and scan in DescribeImages, and the registry kept in step with the ECR calls that change
 * images. moto keeps ECR's records (tags, digests, immutability); the registry's manifests and tags
 * are what it cannot keep: a PutImage moto accepted stores the manifest under its tag in the
 * registry, a BatchDeleteImage takes the tag (or the image) out of it.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  BatchDeleteImageCommand,
  DescribeImagesCommand,
  type ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import type { RegistryBackend } from './backend.ts';
import { type EventEntry, imageAction } from './image-events.ts';
import type { ImageRecords } from './images.ts';
import type { LocalSigning } from './signing.ts';

export interface EcrCorrectionsDeps {
  ecr: ECRClient;
  backend: RegistryBackend;
  images: ImageRecords;
  /** The registry's storage folder. */
  storage: string;
  emit: (entries: EventEntry[]) => Promise<void>;
  /** Managed signing of an image put by the API (the index the release joins). */
  signing?: LocalSigning;
  now?: () => number;
}

const REPOSITORIES = 'docker/registry/v2/repositories';
/** A tag as the Docker reference grammar allows it: no `/`, no leading `.`, so never a path. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** An error answered as ECR answers it (`__type`, HTTP 400). */
export class EcrError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
    this.name = errorType;
  }
}

/** The media type of a PutImage: the one given, else the manifest's own. */
function mediaTypeOf(input: Record<string, unknown>, manifest: string): string {
  if (typeof input.imageManifestMediaType === 'string' && input.imageManifestMediaType)
    return input.imageManifestMediaType;
  try {
    const parsed = JSON.parse(manifest) as { mediaType?: unknown };
    if (typeof parsed.mediaType === 'string') return parsed.mediaType;
  } catch {
    // moto refused it already
  }
  return 'application/vnd.oci.image.manifest.v1+json';
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
      case 'PutImage':
        await this.imagePut(String(input.repositoryName ?? ''), input);
        return out;
      case 'BatchDeleteImage':
        await this.deleted(String(input.repositoryName ?? ''), out);
        return out;
      case 'DeleteRepository': {
        const name = String(input.repositoryName ?? '');
        // The repository is gone from ECR: its images go from the registry storage too.
        rmSync(join(this.deps.storage, REPOSITORIES, name), {
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

  /**
   * A PutImage moto accepted, made real in the registry: the manifest stored under its tag (the
   * registry checks that its blobs were pushed), the image the tag left kept untagged as ECR keeps it
   * (moto drops it), and the PUSH event ECR emits. A manifest the registry refuses, or whose digest
   * is not the one given, is undone in moto and refused as ECR refuses it.
   */
  private async imagePut(repositoryName: string, input: Record<string, unknown>): Promise<void> {
    const { backend, images } = this.deps;
    const manifest = typeof input.imageManifest === 'string' ? input.imageManifest : '';
    const tag = typeof input.imageTag === 'string' && TAG.test(input.imageTag) ? input.imageTag : undefined;
    const body = Buffer.from(manifest, 'utf8');
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const given = typeof input.imageDigest === 'string' ? input.imageDigest : undefined;
    if (given && given !== digest) {
      await this.undo(repositoryName, tag, given);
      throw new EcrError(
        'ImageDigestDoesNotMatchException',
        `The digest ${given} does not match the manifest's digest ${digest}.`,
      );
    }
    const previous = tag ? await backend.manifest(repositoryName, tag) : undefined;
    const stored = await backend.putManifest(
      repositoryName,
      tag ?? digest,
      body,
      mediaTypeOf(input, manifest),
    );
    if (stored.status !== 201) {
      await this.undo(repositoryName, tag, digest);
      throw new EcrError(
        'LayersNotFoundException',
        `The registry does not hold what the manifest of ${repositoryName}@${digest} names: push its layers first (${stored.text.slice(0, 300)})`,
      );
    }
    if (previous && previous.digest !== digest) await this.keepUntagged(repositoryName, previous);
    images.pushed(repositoryName, digest, manifest);
    await this.deps.signing?.pushed(repositoryName, digest);
    await this.deps.emit([imageAction('PUSH', repositoryName, digest, tag)]);
  }

  /** Takes back from moto the image (or the tag) of a PutImage the registry refused. */
  private async undo(repositoryName: string, tag: string | undefined, digest: string): Promise<void> {
    await this.deps.ecr
      .send(
        new BatchDeleteImageCommand({
          repositoryName,
          imageIds: [tag ? { imageTag: tag } : { imageDigest: digest }],
        }),
      )
      .catch(() => undefined);
  }

  /** The image a moved tag left: ECR keeps it untagged, moto drops it, so it is put back. */
  private async keepUntagged(
    repositoryName: string,
    previous: { digest: string; mediaType: string; body: Buffer },
  ): Promise<void> {
    const { ecr } = this.deps;
    const kept = await ecr
      .send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: previous.digest }] }))
      .then((a) => (a.imageDetails?.length ?? 0) > 0)
      .catch(() => false);
    if (kept) return;
    await ecr.send(
      new PutImageCommand({
        repositoryName,
        imageManifest: previous.body.toString('utf8'),
        imageDigest: previous.digest,
        imageManifestMediaType: previous.mediaType || undefined,
      }),
    );
  }

  private tagPath(repositoryName: string, tag: string): string {
    return join(this.deps.storage, REPOSITORIES, repositoryName, '_manifests/tags', tag);
  }

  /**
   * Images BatchDeleteImage left with no tag go from the registry too; a tag taken off an image that
   * keeps others goes from the registry's tags; DELETE events for each id.
   */
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
    // The registry (distribution 2.8) deletes manifests by digest only: a tag goes from its storage.
    for (const tag of deleted.map((id) => id.imageTag)) {
      if (tag && TAG.test(tag)) rmSync(this.tagPath(repositoryName, tag), { recursive: true, force: true });
    }
    await this.deps.emit(
      deleted
        .filter((id) => id.imageDigest)
        .map((id) => imageAction('DELETE', repositoryName, String(id.imageDigest), id.imageTag)),
    );
  }
}
