/**
 * What an event does to an upload record, as a pure function: the build's state changes carry the
 * build id in and then the final state (built with its digest, failed with its reason and phase,
 * superseded), and the completed scan of the built image adds its counts. Events arrive at least
 * once and in any order: a record already final keeps its outcome, and an event that changes nothing
 * gives `undefined` (nothing to write).
 */
import type { BuildDurations } from '../../shared/build-durations.ts';
import { excerptReason } from '../../shared/build-log-excerpt.ts';
import { BUILD_SUPERSEDED } from '../../shared/contract.ts';
import type { UploadRecord, UploadRecordStatus, UploadScan } from '../../shared/upload-record.ts';
import type { Notification } from '../notify/notification.ts';

/** An event as the upload record sees it. `at` is the event's ISO time. */
export type RecordEvent =
  | { kind: 'build-running'; buildId: string; platform?: string }
  | { kind: 'build-succeeded'; buildId: string; digest?: string; at: string }
  | {
      kind: 'build-failed';
      buildId: string;
      /** The build is one leg of a multi-platform upload: its platform. */
      platform?: string;
      /** FAILED, STOPPED, TIMED_OUT or FAULT. */
      buildStatus: string;
      phase?: string;
      /** Why, for people: the build's refusal line, or the end of its log. */
      reason: string;
      at: string;
      /** Where the build spent its time, as BatchGetBuilds describes the build. */
      durations?: BuildDurations;
    }
  | { kind: 'scan'; repository: string; digest: string; scan: UploadScan };

const FINAL: ReadonlySet<UploadRecordStatus> = new Set([
  'built',
  'released',
  'held',
  'failed',
  'rejected',
  'superseded',
]);

/** States of a record whose image was pushed: its scan counts are added there. */
const PUSHED: ReadonlySet<UploadRecordStatus> = new Set(['built', 'released', 'held']);

/** True when the record's upload has its outcome: no build event changes it any more. */
export const isFinal = (record: UploadRecord): boolean => FINAL.has(record.status);

/** True when a failed build's reason is the buildspec's superseded refusal (`superseded: ...`). */
export const isSupersededReason = (reason: string | undefined): boolean =>
  reason?.startsWith(BUILD_SUPERSEDED) === true;

/** The record after `event`, or undefined when the event changes nothing (duplicate, late or not its own). */
export function transition(record: UploadRecord, event: RecordEvent): UploadRecord | undefined {
  switch (event.kind) {
    case 'build-running':
      // A multi-platform upload has a build per leg: the record names none of them as the build, so
      // the build-trigger's retry, which takes a build id for "done", still starts the other legs;
      // the leg names its build, which the release's check asks CodeBuild about if its end is lost.
      if (isJoinedRecord(record)) return legRunning(record, event);
      if (isFinal(record) || record.buildId) return undefined;
      return { ...record, buildId: event.buildId };
    case 'build-succeeded':
    case 'build-failed': {
      if (event.kind === 'build-failed' && isJoinedRecord(record)) return legFailed(record, event);
      // A record that names another build belongs to that build (only one is started per upload).
      if (isFinal(record) || (record.buildId && record.buildId !== event.buildId)) return undefined;
      const done = { ...record, buildId: event.buildId, finishedAt: event.at };
      if (event.kind === 'build-succeeded') {
        return { ...done, status: 'built', ...(event.digest ? { digest: event.digest } : {}) };
      }
      return {
        ...done,
        status: isSupersededReason(event.reason) ? 'superseded' : 'failed',
        reason: event.reason,
        buildStatus: event.buildStatus,
        ...(event.phase ? { phase: event.phase } : {}),
        ...(event.durations ? { durations: event.durations } : {}),
      };
    }
    case 'scan': {
      if (!PUSHED.has(record.status) || record.digest !== event.digest) return undefined;
      if (record.repository !== undefined && record.repository !== event.repository) return undefined;
      // A redelivery, or an older scan result than the one kept.
      if (record.scan && record.scan.at >= event.scan.at) return undefined;
      return { ...record, scan: event.scan };
    }
  }
}

