/**
 * A manifest push, as ECR takes it: an immutable tag is never overwritten (one PUT per
 * repository:reference at a time, so two pushes of a tag cannot both pass the check); a stored
 * manifest is recorded in moto's ECR with PutImage under its real digest and media type; the image a
 * moved tag left stays, untagged; then the PUSH event and the scan on push.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  type ECRClient,
  type Image,
  PutImageCommand,
  type Repository,
} from '@aws-sdk/client-ecr';
import { isTagImmutable } from '../../functions/shared/tag-immutability.ts';
import { readBody } from '../http.ts';
import { MANIFEST_TYPES, type RegistryBackend, registryError } from './backend.ts';
import { type EventEntry, imageAction } from './image-events.ts';
import type { ImageRecords } from './images.ts';
import type { ScanOnPush } from './scans.ts';
import type { LocalSigning } from './signing.ts';

export interface ManifestPushDeps {
  ecr: ECRClient;
  backend: RegistryBackend;
  images: ImageRecords;
  scans: ScanOnPush;
  /** Managed signing: signs the push before it is answered, as a rule matches. */
  signing?: LocalSigning;
  emit: (entries: EventEntry[]) => Promise<void>;
  log: (line: string) => void;
}

/**
 * A manifest with a `subject`, the index under an OCI 1.1 fallback tag (`sha256-<hex>`), or a
 * cosign signature under its attachment tag (`sha256-<hex>.sig`).
 */
export function isReferrer(manifest: string, tag: string | undefined): boolean {
  if (tag !== undefined && /^sha256-[0-9a-f]{64}(\.sig)?$/.test(tag)) return true;
  try {
    const parsed = JSON.parse(manifest) as { subject?: unknown };
    return typeof parsed.subject === 'object' && parsed.subject !== null;
  } catch {
    return false;
  }
}

/** Runs `work` after every earlier work of the same key has settled. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => {});
    this.tails.set(key, tail);
    try {
      await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Manifest PUTs into repositories of the local ECR. */
export class ManifestPush {
  private readonly tagLock = new KeyedLock();

  constructor(private readonly deps: ManifestPushDeps) {}

  /** Handles the PUT, held under the repository:reference lock until its answer is sent. */
  async put(req: IncomingMessage, res: ServerResponse, name: string, reference: string, repo: Repository) {
    await this.tagLock.run(`${name}:${reference}`, async () => {
      const answered = new Promise<void>((resolve) => res.once('close', resolve));
      await this.putManifest(req, res, name, reference, repo);
      await answered;
    });
  }

  private async putManifest(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    reference: string,
    repo: Repository,
  ): Promise<void> {
    const body = await readBody(req);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const isTag = !reference.startsWith('sha256:');
    const mediaType = String(req.headers['content-type'] ?? '').split(';')[0] || undefined;
    const existing = isTag ? await this.tagged(name, reference) : undefined;
    // As ECR: IMMUTABLE, or IMMUTABLE_WITH_EXCLUSION unless an exclusion filter matches the tag.
    const exclusions = (repo.imageTagMutabilityExclusionFilters ?? []).flatMap((f) =>
      f.filter ? [f.filter] : [],
    );
    if (
      existing &&
      existing.imageId?.imageDigest !== digest &&
      isTagImmutable({ mutability: repo.imageTagMutability, exclusions }, reference)
    ) {
      registryError(
        res,
        400,
        'TAG_INVALID',
        `The image tag '${reference}' already exists in the '${name}' repository and cannot be overwritten because the repository is immutable.`,
      );
      return;
    }
    this.deps.backend.forward(req, res, body, async (status) => {
      if (status !== 201) return;
      const manifest = body.toString('utf8');
      const tag = isTag ? reference : undefined;
      await this.record(name, manifest, digest, mediaType, tag);
      await this.keepUntagged(name, existing, digest);
      this.deps.images.pushed(name, digest, manifest);
      this.deps.log(`registry: pushed ${name}${tag ? `:${tag}` : ''} ${digest}`);
      // ECR reports a referrer (an SBOM, a provenance) as an `ECR Referrer Action`, not as an image
      // push, and scans no referrer; here the OCI 1.1 fallback tag's index stands for ECR's own
      // record of referrers, and is one too.
      if (isReferrer(manifest, tag)) return;
      await this.deps.signing?.pushed(name, digest);
      await this.deps.emit([imageAction('PUSH', name, digest, tag)]);
      this.deps.scans.pushed(name, digest, repo);
    });
  }

  /** The image a tag names now, if any. */
  private tagged(name: string, tag: string): Promise<Image | undefined> {
    return this.deps.ecr
      .send(new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageTag: tag }] }))
      .then((a) => a.images?.[0])
      .catch(() => undefined);
  }

  /** PutImage of the stored manifest, under its real digest and media type. */
  private async record(
    name: string,
    manifest: string,
    digest: string,
    mediaType: string | undefined,
    tag: string | undefined,
  ): Promise<void> {
    try {
      await this.deps.ecr.send(
        new PutImageCommand({
          repositoryName: name,
          imageManifest: manifest,
          imageDigest: digest,
          imageManifestMediaType: mediaType && MANIFEST_TYPES.includes(mediaType) ? mediaType : undefined,
          imageTag: tag,
        }),
      );
    } catch (error) {
      // The same manifest under the same tag again: ECR accepts that push as a no-op.
      if ((error as Error).name !== 'ImageAlreadyExistsException') throw error;
    }
  }

  /** The tag moved: ECR keeps the image it left, untagged; moto drops it, so it is put back. */
  private async keepUntagged(name: string, existing: Image | undefined, digest: string): Promise<void> {
    const previous = existing?.imageId?.imageDigest;
    if (!existing?.imageManifest || !previous || previous === digest) return;
    const kept = await this.deps.ecr
      .send(new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageDigest: previous }] }))
      .then((a) => (a.imageDetails?.length ?? 0) > 0)
      .catch(() => false);
    if (kept) return;
    await this.deps.ecr.send(
      new PutImageCommand({
        repositoryName: name,
        imageManifest: existing.imageManifest,
        imageDigest: previous,
        imageManifestMediaType: existing.imageManifestMediaType,
      }),
    );
  }
}
