/**
 * The join of a multi-platform upload: each leg (one build per platform) pushes a plain image
 * manifest by digest; once every leg has, the release puts one OCI image index over them with
 * `PutImage` (by digest, untagged: the tag moves onto it after the gates) and no extra build. The
 * index lists the legs in the upload's platform order, so the same legs always make the same index
 * digest, whatever order their builds ended in and however often they were reported.
 */
import { createHash } from 'node:crypto';
import { BatchGetImageCommand, type ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import type { BuildDurations } from '../shared/build-durations.ts';
import { IMAGE_MANIFEST_TYPES, MANIFEST_TYPES, OCI_INDEX } from '../shared/media-types.ts';
import { parsePlatform } from '../shared/platform.ts';
import type { UploadLeg, UploadRecord } from '../shared/upload-record.ts';
import { classify, errorName, PermanentError } from './errors.ts';
import { type GateDecision, judge, type ScanState } from './gate.ts';

/** True when the record's upload is built as several legs joined into one index. */
export function isJoined(record: UploadRecord): boolean {
  return (record.legs?.length ?? 0) > 1;
}

/** The digests of the legs that pushed, in the upload's platform order. */
export function legDigests(record: UploadRecord): string[] {
  return (record.legs ?? []).flatMap((leg) => (leg.digest ? [leg.digest] : []));
}

/** The platforms whose leg has not pushed yet. */
export function missingLegs(record: UploadRecord): string[] {
  return (record.legs ?? []).filter((leg) => !leg.digest).map((leg) => leg.platform);
}

/** What one leg's success does to the record. */
export type LegOutcome =
  | { kind: 'recorded'; record: UploadRecord }
  | { kind: 'already' }
  | { kind: 'ignored'; why: string };

/** The record with `platform`'s leg pushed as `digest` by `buildId`, or why the report changes nothing. */
export function recordLeg(
  record: UploadRecord,
  build: { platform: string; buildId: string; digest: string; durations?: BuildDurations },
  at: Date,
): LegOutcome {
  const { platform, buildId, digest, durations } = build;
  const legs = record.legs ?? [];
  const index = legs.findIndex((leg) => leg.platform === platform);
  const leg = legs[index];
  if (!leg) return { kind: 'ignored', why: `the upload has no ${platform} leg` };
  if (leg.buildId !== undefined && leg.buildId !== buildId) {
    return { kind: 'ignored', why: `the ${platform} leg is build ${leg.buildId}, not ${buildId}` };
  }
  if (leg.digest === digest) return { kind: 'already' };
  if (leg.digest !== undefined) {
    return { kind: 'ignored', why: `the ${platform} leg pushed ${leg.digest} already` };
  }
  const next: UploadLeg = {
    ...leg,
    buildId,
    digest,
    finishedAt: at.toISOString(),
    ...(durations ? { durations } : {}),
  };
  return {
    kind: 'recorded',
    record: { ...record, legs: legs.map((other, i) => (i === index ? next : other)) },
  };
}

/** One child of the index: a leg's manifest as the registry holds it. */
export interface ChildManifest {
  platform: string;
  digest: string;
  mediaType: string;
  /** Length in bytes of the manifest as stored (the descriptor's size). */
  size: number;
}

/** The OCI image index of `children`, in their order, as the exact text whose digest names it. */
export function indexManifest(children: ChildManifest[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((child) => ({
      mediaType: child.mediaType,
      digest: child.digest,
      size: child.size,
      platform: parsePlatform(child.platform),
    })),
  });
}

/** `sha256:<hex>` of a manifest's bytes. */
export function manifestDigest(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** The children of the index: each leg's manifest read back (media type and size), in leg order. */
export async function childManifests(
  ecr: ECRClient,
  repository: string,
  legs: UploadLeg[],
): Promise<ChildManifest[]> {
  let images: {
    imageId?: { imageDigest?: string };
    imageManifest?: string;
    imageManifestMediaType?: string;
  }[];
  try {
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: repository,
        imageIds: legs.map((leg) => ({ imageDigest: leg.digest as string })),
        acceptedMediaTypes: [...MANIFEST_TYPES],
      }),
    );
    images = out.images ?? [];
  } catch (error) {
    throw classify(error, 'BatchGetImage of the legs');
  }
  return legs.map((leg) => {
    const image = images.find((found) => found.imageId?.imageDigest === leg.digest);
    if (!image?.imageManifest) {
      throw new PermanentError(`the ${leg.platform} leg's image ${repository}@${leg.digest} is gone`);
    }
    const mediaType = image.imageManifestMediaType ?? mediaTypeOf(image.imageManifest);
    if (!IMAGE_MANIFEST_TYPES.includes(mediaType)) {
      throw new PermanentError(
        `the ${leg.platform} leg pushed a ${mediaType}, not an image manifest: an index cannot hold it`,
      );
    }
    return {
      platform: leg.platform,
      digest: leg.digest as string,
      mediaType,
      size: Buffer.byteLength(image.imageManifest),
    };
  });
}

function mediaTypeOf(manifest: string): string {
  try {
    const parsed = JSON.parse(manifest) as { mediaType?: unknown };
    return typeof parsed.mediaType === 'string' ? parsed.mediaType : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Joins the legs of `record` (every one pushed) into one OCI image index in its repository, by
 * digest and untagged; returns the index's digest. Putting the same index again (a retry, a leg
 * reported twice) is the same image: ECR's ImageAlreadyExists is success.
 */
export async function joinLegs(ecr: ECRClient, repository: string, legs: UploadLeg[]): Promise<string> {
  const missing = legs.filter((leg) => !leg.digest).map((leg) => leg.platform);
  if (missing.length > 0) throw new PermanentError(`the ${missing.join(', ')} legs have not pushed`);
  const text = indexManifest(await childManifests(ecr, repository, legs));
  const digest = manifestDigest(text);
  try {
    await ecr.send(
      new PutImageCommand({
        repositoryName: repository,
        imageManifest: text,
        imageManifestMediaType: OCI_INDEX,
        imageDigest: digest,
      }),
    );
  } catch (error) {
    if (errorName(error) !== 'ImageAlreadyExistsException') throw classify(error, 'PutImage of the index');
  }
  return digest;
}

/**
 * The gate over every leg's image: the index releases only when each child passes; a child that
 * holds holds the whole release, naming its platform; one still scanning makes the release wait.
 * The counts are the legs' findings added up.
 */
export function judgeLegs(
  release: Parameters<typeof judge>[0],
  scans: { platform: string; scan: ScanState }[],
  now: Date,
): GateDecision {
  const decisions = scans.map(({ platform, scan }) => ({ platform, decision: judge(release, scan, now) }));
  const counts: Record<string, number> = {};
  for (const { decision } of decisions) {
    // Stryker disable next-line ConditionalExpression,StringLiteral: a waiting decision carries no counts; the test narrows the type
    if (decision.kind === 'wait') continue;
    for (const [severity, n] of Object.entries(decision.counts ?? {})) {
      counts[severity] = (counts[severity] ?? 0) + (n ?? 0);
    }
  }
  const withCounts = Object.keys(counts).length > 0 ? { counts } : {};
  const holds = decisions.flatMap(({ platform, decision }) =>
    decision.kind === 'hold' ? [`${platform}: ${decision.reason}`] : [],
  );
  if (holds.length > 0) return { kind: 'hold', reason: holds.join('; '), ...withCounts };
  if (decisions.some(({ decision }) => decision.kind === 'wait')) return { kind: 'wait' };
  return { kind: 'release', ...withCounts };
}
