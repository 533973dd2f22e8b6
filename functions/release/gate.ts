/**
 * The release gates, as pure functions: which gate an upload gets (the stack's, or a stricter one
 * the upload asks for in its metadata), and what a scan's state means for the release.
 */
import { RELEASE_GATES, RELEASE_METADATA, type ReleaseGate } from '../shared/contract.ts';
import { SEVERITIES, type Severity, type SeverityCounts, severityRank } from '../shared/severity.ts';
import type { UploadRelease } from '../shared/upload-record.ts';

/** The stack's gate settings. */
export interface StackGate {
  gate: ReleaseGate;
  maxSeverity: Severity;
  scanTimeoutMs: number;
  /** releaseGate signed: the image must be signed (ECR managed signing) before it is released. */
  requireSigned?: boolean;
}

const isSeverity = (value: string): value is Severity => (SEVERITIES as readonly string[]).includes(value);

/**
 * The gate of one upload, from the stack's and the upload's metadata (lower-case names, as S3 gives
 * them). An upload may make the gate stricter (`scan` on a `none` stack, a lower severity), never
 * looser: what it asked and did not get is said in `note`.
 */
export function chooseGate(
  stack: StackGate,
  metadata: Record<string, string> | undefined,
  builtAt: Date,
): UploadRelease {
  const notes: string[] = [];
  const askedGate = metadata?.[RELEASE_METADATA.gate]?.trim();
  const askedSeverity = metadata?.[RELEASE_METADATA.maxSeverity]?.trim().toUpperCase();
  const gate = askedGate ? uploadGate(stack, askedGate, notes) : stack.gate;
  let maxSeverity = stack.maxSeverity;
  if (askedSeverity) {
    if (!isSeverity(askedSeverity)) {
      notes.push(`the upload asked for an unknown severity "${askedSeverity.slice(0, 40)}"`);
    } else if (severityRank(askedSeverity) <= severityRank(stack.maxSeverity)) {
      maxSeverity = askedSeverity;
    } else {
      notes.push(
        `the upload asked to hold only at ${askedSeverity}; the stack holds at ${stack.maxSeverity} and above`,
      );
    }
  }
  const signed = stack.requireSigned ? { requireSigned: true as const } : {};
  if (gate === 'none' && !stack.requireSigned)
    return { gate, ...(notes.length > 0 ? { note: notes.join('; ') } : {}) };
  return {
    gate,
    ...(gate === 'scan' ? { maxSeverity } : {}),
    ...signed,
    deadline: new Date(builtAt.getTime() + stack.scanTimeoutMs).toISOString(),
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  };
}

/**
 * The scan gate an upload gets when its metadata names a gate (the values of the stack's
 * releaseGate): `scan` makes it stricter; what it asked and does not get goes to `notes`. The
 * signature can only be required by the stack (its role reads signing statuses only then).
 */
function uploadGate(stack: StackGate, asked: string, notes: string[]): ReleaseGate {
  if (!(RELEASE_GATES as readonly string[]).includes(asked)) {
    notes.push(
      `the upload asked for an unknown gate "${asked.slice(0, 40)}" (none, scan, signed or scan,signed)`,
    );
    return stack.gate;
  }
  const scan = asked.startsWith('scan');
  const signed = asked.endsWith('signed');
  if (!scan && stack.gate === 'scan')
    notes.push('the upload asked for no scan gate; the stack requires the scan gate');
  if (signed && !stack.requireSigned) {
    notes.push("the upload asked for the signed gate; only the stack's releaseGate can require a signature");
  }
  if (!signed && stack.requireSigned) notes.push('the upload asked for no signature; the stack requires one');
  return scan ? 'scan' : stack.gate;
}

/** What ECR says of an image's scan. */
export type ScanState =
  | { kind: 'complete'; counts: SeverityCounts }
  | { kind: 'failed'; status: string; description?: string }
  | { kind: 'pending'; status: string };

/** What the gate says: release now, hold (why, with the findings judged), or wait for the scan. */
export type GateDecision =
  | { kind: 'release'; counts?: SeverityCounts; signed?: true }
  | { kind: 'hold'; reason: string; counts?: SeverityCounts }
  | { kind: 'wait' };

/** The findings at or above `maxSeverity`, worst first: `2 CRITICAL, 1 HIGH`; empty when none. */
export function findingsAtOrAbove(counts: SeverityCounts, maxSeverity: Severity): string {
  return SEVERITIES.filter((s) => severityRank(s) >= severityRank(maxSeverity) && (counts[s] ?? 0) > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
}

/**
 * What ECR says of an image's signature (DescribeImageSigningStatus): `denied` when the function may
 * not ask, `pending` also when signing has not started (no status yet).
 */
export type SigningState =
  | { kind: 'complete' }
  | { kind: 'failed'; code?: string; reason?: string }
  | { kind: 'pending'; status: string }
  | { kind: 'denied'; reason: string };

const passedDeadline = (release: UploadRelease, now: Date): boolean => {
  const deadline = release.deadline ? Date.parse(release.deadline) : Number.NaN;
  return deadline <= now.getTime();
};

/** The signing gate's decision (releaseGate signed): release once signed, hold when it cannot be. */
export function judgeSigning(release: UploadRelease, signing: SigningState, now: Date): GateDecision {
  if (!release.requireSigned) return { kind: 'release' };
  switch (signing.kind) {
    case 'complete':
      return { kind: 'release', signed: true };
    case 'failed': {
      const why = [signing.code, signing.reason].filter((part) => part).join(': ');
      return {
        kind: 'hold',
        reason: `the image's signing failed${why ? `: ${why}` : ''} (releaseGate signed)`,
      };
    }
    case 'denied':
      return { kind: 'hold', reason: `the image's signing status could not be read: ${signing.reason}` };
    case 'pending':
      if (!passedDeadline(release, now)) return { kind: 'wait' };
      return {
        kind: 'hold',
        reason: `the image was not signed by ${release.deadline} (signing status ${signing.status}; releaseGate signed, releaseScanTimeout)`,
      };
  }
}

/** Both gates: a hold of either holds (the scan's first), a wait of either waits, else release. */
export function combine(scan: GateDecision, signing: GateDecision): GateDecision {
  if (scan.kind === 'hold') return scan;
  if (signing.kind === 'hold')
    return scan.kind === 'release' && scan.counts ? { ...signing, counts: scan.counts } : signing;
  if (scan.kind === 'wait' || signing.kind === 'wait') return { kind: 'wait' };
  return signing.kind === 'release' && signing.signed ? { ...scan, signed: true } : scan;
}

/** The scan gate's decision for `release` given the scan's state at `now`. */
export function judge(release: UploadRelease, scan: ScanState, now: Date): GateDecision {
  if (release.gate === 'none') return { kind: 'release' };
  const maxSeverity = release.maxSeverity ?? 'HIGH';
  switch (scan.kind) {
    case 'complete': {
      const found = findingsAtOrAbove(scan.counts, maxSeverity);
      return found === ''
        ? { kind: 'release', counts: scan.counts }
        : {
            kind: 'hold',
            reason: `the scan found ${found} (the gate holds at ${maxSeverity} and above)`,
            counts: scan.counts,
          };
    }
    case 'failed':
      return {
        kind: 'hold',
        reason: `the scan did not complete: ${scan.status}${scan.description ? ` (${scan.description})` : ''}`,
      };
    case 'pending': {
      if (!passedDeadline(release, now)) return { kind: 'wait' };
      return {
        kind: 'hold',
        reason: `the scan had not completed by ${release.deadline} (scan status ${scan.status}; releaseScanTimeout)`,
      };
    }
  }
}
