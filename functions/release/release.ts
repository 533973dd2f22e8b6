/**
 * The release of a built image, exactly once whatever the order or repetition of its events. Each
 * round reads the upload record with its ETag, decides the one next step, and writes the record on
 * condition that it did not change (`If-Match`); a conflict reads again. The steps:
 *
 *   accepted --build succeeded--> built (digest, gate) --gate passes--> moving --PutImage--> released
 *                                       |                                        \-> rejected | failed
 *                                       +--newer upload of the key--> superseded
 *                                       +--gate fails or scan times out--> held --override--> moving
 *
 * A verdict is written before it is announced (one `Release Verdict` event on the stack's bus) and
 * marked announced after; a run cut off in between is finished by Lambda's retry of it (same request
 * id) or, once its writer had all its time, by whichever run meets the record next.
 */
import type { BuildDurations } from '../shared/build-durations.ts';
import type { Attestation, ReleaseVerdict } from '../shared/contract.ts';
import { type UploadRecord, type UploadRelease, uploadRecordKey } from '../shared/upload-record.ts';
import { announce } from './announce.ts';
import type { Deps } from './deps.ts';
import { PermanentError, TransientError } from './errors.ts';
import { isRecordKey, parseInput } from './events.ts';
import { chooseGate, combine, type GateDecision, judge, judgeSigning, type ScanState } from './gate.ts';
import { describeImage, digestOfTag, moveTag, scanOf, scanOfEvent, signingOf } from './image.ts';
import { isJoined, joinLegs, judgeLegs, legDigests, missingLegs, recordLeg } from './join.ts';
import { findLostLeg, legDeadline, readLegBuilds } from './lost-legs.ts';
import {
  clearPending,
  currentUpload,
  listPending,
  markPending,
  readRecord,
  recordOfImage,
  type StoreDeps,
  type Stored,
  writeImageIndex,
  writeRecord,
} from './store.ts';
import {
  announced,
  built,
  decided,
  isFinal,
  moving,
  shouldAnnounce,
  type VerdictFacts,
  verdictDetail,
} from './transition.ts';

/** What started this round of the release. */
export type Trigger =
  | {
      kind: 'build';
      buildId: string;
      digest?: string;
      attestations?: Attestation[];
      platform?: string;
      durations?: BuildDurations;
    }
  | { kind: 'scan'; digest: string; scan: ScanState }
  | { kind: 'check' }
  | { kind: 'override'; reason: string; by: string };

/** What the release function did for one upload. */
export type ReleaseOutcome =
  | { kind: 'ignored'; why: string }
  | { kind: 'waiting'; deadline: string }
  | { kind: 'decided'; verdict: ReleaseVerdict }
  | { kind: 'joining'; missing: string[] }
  | { kind: 'unchanged'; status: string };

/** One step decided from the record as read. */
type Step =
  | { kind: 'done'; outcome: ReleaseOutcome }
  | { kind: 'write'; record: UploadRecord; before?: () => Promise<void> }
  | { kind: 'announce' }
  | { kind: 'wait'; deadline: string };

/** The step that ends a round having done nothing, and why. */
function ignored(why: string): Step {
  return { kind: 'done', outcome: { kind: 'ignored', why } };
}

function store(deps: Deps): StoreDeps {
  return { s3: deps.s3, bucket: deps.config.bucket, keyPrefix: deps.config.keyPrefix };
}

