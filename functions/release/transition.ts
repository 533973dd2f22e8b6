/**
 * How a release changes an upload record, as pure functions: the build's success makes it `built`
 * (with the digest and the gate), a decision to release marks the tag move (`release.moving`), and
 * a verdict ends it (`released`, `held`, `superseded`, `rejected`, `failed`). Each returns the next
 * record; the caller writes it on condition that the record did not change meanwhile.
 */
import type { RejectionCode, ReleaseVerdict, ReleaseVerdictDetail } from '../shared/contract.ts';
import type { SeverityCounts } from '../shared/severity.ts';
import type { UploadRecord, UploadRecordStatus, UploadRelease } from '../shared/upload-record.ts';

/**
 * True when the record's upload has its outcome (`held` waits for an override only): after these
 * statuses nothing but an announcement is left to do. (A list in the function, not at module load,
 * so that the tests that reach it are the ones that test it.)
 */
export function isFinal(record: UploadRecord): boolean {
  const final: UploadRecordStatus[] = ['released', 'superseded', 'rejected', 'failed'];
  return final.includes(record.status);
}

/** The record of a build that pushed `digest`, with its gate. */
export function built(
  record: UploadRecord,
  buildId: string,
  digest: string,
  release: UploadRelease,
  at: Date,
): UploadRecord {
  return { ...record, status: 'built', buildId, digest, finishedAt: at.toISOString(), release };
}

/** The record with the tag move decided: a run cut off after this moves the tag without deciding again. */
export function moving(
  record: UploadRecord,
  release: UploadRelease,
  at: Date,
  extra: Pick<UploadRelease, 'counts' | 'override' | 'signed'> = {},
): UploadRecord {
  return { ...record, release: { ...release, ...extra, moving: at.toISOString() } };
}

/** What a verdict says besides itself. */
export interface VerdictFacts {
  reason?: string;
  counts?: SeverityCounts;
  existingDigest?: string;
}

const CODES: Partial<Record<ReleaseVerdict, RejectionCode>> = { rejected: 'TagAlreadyExists' };

/** The record with its verdict, written by `requestId` at `at`, not yet announced. */
export function decided(
  record: UploadRecord,
  release: UploadRelease,
  verdict: ReleaseVerdict,
  facts: VerdictFacts,
  requestId: string,
  at: Date,
): UploadRecord {
  const { moving: _moving, ...rest } = release;
  const code = CODES[verdict];
  return {
    ...record,
    status: verdict,
    ...(facts.reason && verdict !== 'released' && verdict !== 'held' ? { reason: facts.reason } : {}),
    ...(code ? { code } : {}),
    finishedAt: at.toISOString(),
    release: {
      ...rest,
      verdict,
      ...(facts.reason ? { reason: facts.reason } : {}),
      ...(facts.counts ? { counts: facts.counts } : {}),
      ...(facts.existingDigest ? { existingDigest: facts.existingDigest } : {}),
      decidedBy: requestId,
      decidedAt: at.toISOString(),
      announced: false,
    },
  };
}

/**
 * True when this invocation should put the record's verdict event: it is written and not announced,
 * and either this invocation (or Lambda's retry of it, same request id) wrote it, or its writer had
 * all the time it could need and did not announce it.
 */
export function shouldAnnounce(record: UploadRecord, requestId: string, now: Date, afterMs: number): boolean {
  const release = record.release;
  if (!release?.verdict || release.announced !== false) return false;
  if (release.decidedBy === requestId) return true;
  const decidedAt = release.decidedAt ? Date.parse(release.decidedAt) : Number.NaN;
  return now.getTime() - decidedAt >= afterMs;
}

/** The record, announced. */
export function announced(record: UploadRecord): UploadRecord {
  return { ...record, release: { ...(record.release as UploadRelease), announced: true } };
}

/** The `Release Verdict` event of a decided record. */
export function verdictDetail(record: UploadRecord): ReleaseVerdictDetail {
  const release = record.release as UploadRelease;
  return {
    verdict: release.verdict as ReleaseVerdict,
    bucket: record.bucket,
    key: record.key,
    ...(record.versionId ? { versionId: record.versionId } : {}),
    repository: record.repository ?? '',
    tag: record.tag ?? '',
    ...(record.digest ? { digest: record.digest } : {}),
    ...(record.buildId ? { buildId: record.buildId } : {}),
    gate: release.gate,
    ...(release.gate === 'scan' && release.maxSeverity ? { maxSeverity: release.maxSeverity } : {}),
    ...(release.reason ? { reason: release.reason } : {}),
    ...(release.counts ? { counts: release.counts } : {}),
    ...(release.existingDigest ? { existingDigest: release.existingDigest } : {}),
    ...(release.override ? { override: release.override } : {}),
    ...(record.attestations?.length || release.signed
      ? { attestations: [...(record.attestations ?? []), ...(release.signed ? ['signed' as const] : [])] }
      : {}),
    ...(record.durations ? { durations: record.durations } : {}),
    ...(record.legs && record.legs.length > 1
      ? {
          legs: record.legs.map(({ platform, emulated, durations }) => ({
            platform,
            emulated,
            ...(durations ? { durations } : {}),
          })),
        }
      : {}),
  };
}
