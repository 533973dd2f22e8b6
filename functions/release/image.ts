/**
 * What the release does in ECR: describe the built image (it must exist, by the digest the build
 * recorded), read its scan, and point the tag at it with `PutImage` of the exact manifest the build
 * pushed. Moving the tag is idempotent: a tag that already names this digest is a release done.
 */
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImageSigningStatusCommand,
  DescribeImagesCommand,
  type ECRClient,
  type ImageDetail,
  type ImageSigningStatus,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { MANIFEST_TYPES } from '../shared/media-types.ts';
import { scanState } from '../shared/scan-status.ts';
import { normalizeCounts, type SeverityCounts } from '../shared/severity.ts';
import { classify, errorName, PermanentError } from './errors.ts';
import type { ScanState, SigningState } from './gate.ts';

function isNotFound(error: unknown): boolean {
  return ['ImageNotFoundException', 'RepositoryNotFoundException'].includes(errorName(error));
}

/** The image `repository@digest`, or undefined when the repository has no such image. */
export async function describeImage(
  ecr: ECRClient,
  repository: string,
  digest: string,
): Promise<ImageDetail | undefined> {
  try {
    const out = await ecr.send(
      new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
    );
    return out.imageDetails?.find((image) => image.imageDigest === digest);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw classify(error, 'DescribeImages');
  }
}

/** The digest the tag names in `repository`, or undefined when it names none. */
export async function digestOfTag(
  ecr: ECRClient,
  repository: string,
  tag: string,
): Promise<string | undefined> {
  try {
    const out = await ecr.send(
      new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }),
    );
    return out.imageDetails?.[0]?.imageDigest;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw classify(error, 'DescribeImages');
  }
}

/** The scan of `repository@digest` as ECR reports it (basic or enhanced scanning). */
export async function scanOf(ecr: ECRClient, repository: string, digest: string): Promise<ScanState> {
  try {
    const out = await ecr.send(
      new DescribeImageScanFindingsCommand({ repositoryName: repository, imageId: { imageDigest: digest } }),
    );
    const status = out.imageScanStatus?.status ?? 'UNKNOWN';
    const description = out.imageScanStatus?.description;
    return stateOf(status, normalizeCounts(out.imageScanFindings?.findingSeverityCounts), description);
  } catch (error) {
    // No scan yet (scan on push not started, or off): the gate waits until its deadline.
    if (errorName(error) === 'ScanNotFoundException') return { kind: 'pending', status: 'NOT_STARTED' };
    throw classify(error, 'DescribeImageScanFindings');
  }
}

/**
 * The signature of `repository@digest` as ECR managed signing reports it: complete when a profile's
 * status is COMPLETE, failed when one FAILED (and none completed), otherwise pending (no status yet:
 * signing has not started). A denied call is the function's permissions, said in the hold's reason.
 */
export async function signingOf(ecr: ECRClient, repository: string, digest: string): Promise<SigningState> {
  let statuses: ImageSigningStatus[];
  try {
    const out = await ecr.send(
      new DescribeImageSigningStatusCommand({ repositoryName: repository, imageId: { imageDigest: digest } }),
    );
    statuses = out.signingStatuses ?? [];
  } catch (error) {
    const name = errorName(error);
    if (name === 'AccessDeniedException')
      return {
        kind: 'denied',
        reason: `DescribeImageSigningStatus of ${repository} was denied: the release role reads the signing status of the stack's repositories only`,
      };
    if (name === 'ImageNotFoundException') return { kind: 'pending', status: 'IMAGE_NOT_FOUND' };
    throw classify(error, 'DescribeImageSigningStatus');
  }
  if (statuses.some((s) => s.status === 'COMPLETE')) return { kind: 'complete' };
  const failed = statuses.find((s) => s.status === 'FAILED');
  if (failed)
    return {
      kind: 'failed',
      ...(failed.failureCode ? { code: failed.failureCode } : {}),
      ...(failed.failureReason ? { reason: failed.failureReason } : {}),
    };
  return { kind: 'pending', status: statuses[0]?.status ?? 'NOT_STARTED' };
}

/** A scan status with its counts, by the one table of scan statuses (functions/shared/scan-status.ts). */
function stateOf(status: string, counts: SeverityCounts, description?: string): ScanState {
  switch (scanState(status)) {
    case 'complete':
      return { kind: 'complete', counts };
    case 'failed':
      return { kind: 'failed', status, ...(description ? { description } : {}) };
    default:
      return { kind: 'pending', status };
  }
}

/** The scan state a scan event reports. */
export function scanOfEvent(status: string, counts: SeverityCounts): ScanState {
  return stateOf(status, counts);
}

/** What moving the tag did. */
export type TagMove =
  | { kind: 'moved' }
  | { kind: 'already' }
  | { kind: 'taken'; existingDigest: string }
  | { kind: 'denied'; reason: string };

/** PutImage's answers for a tag that names an image already: ECR's, and moto's. */
function isTagTaken(error: unknown): boolean {
  return ['ImageAlreadyExistsException', 'ImageTagAlreadyExistsException'].includes(errorName(error));
}

/**
 * Points `tag` at `repository@digest` with `PutImage` of the manifest the build pushed. A tag that
 * names the digest already is `already`; one that names another image which the repository keeps
 * (immutable) is `taken`; a repository this stack does not manage refuses (`denied`: the role may put
 * images only in repositories tagged as the stack's).
 */
export async function moveTag(
  ecr: ECRClient,
  repository: string,
  digest: string,
  tag: string,
): Promise<TagMove> {
  // The tag may name the image already (a retry, or a build that pushed the tag itself): then no
  // write at all, which also holds in a repository the stack may read but not write.
  const image = await describeImage(ecr, repository, digest);
  if (image?.imageTags?.includes(tag)) return { kind: 'already' };
  let manifest: { imageManifest?: string; imageManifestMediaType?: string } | undefined;
  try {
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: repository,
        imageIds: [{ imageDigest: digest }],
        acceptedMediaTypes: [...MANIFEST_TYPES],
      }),
    );
    manifest = out.images?.find((image) => image.imageId?.imageDigest === digest) ?? out.images?.[0];
  } catch (error) {
    if (errorName(error) === 'AccessDeniedException')
      return { kind: 'denied', reason: deniedReason(repository) };
    throw classify(error, 'BatchGetImage');
  }
  if (!manifest?.imageManifest)
    throw new PermanentError(`BatchGetImage found no manifest of ${repository}@${digest}`);
  try {
    await ecr.send(
      new PutImageCommand({
        repositoryName: repository,
        imageManifest: manifest.imageManifest,
        ...(manifest.imageManifestMediaType
          ? { imageManifestMediaType: manifest.imageManifestMediaType }
          : {}),
        imageTag: tag,
        imageDigest: digest,
      }),
    );
    return { kind: 'moved' };
  } catch (error) {
    if (errorName(error) === 'AccessDeniedException')
      return { kind: 'denied', reason: deniedReason(repository) };
    if (!isTagTaken(error)) throw classify(error, 'PutImage');
  }
  const existing = await digestOfTag(ecr, repository, tag);
  if (existing === digest) return { kind: 'already' };
  if (!existing)
    throw new PermanentError(`PutImage refused ${repository}:${tag}, but the tag names no image`);
  return { kind: 'taken', existingDigest: existing };
}

function deniedReason(repository: string): string {
  return `repository "${repository}" is not managed by this stack (no managed-by tag): the release may move tags only in the stack's repositories`;
}