/** Drives the record at `recordKey` as far as `trigger` allows. */
export async function advance(
  deps: Deps,
  recordKey: string,
  trigger: Trigger,
  requestId: string,
): Promise<ReleaseOutcome> {
  let announcedHere = false;
  let decidedHere: ReleaseVerdict | undefined;
  // The record this run wrote last, with the ETag S3 gave it: the next round decides from it without
  // reading it back. Every write stays conditional on that ETag, so a change made by anyone else in
  // between still ends in a conflict, and the round after it reads the record again.
  let written: Stored | undefined;
  // Rounds before a record that keeps changing under us is left to Lambda's retry.
  const maxRounds = 8;
  for (let round = 0; round < maxRounds; round++) {
    const stored = written ?? (await readRecord(store(deps), recordKey));
    written = undefined;
    if (!stored) return { kind: 'ignored', why: 'no upload record' };
    const { record } = stored;
    const step = await nextStep(deps, recordKey, record, trigger, requestId);
    switch (step.kind) {
      case 'done':
        return decidedHere ? { kind: 'decided', verdict: decidedHere } : step.outcome;
      case 'wait':
        await markPending(store(deps), recordKey, step.deadline);
        deps.logger.info('release waits for the scan or the signature', { deadline: step.deadline });
        return { kind: 'waiting', deadline: step.deadline };
      case 'announce': {
        if (!announcedHere) {
          await announce(deps.events, deps.config.eventBusName, verdictDetail(record));
          announcedHere = true;
          deps.logger.info('release verdict announced', { verdict: record.release?.verdict });
        }
        const write = await writeRecord(store(deps), recordKey, announced(record), stored.eTag);
        if (write.kind === 'written') {
          return { kind: 'decided', verdict: record.release?.verdict as ReleaseVerdict };
        }
        break;
      }
      case 'write': {
        await step.before?.();
        const write = await writeRecord(store(deps), recordKey, step.record, stored.eTag);
        if (write.kind === 'conflict') break;
        if (write.eTag !== '') written = { record: step.record, eTag: write.eTag };
        if (step.record.release?.verdict && step.record.release.verdict !== record.release?.verdict) {
          decidedHere = step.record.release.verdict;
          deps.logger.info('release decided', {
            verdict: decidedHere,
            reason: step.record.release.reason,
          });
          if (record.release?.gate === 'scan' || record.release?.requireSigned)
            await clearPendingQuietly(deps, recordKey);
        }
        break;
      }
    }
  }
  throw new TransientError(`the upload record ${recordKey} kept changing; Lambda will retry`);
}

async function clearPendingQuietly(deps: Deps, recordKey: string): Promise<void> {
  try {
    await clearPending(store(deps), recordKey);
  } catch (error) {
    // The periodic check finds the record decided and removes the marker then.
    deps.logger.warn('could not remove the pending-release marker', error as Error);
  }
}

/** The next step for `record`; reads ECR and S3 as the step needs, moves the tag when decided. */
async function nextStep(
  deps: Deps,
  recordKey: string,
  record: UploadRecord,
  trigger: Trigger,
  requestId: string,
): Promise<Step> {
  const now = deps.now();
  if (shouldAnnounce(record, requestId, now, deps.config.announceAfterMs)) return { kind: 'announce' };
  if (isFinal(record)) return { kind: 'done', outcome: { kind: 'unchanged', status: record.status } };
  if (!record.repository || !record.tag) return ignored('the upload record names no image');
  if (record.status === 'accepted') return fromAccepted(deps, recordKey, record, trigger, requestId);
  if (record.status !== 'built' && record.status !== 'held') {
    return { kind: 'done', outcome: { kind: 'unchanged', status: record.status } };
  }
  const mismatch = triggerMismatch(record, trigger);
  if (mismatch) return ignored(mismatch);
  const release = record.release ?? gateOf(deps, {}, record);
  if (release.moving) return moveStep(deps, record, release, requestId);
  if (trigger.kind === 'override') {
    deps.logger.warn('release override', { by: trigger.by, reason: trigger.reason });
    return {
      kind: 'write',
      record: moving(record, release, now, {
        override: { reason: trigger.reason, by: trigger.by, at: now.toISOString() },
      }),
    };
  }
  if (record.status === 'held') return { kind: 'done', outcome: { kind: 'unchanged', status: 'held' } };
  return fromBuilt(deps, record, release, trigger, requestId);
}

/** Why a trigger is not about this record's image, or undefined when it is. */
function triggerMismatch(record: UploadRecord, trigger: Trigger): string | undefined {
  if (trigger.kind === 'build' && record.buildId && trigger.buildId !== record.buildId) {
    return `the record names another build (${record.buildId})`;
  }
  const digest = trigger.kind === 'build' || trigger.kind === 'scan' ? trigger.digest : undefined;
  // A joined image's scans are its legs' (Inspector and basic scanning scan the children of an index).
  if (digest !== undefined && digest !== record.digest && !legDigests(record).includes(digest)) {
    return `digest ${digest} is not the one the build recorded (${record.digest ?? 'none'})`;
  }
  return undefined;
}

/** The gate of an upload, from the stack's settings and the upload's metadata. */
function gateOf(deps: Deps, metadata: Record<string, string>, record: UploadRecord): UploadRelease {
  const builtAt = record.finishedAt ? new Date(record.finishedAt) : deps.now();
  return chooseGate(deps.config, metadata, Number.isNaN(builtAt.getTime()) ? deps.now() : builtAt);
}

