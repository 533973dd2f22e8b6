/**
 * The upload record: a small JSON object the build-trigger function writes once per uploaded object
 * version, under a reserved prefix of the contexts bucket. Written with `If-None-Match: *`, it is the
 * durable claim that makes a duplicate S3 delivery a no-op in any container; its owner and expiry let
 * the owner's own retry, or anyone once the claim has expired without a build, carry on; its content
 * tells the command-line tool what became of the upload (accepted with its build, or rejected and why).
 */
import { createHash } from 'node:crypto';
import type { BuildDurations } from './build-durations.ts';
import type { Attestation, RejectionCode, ReleaseGate, ReleaseVerdict } from './contract.ts';
import type { Severity, SeverityCounts } from './severity.ts';

/** Folder of the records, appended to the stack's key prefix. The `.json` suffix never matches a trigger filter. */
export const UPLOAD_RECORD_DIR = '.ecr-pipeline/uploads/';

/**
 * Folder of the image index, appended to the stack's key prefix: one small object per built image
 * (`<sha256 of repository@digest>.json`) that names the upload record, so that a scan result, which
 * knows the image but not the upload, finds the record.
 */
export const IMAGE_INDEX_DIR = '.ecr-pipeline/images/';

/**
 * Folder of the scan memory: per image (`<sha256 of repository@digest>.json`), the findings last
 * notified, so that enhanced scanning's rescans notify a digest only when its findings change.
 */
export const SCAN_MEMORY_DIR = '.ecr-pipeline/scan-memory/';

/**
 * Folder of the replication watch: per pushed image (`<sha256 of repository@digest>.json`) whose
 * replication the function has still to see end, so that a failed replication is notified once.
 */
export const REPLICATION_WATCH_DIR = '.ecr-pipeline/replication/';

/**
 * Folder of the releases waiting for a scan: one small object per built image whose gate waits
 * (named as its upload record), so that the release function's periodic check finds the images whose
 * scan did not come within `releaseScanTimeout` without listing every record.
 */
export const RELEASE_PENDING_DIR = '.ecr-pipeline/release-pending/';

/** Content of an image index object. */
export interface ImageIndex {
  /** Key of the upload record, in the same bucket. */
  record: string;
  repository: string;
  digest: string;
}

/** The S3 object version an upload record is about. */
export interface UploadIdentity {
  bucket: string;
  key: string;
  /** Present when the bucket is versioned; preferred over the ETag. */
  versionId?: string | undefined;
  /** Identifies the object in an unversioned bucket; quotes are ignored. */
  eTag?: string | undefined;
}

/**
 * `accepted`: the build was (or is being) started; `rejected`: the upload breaks a rule (code, reason);
 * `failed`: the build could not be started, or it failed (reason, and `phase` when the build ran);
 * `built`: the image was pushed by digest (`digest`), its release is being decided; `released`: the
 * tag points at it; `held`: a gate stopped it (`release.reason`); `superseded`: a newer upload of the
 * key won (reason). `released`, `failed`, `rejected` and `superseded` are final; `held` ends only by
 * an operator's override (then `released`).
 */
export type UploadRecordStatus =
  | 'accepted'
  | 'rejected'
  | 'failed'
  | 'built'
  | 'released'
  | 'held'
  | 'superseded';

/** The release of a built image: its gate, and once decided its verdict and whether it was announced. */
export interface UploadRelease {
  gate: ReleaseGate;
  /** `scan`: the worst severity tolerated is below this one. */
  maxSeverity?: Severity;
  /** `scan` or `signed`: ISO time after which a scan or signature not complete holds the image. */
  deadline?: string;
  /** The image must be signed (releaseGate signed) before it is released. */
  requireSigned?: true;
  /** ECR managed signing said COMPLETE for the image when the gate judged it. */
  signed?: true;
  /** Why the gate differs from what the upload asked (a looser gate than the stack's is ignored). */
  note?: string;
  /** ISO time the tag move was decided: a run cut off after this moves the tag without deciding again. */
  moving?: string;
  verdict?: ReleaseVerdict;
  /** Why the verdict, for people. */
  reason?: string;
  /** The findings the gate judged. */
  counts?: SeverityCounts;
  /** `rejected`: the image the tag already names. */
  existingDigest?: string;
  override?: { reason: string; by: string; at: string };
  /** Request id of the invocation that wrote the verdict: its retries announce it if it was not. */
  decidedBy?: string;
  /** ISO time the verdict was written. */
  decidedAt?: string;
  /** The verdict event was put on the bus. */
  announced?: boolean;
}

/** The scan of a built image, once it completed (basic or enhanced scanning). */
export interface UploadScan {
  status: 'COMPLETE' | 'FAILED';
  scanner: 'basic' | 'enhanced';
  /** Findings by severity; severities without findings are left out. */
  counts: SeverityCounts;
  /** ISO time the scan result arrived. */
  at: string;
}