/** True when the upload is built as several legs (one build per platform) joined into an index. */
const isJoinedRecord = (record: UploadRecord): boolean => (record.legs?.length ?? 0) > 1;

/** A leg's build started: the leg names it (once; a leg already naming a build keeps it). */
function legRunning(record: UploadRecord, event: Extract<RecordEvent, { kind: 'build-running' }>) {
  if (isFinal(record)) return undefined;
  const legs = record.legs ?? [];
  const leg = legs.find((l) => l.platform === event.platform);
  if (!leg || leg.buildId !== undefined) return undefined;
  return {
    ...record,
    legs: legs.map((l) => (l === leg ? { ...l, buildId: event.buildId } : l)),
  } satisfies UploadRecord;
}

const LEG_VERBS: Record<string, string> = { STOPPED: 'was stopped', TIMED_OUT: 'timed out' };

/**
 * A leg of a multi-platform upload failed, stopped or timed out: the whole upload fails (no index
 * without every platform, so the tag never moves), and the reason names the leg and its failing line.
 * Its success is the release function's to record (the join).
 */
function legFailed(record: UploadRecord, event: Extract<RecordEvent, { kind: 'build-failed' }>) {
  if (isFinal(record)) return undefined;
  const legs = record.legs ?? [];
  const leg = legs.find((l) => l.platform === event.platform);
  if (!leg || (leg.buildId !== undefined && leg.buildId !== event.buildId)) return undefined;
  const verb = LEG_VERBS[event.buildStatus] ?? 'failed';
  const superseded = isSupersededReason(event.reason);
  return {
    ...record,
    status: superseded ? 'superseded' : 'failed',
    reason: superseded ? event.reason : `the ${leg.platform} leg ${verb}: ${event.reason}`,
    buildId: event.buildId,
    buildStatus: event.buildStatus,
    ...(event.phase ? { phase: event.phase } : {}),
    finishedAt: event.at,
    legs: legs.map((l) =>
      l === leg
        ? {
            ...l,
            buildId: event.buildId,
            finishedAt: event.at,
            ...(event.durations ? { durations: event.durations } : {}),
          }
        : l,
    ),
  } satisfies UploadRecord;
}

export { MAX_REASON } from '../../shared/build-log-excerpt.ts';

/** A failed build's reason, as its notification shows it: refusal line, end of the log, or CodeBuild's message. */
export function failureReason(build: NonNullable<Notification['build']>): string {
  return excerptReason(build.log, build.failureMessage, build.status);
}

/** What a classified notification means for an upload record, or undefined when nothing. */
export function recordEventOf(n: Notification): RecordEvent | undefined {
  switch (n.kind) {
    case 'build-started':
      if (!n.build) return undefined;
      return {
        kind: 'build-running',
        buildId: n.build.id,
        ...(n.build.platform ? { platform: n.build.platform } : {}),
      };
    // The release function records a build's success (built, then its verdict): it reads the digest
    // the build exported from the event and writes the image index.
    case 'build-failed':
      if (!n.build) return undefined;
      return {
        kind: 'build-failed',
        buildId: n.build.id,
        ...(n.build.platform ? { platform: n.build.platform } : {}),
        buildStatus: n.build.status,
        ...(n.build.failingPhase ? { phase: n.build.failingPhase } : {}),
        reason: failureReason(n.build),
        at: n.time,
      };
    case 'scan':
      if (!n.repository || !n.digest) return undefined;
      return {
        kind: 'scan',
        repository: n.repository,
        digest: n.digest,
        scan: {
          status: n.outcome === 'failure' ? 'FAILED' : 'COMPLETE',
          scanner: n.scanner ?? 'basic',
          counts: n.counts ?? {},
          at: n.time,
        },
      };
    // Stryker disable next-line ConditionalExpression: without the default case the switch ends and the function returns undefined all the same
    default:
      return undefined;
  }
}