/** The build succeeded: the record says built, with the digest the build exported and the gate. */
async function fromAccepted(
  deps: Deps,
  recordKey: string,
  record: UploadRecord,
  trigger: Trigger,
  requestId: string,
): Promise<Step> {
  // The check of a multi-platform upload with a leg in: CodeBuild says what became of the others.
  if (trigger.kind === 'check' && isJoined(record)) return fromCheck(deps, recordKey, record, requestId);
  // A scan or a check before the build's own event: the build's event reads the scan then.
  if (trigger.kind !== 'build') return ignored('the build has not succeeded yet');
  if (isJoined(record)) return fromLeg(deps, recordKey, record, trigger, requestId);
  if (record.buildId && record.buildId !== trigger.buildId) {
    return ignored(`the record names another build (${record.buildId})`);
  }
  const repository = record.repository as string;
  const now = deps.now();
  const base = {
    ...record,
    buildId: trigger.buildId,
    ...(trigger.durations ? { durations: trigger.durations } : {}),
  };
  const fail = (reason: string): Step => ({
    kind: 'write',
    record: decided(base, { gate: deps.config.gate }, 'failed', { reason }, requestId, now),
  });
  if (!trigger.digest) return fail('the build succeeded but exported no image digest (IMAGE_DIGEST)');
  if (!(await describeImage(deps.ecr, repository, trigger.digest))) {
    return fail(`the build reported ${trigger.digest}, which repository "${repository}" does not hold`);
  }
  const upload = await currentUpload(store(deps), record);
  const release = chooseGate(deps.config, upload.metadata, now);
  if (release.note) deps.logger.warn('release gate: upload metadata not followed', { note: release.note });
  const digest = trigger.digest;
  return {
    kind: 'write',
    record: {
      ...built(base, trigger.buildId, digest, release, now),
      ...(trigger.attestations ? { attestations: trigger.attestations } : {}),
    },
    before: () => writeImageIndex(store(deps), recordKey, repository, digest),
  };
}

/**
 * One leg of a multi-platform upload succeeded: the record keeps its digest; the leg that completes
 * the set joins them all into one index (PutImage), which the record then names as `built`.
 */
async function fromLeg(
  deps: Deps,
  recordKey: string,
  record: UploadRecord,
  trigger: Extract<Trigger, { kind: 'build' }>,
  requestId: string,
): Promise<Step> {
  const repository = record.repository as string;
  const now = deps.now();
  const platform = trigger.platform ?? 'unnamed';
  const fail = (reason: string): Step => ({
    kind: 'write',
    record: decided(record, { gate: deps.config.gate }, 'failed', { reason }, requestId, now),
  });
  if (!trigger.digest)
    return fail(`the ${platform} leg succeeded but exported no image digest (IMAGE_DIGEST)`);
  const { buildId, digest, durations } = trigger;
  const leg = recordLeg(record, { platform, buildId, digest, ...(durations ? { durations } : {}) }, now);
  if (leg.kind === 'ignored') return ignored(leg.why);
  if (leg.kind === 'recorded' && !(await describeImage(deps.ecr, repository, trigger.digest))) {
    return fail(
      `the ${platform} leg reported ${trigger.digest}, which repository "${repository}" does not hold`,
    );
  }
  // Already recorded (reported twice, or this round's own write): the join waits for the others,
  // or, every leg in, is done now (a run cut off between the last leg and the join).
  const next = leg.kind === 'recorded' ? leg.record : record;
  const missing = missingLegs(next);
  if (missing.length > 0) {
    // The marker makes the periodic check look for the others, should their events be lost.
    const deadline = legDeadline(record, deps.config, now).toISOString();
    return leg.kind === 'recorded'
      ? { kind: 'write', record: next, before: () => markPending(store(deps), recordKey, deadline) }
      : { kind: 'done', outcome: { kind: 'joining', missing } };
  }
  const legs = next.legs ?? [];
  let index: string;
  try {
    index = await joinLegs(deps.ecr, repository, legs);
  } catch (error) {
    // A leg's image gone, or an index where an image manifest should be: the upload cannot release.
    if (error instanceof PermanentError) return fail(error.message);
    throw error;
  }
  deps.logger.info('legs joined into one index', { digest: index, legs: legs.map((l) => l.platform) });
  const upload = await currentUpload(store(deps), record);
  const release = chooseGate(deps.config, upload.metadata, now);
  return {
    kind: 'write',
    record: built(next, trigger.buildId, index, release, now),
    // The index's record, and each child's: a scan names the child it scanned.
    before: async () => {
      for (const digest of [index, ...legDigests(next)]) {
        await writeImageIndex(store(deps), recordKey, repository, digest);
      }
    },
  };
}

/**
 * The periodic check of a multi-platform upload still missing legs: a missing leg's build that
 * succeeded is recorded as its lost event would have been; one that ended otherwise, or a leg with
 * no build known past the builds' deadline, fails the upload naming the leg; else it waits.
 */