/**
 * One build of a multi-platform upload: the build-trigger writes the plan (platform, whether it is
 * emulated, the environment), the build's events add the build id, then its digest or its failure.
 */
export interface UploadLeg {
  platform: string;
  /** Built through QEMU on a host of another architecture (no native environment for it). */
  emulated: boolean;
  /** CodeBuild environment type the leg runs on (LINUX_CONTAINER, ARM_CONTAINER). */
  environmentType: string;
  buildId?: string;
  /** The leg's pushed image (a plain image manifest), once its build succeeded. */
  digest?: string;
  /** ISO time the leg's build ended. */
  finishedAt?: string;
  /** Where the leg's build spent its time, as CodeBuild reported it. */
  durations?: BuildDurations;
}

/** Content of an upload record. */
export interface UploadRecord {
  status: UploadRecordStatus;
  bucket: string;
  key: string;
  versionId?: string;
  eTag?: string;
  repository?: string;
  tag?: string;
  /** `code` is set when status is `rejected`; `reason` when it is `rejected`, `failed` or `superseded`. */
  code?: RejectionCode;
  reason?: string;
  /** Request id of the invocation that wrote the record; Lambda's retries of one event keep it. */
  owner?: string;
  /** ISO time after which an `accepted` record without a build id may be taken over (a crashed claim). */
  claimExpiresAt?: string;
  /** The build started for the upload: a later delivery is a duplicate. */
  buildId?: string;
  /** `built`: digest of the pushed image. */
  digest?: string;
  /** `failed` after the build ran: the build phase that failed (e.g. `BUILD`), and its build status. */
  phase?: string;
  buildStatus?: string;
  /** ISO time the final state was written. */
  finishedAt?: string;
  /** Where the build spent its time (queued, provisioning, download, build...), as CodeBuild reported it. */
  durations?: BuildDurations;
  /** The pushed image's scan, once complete. */
  scan?: UploadScan;
  /** The release of the built image (the release function). */
  release?: UploadRelease;
  /** What the build attached to the image as referrers (its exported IMAGE_ATTESTATIONS). */
  attestations?: Attestation[];
  /**
   * Several platforms: one build per platform (leg); `digest` is then the index that joins the
   * legs' images, written once every leg has pushed.
   */
  legs?: UploadLeg[];
  /** ISO time the function handled the upload. */
  at: string;
}

/** Stable text of an identity: the version id when the bucket is versioned, otherwise the ETag. */
export function identityString(identity: UploadIdentity): string {
  const version = identity.versionId
    ? `v:${identity.versionId}`
    : `e:${(identity.eTag ?? '').replace(/"/g, '')}`;
  return `${identity.bucket}\n${identity.key}\n${version}`;
}

/** SHA-256 (hex) of the identity: the record's name and the CodeBuild idempotency token. */
export function identityHash(identity: UploadIdentity): string {
  return createHash('sha256').update(identityString(identity)).digest('hex');
}

/** Key of the upload record for one object version, under the stack's key `prefix`. */
export function uploadRecordKey(prefix: string, identity: UploadIdentity): string {
  return `${prefix}${UPLOAD_RECORD_DIR}${identityHash(identity)}.json`;
}

/**
 * Keys where a reader (the CLI) should look for an upload's record, best first. The function names the
 * record by version id when the event carries one and by ETag otherwise (some emulators omit the
 * version id even in versioned buckets), so a reader that knows both tries both.
 */
export function uploadRecordKeyCandidates(prefix: string, identity: UploadIdentity): string[] {
  const keys = [uploadRecordKey(prefix, identity)];
  if (identity.versionId && identity.eTag) {
    keys.push(uploadRecordKey(prefix, { ...identity, versionId: undefined }));
  }
  return keys;
}

/** Key of the image index object of `repository@digest`, under the stack's key `prefix`. */
export function imageIndexKey(prefix: string, repository: string, digest: string): string {
  const hash = createHash('sha256').update(`${repository}@${digest}`).digest('hex');
  return `${prefix}${IMAGE_INDEX_DIR}${hash}.json`;
}

/** Key of the pending-release marker of an upload record (same name, in RELEASE_PENDING_DIR). */
export function releasePendingKey(prefix: string, recordKey: string): string {
  return `${prefix}${RELEASE_PENDING_DIR}${recordKey.slice(recordKey.lastIndexOf('/') + 1)}`;
}

/** Key of the scan memory object of `repository@digest`, under the stack's key `prefix`. */
export function scanMemoryKey(prefix: string, repository: string, digest: string): string {
  const hash = createHash('sha256').update(`${repository}@${digest}`).digest('hex');
  return `${prefix}${SCAN_MEMORY_DIR}${hash}.json`;
}

/** Key of the replication watch object of `repository@digest`, under the stack's key `prefix`. */
export function replicationWatchKey(prefix: string, repository: string, digest: string): string {
  const hash = createHash('sha256').update(`${repository}@${digest}`).digest('hex');
  return `${prefix}${REPLICATION_WATCH_DIR}${hash}.json`;
}