async function fromCheck(
  deps: Deps,
  recordKey: string,
  record: UploadRecord,
  requestId: string,
): Promise<Step> {
  const now = deps.now();
  const ids = (record.legs ?? []).flatMap((leg) => (!leg.digest && leg.buildId ? [leg.buildId] : []));
  const builds = ids.length > 0 ? await readLegBuilds(await deps.codebuild(), ids) : [];
  const found = findLostLeg(record, builds, now, legDeadline(record, deps.config, now));
  switch (found.kind) {
    case 'wait':
      return { kind: 'done', outcome: { kind: 'joining', missing: found.missing } };
    case 'failed':
      deps.logger.warn('a leg did not push', { reason: found.reason });
      return {
        kind: 'write',
        record: decided(
          record,
          { gate: deps.config.gate },
          'failed',
          { reason: found.reason },
          requestId,
          now,
        ),
      };
    case 'succeeded': {
      deps.logger.info('a leg succeeded without its event', {
        platform: found.platform,
        buildId: found.buildId,
      });
      const { platform, buildId, digest } = found;
      const trigger = { kind: 'build', buildId, platform, ...(digest ? { digest } : {}) } as const;
      return fromLeg(deps, recordKey, record, trigger, requestId);
    }
  }
}

/** The scan gate over a joined image: every leg's image, judged one by one. */
async function judgeJoined(deps: Deps, record: UploadRecord, release: UploadRelease, now: Date) {
  const scans = [];
  for (const leg of record.legs ?? []) {
    const scan =
      release.gate === 'scan'
        ? await scanOf(deps.ecr, record.repository as string, leg.digest as string)
        : ({ kind: 'pending', status: 'NOT_NEEDED' } as const);
    scans.push({ platform: leg.platform, scan });
  }
  return judgeLegs(release, scans, now);
}

/** The scan gate's decision: the image's scan, or each leg's for a joined image. */
async function judgeScan(
  deps: Deps,
  record: UploadRecord,
  release: UploadRelease,
  trigger: Trigger,
  now: Date,
): Promise<GateDecision> {
  if (isJoined(record)) return judgeJoined(deps, record, release, now);
  let scan: ScanState = { kind: 'pending', status: 'NOT_NEEDED' };
  if (release.gate === 'scan') {
    scan =
      trigger.kind === 'scan'
        ? trigger.scan
        : await scanOf(deps.ecr, record.repository as string, record.digest as string);
  }
  return judge(release, scan, now);
}

/** The image is built: superseded, or judged by its gates (release, hold or wait). */
async function fromBuilt(
  deps: Deps,
  record: UploadRecord,
  release: UploadRelease,
  trigger: Trigger,
  requestId: string,
): Promise<Step> {
  const now = deps.now();
  const upload = await currentUpload(store(deps), record);
  if (!upload.current) {
    // An image the tag already names is out: a newer upload cannot take that back, and the record must
    // say what the registry says (the move step finds the tag in place and writes `released`).
    const tagged = await digestOfTag(deps.ecr, record.repository as string, record.tag as string);
    if (tagged === record.digest) return { kind: 'write', record: moving(record, release, now) };
    return {
      kind: 'write',
      record: decided(
        record,
        release,
        'superseded',
        { reason: `a newer upload of ${upload.newerKey ?? record.key} exists; its build releases the tag` },
        requestId,
        now,
      ),
    };
  }
  const decision = combine(
    await judgeScan(deps, record, release, trigger, now),
    release.requireSigned
      ? judgeSigning(
          release,
          await signingOf(deps.ecr, record.repository as string, record.digest as string),
          now,
        )
      : { kind: 'release' },
  );
  switch (decision.kind) {
    case 'wait':
      return { kind: 'wait', deadline: release.deadline as string };
    case 'hold':
      return {
        kind: 'write',
        record: {
          ...decided(
            record,
            release,
            'held',
            { reason: decision.reason, ...(decision.counts ? { counts: decision.counts } : {}) },
            requestId,
            now,
          ),
        },
      };
    case 'release':
      return {
        kind: 'write',
        record: moving(record, release, now, {
          ...(decision.counts ? { counts: decision.counts } : {}),
          ...(decision.signed ? { signed: true } : {}),
        }),
      };
  }
}

/** The tag move was decided: do it, and write what came of it. */
async function moveStep(
  deps: Deps,
  record: UploadRecord,
  release: UploadRelease,
  requestId: string,
): Promise<Step> {
  const now = deps.now();
  const repository = record.repository as string;
  const digest = record.digest as string;
  const move = await moveTag(deps.ecr, repository, digest, record.tag as string);
  let verdict: ReleaseVerdict = 'released';
  let facts: VerdictFacts = release.override
    ? { reason: `released by override: ${release.override.reason}` }
    : {};
  if (move.kind === 'taken') {
    verdict = 'rejected';
    facts = {
      reason: `tag "${record.tag}" already names ${move.existingDigest} in the immutable repository "${repository}"; upload under a new tag`,
      existingDigest: move.existingDigest,
    };
  } else if (move.kind === 'denied') {
    verdict = 'failed';
    facts = { reason: move.reason };
  }
  return {
    kind: 'write',
    record: decided(
      record,
      release,
      verdict,
      { ...facts, ...(release.counts ? { counts: release.counts } : {}) },
      requestId,
      now,
    ),
  };
}

/** Handles one invocation: every upload it names is advanced independently. */
export async function handleInvocation(deps: Deps, event: unknown, requestId: string): Promise<unknown> {
  const input = parseInput(event, deps.config);
  try {
    switch (input.kind) {
      case 'ignore':
        deps.logger.info('event ignored', { why: input.why });
        return { kind: 'ignored', why: input.why };
      case 'build-succeeded': {
        const { identity } = input;
        deps.logger.appendKeys({
          bucket: identity.bucket,
          key: identity.key,
          version: identity.versionId ?? identity.eTag,
          buildId: input.buildId,
        });
        const recordKey = uploadRecordKey(deps.config.keyPrefix, identity);
        return log(
          deps,
          await advance(
            deps,
            recordKey,
            {
              kind: 'build',
              buildId: input.buildId,
              ...(input.digest ? { digest: input.digest } : {}),
              ...(input.attestations ? { attestations: input.attestations } : {}),
              ...(input.platform ? { platform: input.platform } : {}),
              ...(input.durations ? { durations: input.durations } : {}),
            },
            requestId,
          ),
        );
      }
      case 'scan': {
        deps.logger.appendKeys({ repository: input.repository, digest: input.digest });
        const recordKey = await recordOfImage(store(deps), input.repository, input.digest);
        if (!recordKey)
          return log(deps, { kind: 'ignored', why: 'no build of this stack pushed that image' });
        const scan = scanOfEvent(input.status, input.counts);
        return log(
          deps,
          await advance(deps, recordKey, { kind: 'scan', digest: input.digest, scan }, requestId),
        );
      }
      case 'override': {
        const { request } = input;
        if (!isRecordKey(deps.config, request.record)) {
          return log(deps, {
            kind: 'ignored',
            why: `"${request.record.slice(0, 200)}" is not an upload record of this stack`,
          });
        }
        deps.logger.appendKeys({ record: request.record });
        return log(
          deps,
          await advance(
            deps,
            request.record,
            { kind: 'override', reason: request.reason, by: request.by },
            requestId,
          ),
        );
      }
      case 'check-pending':
        return await checkPending(deps, requestId);
    }
  } catch (error) {
    if (error instanceof PermanentError) {
      deps.logger.error('release not done: permanent error', error);
      return { kind: 'failed', error: error.message };
    }
    throw error instanceof TransientError
      ? error
      : new TransientError('unexpected failure', { cause: error });
  } finally {
    deps.logger.resetKeys();
  }
}

function log(deps: Deps, outcome: ReleaseOutcome): ReleaseOutcome {
  deps.logger.info(`release ${outcome.kind}`, { ...outcome });
  return outcome;
}

/** The periodic check: every release waiting for its scan is judged again (a lost scan event, a deadline). */
async function checkPending(deps: Deps, requestId: string): Promise<ReleaseOutcome[]> {
  const outcomes: ReleaseOutcome[] = [];
  const transient: unknown[] = [];
  for (const recordKey of await listPending(store(deps))) {
    try {
      const outcome = await advance(deps, recordKey, { kind: 'check' }, requestId);
      // A multi-platform upload still missing legs keeps its marker: the next check asks again.
      if (outcome.kind !== 'waiting' && outcome.kind !== 'joining')
        await clearPendingQuietly(deps, recordKey);
      outcomes.push(log(deps, outcome));
    } catch (error) {
      if (!(error instanceof TransientError)) {
        deps.logger.error('pending release not judged', { recordKey, error: String(error) });
        continue;
      }
      transient.push(error);
    }
  }
  if (transient.length > 0)
    throw new TransientError(`${transient.length} pending releases failed transiently`, {
      cause: transient[0],
    });
  return outcomes;
}
