import { describe, expect, it } from 'vitest';
import { route } from '../../../../functions/ecr-events/route.ts';
import {
  failureReason,
  MAX_REASON,
  type RecordEvent,
  recordEventOf,
  transition,
} from '../../../../functions/ecr-events/uploads/record-transition.ts';
import type { UploadRecord, UploadScan } from '../../../../functions/shared/upload-record.ts';
import { event } from '../fixtures.ts';

const BUILD = 'arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:b-1';
const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
const claim: UploadRecord = {
  status: 'accepted',
  bucket: 'contexts',
  key: 'team/web/v1.tar.gz',
  versionId: 'v-1',
  repository: 'team/web',
  tag: 'v1',
  owner: 'req-1',
  claimExpiresAt: '2026-11-16T16:20:00.000Z',
  at: '2026-11-16T16:10:00.000Z',
};
const running: RecordEvent = { kind: 'build-running', buildId: BUILD };
const succeeded: RecordEvent = {
  kind: 'build-succeeded',
  buildId: BUILD,
  digest: DIGEST,
  at: '2026-11-16T16:14:21Z',
};
const failed: RecordEvent = {
  kind: 'build-failed',
  buildId: BUILD,
  buildStatus: 'FAILED',
  phase: 'BUILD',
  reason: 'error: configuration missing',
  at: '2026-11-16T16:14:21Z',
};
const superseded: RecordEvent = {
  ...failed,
  phase: 'BUILD',
  reason:
    'superseded: a newer upload of team/web/v1.tar.gz exists (version v-2); this build of version v-1 did not push',
};
const scanOf = (at: string, counts: UploadScan['counts'] = { CRITICAL: 1 }): RecordEvent => ({
  kind: 'scan',
  repository: 'team/web',
  digest: DIGEST,
  scan: { status: 'COMPLETE', scanner: 'basic', counts, at },
});
const built: UploadRecord = {
  ...claim,
  status: 'built',
  buildId: BUILD,
  digest: DIGEST,
  finishedAt: '2026-11-16T16:14:21Z',
};

/** Applies events one after the other, as the function would write them. */
const replay = (record: UploadRecord, events: RecordEvent[]) =>
  events.reduce((current, e) => transition(current, e) ?? current, record);

describe('transition: build events', () => {
  it('adds the build id to the claim when the build starts, keeping every other field', () => {
    expect(transition(claim, running)).toEqual({ ...claim, buildId: BUILD });
  });

  it('leaves a record that already names a build on a repeated start', () => {
    expect(transition({ ...claim, buildId: BUILD }, running)).toBeUndefined();
  });

  it('makes a succeeded build `built` with the digest and the time it finished', () => {
    expect(transition({ ...claim, buildId: BUILD }, succeeded)).toEqual(built);
  });

  it('writes the build id too when the start event never arrived or came late', () => {
    expect(transition(claim, succeeded)).toEqual(built);
  });

  it('says `built` without a digest when the digest could not be read', () => {
    const { digest: _digest, ...noDigest } = succeeded as Extract<RecordEvent, { kind: 'build-succeeded' }>;
    const { digest: _kept, ...expected } = built;
    expect(transition(claim, noDigest)).toEqual(expected);
  });

  it('makes a failed build `failed` with the reason, the phase and the build status', () => {
    expect(transition({ ...claim, buildId: BUILD }, failed)).toEqual({
      ...claim,
      status: 'failed',
      buildId: BUILD,
      reason: 'error: configuration missing',
      phase: 'BUILD',
      buildStatus: 'FAILED',
      finishedAt: '2026-11-16T16:14:21Z',
    });
  });

  it.each(['STOPPED', 'TIMED_OUT', 'FAULT'])('records a %s build as failed with that status', (status) => {
    expect(transition(claim, { ...failed, buildStatus: status })).toMatchObject({
      status: 'failed',
      buildStatus: status,
    });
  });

  it('keeps where the failed build spent its time', () => {
    const durations = { queued: 2, provisioning: 41, build: 63 };
    expect(transition(claim, { ...failed, durations } as RecordEvent)).toMatchObject({
      status: 'failed',
      durations,
    });
    expect(transition(claim, failed)).not.toHaveProperty('durations');
  });

  it('leaves the phase out when the event names none', () => {
    const { phase: _phase, ...noPhase } = failed as Extract<RecordEvent, { kind: 'build-failed' }>;
    expect(transition(claim, noPhase)).not.toHaveProperty('phase');
  });

  it("makes a build that refused as superseded `superseded`, with the build's reason", () => {
    expect(transition(claim, superseded)).toMatchObject({
      status: 'superseded',
      reason: expect.stringMatching(/^superseded: a newer upload/),
      buildStatus: 'FAILED',
      phase: 'BUILD',
    });
  });

  it('leaves a final record alone on a duplicate final event', () => {
    expect(transition(built, succeeded)).toBeUndefined();
    expect(transition(replay(claim, [failed]), failed)).toBeUndefined();
  });

  it('keeps the outcome when a start event arrives after the final one (out of order)', () => {
    expect(replay(claim, [succeeded, running])).toEqual(built);
    expect(transition(built, running)).toBeUndefined();
  });

  it('never turns one outcome into another', () => {
    expect(transition(built, failed)).toBeUndefined();
    expect(transition(replay(claim, [failed]), succeeded)).toBeUndefined();
    expect(transition(replay(claim, [superseded]), succeeded)).toBeUndefined();
  });

  it('leaves records that ended before a build: rejected, or failed to start', () => {
    const rejected: UploadRecord = { ...claim, status: 'rejected', code: 'InvalidTag', reason: 'bad tag' };
    const notStarted: UploadRecord = { ...claim, status: 'failed', reason: 'StartBuild failed' };
    for (const record of [rejected, notStarted]) {
      for (const e of [running, succeeded, failed]) expect(transition(record, e)).toBeUndefined();
    }
  });

  it('ignores the events of a build other than the one the record names', () => {
    const other = { ...claim, buildId: `${BUILD}-other` };
    expect(transition(other, succeeded)).toBeUndefined();
    expect(transition(other, failed)).toBeUndefined();
  });
});

describe('transition: the legs of a multi-platform upload', () => {
  const legs: UploadRecord = {
    ...claim,
    legs: [
      { platform: 'linux/amd64', emulated: false, environmentType: 'LINUX_CONTAINER' },
      { platform: 'linux/arm/v7', emulated: true, environmentType: 'ARM_CONTAINER' },
    ],
  };
  const legFailed = (platform: string, buildStatus = 'FAILED'): RecordEvent => ({
    ...failed,
    buildId: `${BUILD}-${platform}`,
    platform,
    buildStatus,
  });

  it('names no build of the record on a leg start, only of the leg, once', () => {
    const started = transition(legs, { ...running, platform: 'linux/arm/v7' }) as UploadRecord;
    expect(started).toEqual({ ...legs, legs: [legs.legs?.[0], { ...legs.legs?.[1], buildId: BUILD }] });
    expect(started.buildId).toBeUndefined();
    expect(
      transition(started, { ...running, buildId: `${BUILD}-again`, platform: 'linux/arm/v7' }),
    ).toBeUndefined();
    expect(transition(legs, running)).toBeUndefined();
    expect(transition(legs, { ...running, platform: 'linux/s390x' })).toBeUndefined();
    expect(
      transition({ ...legs, status: 'failed' }, { ...running, platform: 'linux/amd64' }),
    ).toBeUndefined();
  });

  it('fails the whole upload when one leg fails, naming the leg and its failing line', () => {
    expect(transition(legs, legFailed('linux/arm/v7'))).toEqual({
      ...legs,
      status: 'failed',
      reason: 'the linux/arm/v7 leg failed: error: configuration missing',
      buildId: `${BUILD}-linux/arm/v7`,
      buildStatus: 'FAILED',
      phase: 'BUILD',
      finishedAt: failed.at,
      legs: [legs.legs?.[0], { ...legs.legs?.[1], buildId: `${BUILD}-linux/arm/v7`, finishedAt: failed.at }],
    });
  });

  it("keeps the failed leg's time on the leg", () => {
    const durations = { provisioning: 90, build: 12 };
    const next = transition(legs, { ...legFailed('linux/arm/v7'), durations } as RecordEvent);
    expect(next?.legs?.[1]).toMatchObject({ platform: 'linux/arm/v7', durations });
    expect(next?.legs?.[0]).not.toHaveProperty('durations');
    expect(next).not.toHaveProperty('durations');
  });

  it.each([
    ['STOPPED', 'was stopped'],
    ['TIMED_OUT', 'timed out'],
    ['FAULT', 'failed'],
  ])('says a %s leg %s', (status, verb) => {
    expect(transition(legs, legFailed('linux/amd64', status))).toMatchObject({
      status: 'failed',
      buildStatus: status,
      reason: `the linux/amd64 leg ${verb}: error: configuration missing`,
    });
  });

  it('keeps the first failure when a second leg fails, and ignores builds of no leg', () => {
    const once = transition(legs, legFailed('linux/arm/v7')) as UploadRecord;
    expect(transition(once, legFailed('linux/amd64'))).toBeUndefined();
    expect(transition(legs, legFailed('linux/s390x'))).toBeUndefined();
    expect(transition(legs, { ...failed })).toBeUndefined();
  });

  it('says superseded, not failed, when a leg refused as superseded', () => {
    expect(transition(legs, { ...superseded, platform: 'linux/amd64' })).toMatchObject({
      status: 'superseded',
      reason: superseded.kind === 'build-failed' ? superseded.reason : '',
    });
  });
});

describe('transition: scan events', () => {
  it('adds the counts of the completed scan of the built image', () => {
    const e = scanOf('2026-11-16T16:15:00Z');
    expect(transition(built, e)).toEqual({
      ...built,
      scan: { status: 'COMPLETE', scanner: 'basic', counts: { CRITICAL: 1 }, at: '2026-11-16T16:15:00Z' },
    });
  });

  it('leaves the record on a redelivered or older scan result, and takes a newer one', () => {
    const first = replay(built, [scanOf('2026-11-16T16:15:00Z')]);
    expect(transition(first, scanOf('2026-11-16T16:15:00Z'))).toBeUndefined();
    expect(transition(first, scanOf('2026-11-16T16:14:59Z', {}))).toBeUndefined();
    expect(transition(first, scanOf('2026-11-17T00:00:00Z', { HIGH: 2 }))?.scan?.counts).toEqual({ HIGH: 2 });
  });

  it('ignores scans of another image, another repository, or before the record says built', () => {
    const e = scanOf('2026-11-16T16:15:00Z');
    expect(transition({ ...built, digest: 'sha256:other' }, e)).toBeUndefined();
    expect(transition({ ...built, repository: 'team/api' }, e)).toBeUndefined();
    expect(transition({ ...claim, buildId: BUILD }, e)).toBeUndefined();
    expect(transition(replay(claim, [failed]), e)).toBeUndefined();
  });

  it('keeps the scan when a late build event arrives after it', () => {
    const scanned = replay(claim, [succeeded, scanOf('2026-11-16T16:15:00Z')]);
    expect(replay(scanned, [running, succeeded, failed])).toEqual(scanned);
  });
});

describe('recordEventOf', () => {
  const notification = (path: string, patch?: (e: ReturnType<typeof event>) => void) => {
    const e = event(path);
    patch?.(e);
    const c = route(e, {
      projectName: 'ecr-pipeline-dev',
      account: '123456789012',
      region: 'us-west-2',
      now: () => new Date(),
    });
    if (c.action !== 'notify') throw new Error(`not a notification: ${path}`);
    return c.notification;
  };

  it('reads the build id, status, phase and time of a failed build, and its reason', () => {
    const n = notification('codebuild/build-failed.json');
    expect(recordEventOf(n)).toEqual({
      kind: 'build-failed',
      buildId:
        'arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef',
      buildStatus: 'FAILED',
      phase: 'BUILD',
      reason:
        'COMMAND_EXECUTION_ERROR: Error while executing command: buildctl build --frontend dockerfile.v0. Reason: exit status 1',
      at: '2026-11-16T16:14:21Z',
    });
  });

  it("reads a leg's platform from the build's variables", () => {
    const n = notification('codebuild/build-failed.json', (e) => {
      const info = e.detail['additional-information'] as {
        environment: { 'environment-variables': { name: string; value: string; type: string }[] };
      };
      info.environment['environment-variables'].push({
        name: 'BUILD_PLATFORM',
        value: 'linux/arm64',
        type: 'PLAINTEXT',
      });
    });
    expect(recordEventOf(n)).toMatchObject({ kind: 'build-failed', platform: 'linux/arm64' });
    const started = notification('codebuild/build-in-progress.json', (e) => {
      const info = e.detail['additional-information'] as {
        environment: { 'environment-variables': { name: string; value: string; type: string }[] };
      };
      info.environment['environment-variables'].push({
        name: 'BUILD_PLATFORM',
        value: 'linux/arm64',
        type: 'PLAINTEXT',
      });
    });
    expect(recordEventOf(started)).toMatchObject({ kind: 'build-running', platform: 'linux/arm64' });
  });

  it('reads a started build, and leaves a succeeded one to the release function', () => {
    expect(recordEventOf(notification('codebuild/build-in-progress.json'))).toEqual({
      kind: 'build-running',
      buildId: expect.any(String),
    });
    expect(recordEventOf(notification('codebuild/build-succeeded.json'))).toBeUndefined();
  });

  it('reads basic and enhanced scans, the enhanced one by the repository in its ARN', () => {
    expect(recordEventOf(notification('ecr/image-scan-complete.json'))).toEqual({
      kind: 'scan',
      repository: 'team/web',
      digest: 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd',
      scan: {
        status: 'COMPLETE',
        scanner: 'basic',
        counts: { CRITICAL: 10, MEDIUM: 9 },
        at: '2026-11-16T02:36:48Z',
      },
    });
    expect(recordEventOf(notification('inspector/scan-initial-complete.json'))).toEqual({
      kind: 'scan',
      repository: 'team/web',
      digest: 'sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5a1b2c3d4e5',
      scan: {
        status: 'COMPLETE',
        scanner: 'enhanced',
        counts: { CRITICAL: 7, HIGH: 61, MEDIUM: 62 },
        at: '2026-11-16T18:03:16Z',
      },
    });
    expect(recordEventOf(notification('ecr/image-scan-failed.json'))).toMatchObject({
      scan: { status: 'FAILED', counts: {} },
    });
  });

  it('is undefined for pushes, deletions and rejections', () => {
    expect(recordEventOf(notification('ecr/image-action-push.json'))).toBeUndefined();
    expect(recordEventOf(notification('ecr-pipeline/build-rejected.json'))).toBeUndefined();
  });
});

describe('failureReason', () => {
  const build = { id: BUILD, project: 'p', status: 'FAILED', failureMessage: 'exit status 1' };

  it('prefers the refusal line, then the end of the log, then CodeBuild’s message', () => {
    expect(failureReason({ ...build, log: { reason: 'no Dockerfile', tail: [] } })).toBe('no Dockerfile');
    expect(failureReason({ ...build, log: { tail: ['a', 'b'] } })).toBe('a\nb');
    expect(failureReason({ ...build, log: { tail: [], unavailable: 'x' } })).toBe('exit status 1');
    expect(failureReason({ id: BUILD, project: 'p', status: 'TIMED_OUT' })).toBe(
      'The build ended TIMED_OUT.',
    );
  });

  it('keeps the end of a long log', () => {
    const reason = failureReason({ ...build, log: { tail: ['x'.repeat(MAX_REASON), 'the last line'] } });
    expect(reason).toHaveLength(MAX_REASON);
    expect(reason.endsWith('the last line')).toBe(true);
    expect(reason.startsWith('…')).toBe(true);
  });
});

describe('transition and recordEventOf: the edges', () => {
  const base = {
    outcome: 'success' as const,
    title: 't',
    region: 'us-west-2',
    account: '123456789012',
    time: '2026-11-16T16:15:00Z',
    links: [],
  };

  it('adds a scan only to a record that says built, whatever digest another record names', () => {
    const e = scanOf('2026-11-16T16:15:00Z');
    expect(transition({ ...built, status: 'failed' }, e)).toBeUndefined();
    expect(transition({ ...built, status: 'superseded' }, e)).toBeUndefined();
  });

  it('adds a scan to a built record that names no repository', () => {
    const { repository: _repository, ...anonymous } = built;
    expect(transition(anonymous, scanOf('2026-11-16T16:15:00Z'))?.scan?.at).toBe('2026-11-16T16:15:00Z');
  });

  it('keeps a reason of exactly the longest length whole', () => {
    const reason = 'x'.repeat(MAX_REASON);
    expect(failureReason({ id: BUILD, project: 'p', status: 'FAILED', failureMessage: reason })).toBe(reason);
  });

  it('is undefined for build notifications without their build, and scans without repository or digest', () => {
    for (const kind of ['build-started', 'build-succeeded', 'build-failed'] as const)
      expect(recordEventOf({ ...base, kind })).toBeUndefined();
    expect(recordEventOf({ ...base, kind: 'scan', repository: 'team/web' })).toBeUndefined();
    expect(recordEventOf({ ...base, kind: 'scan', digest: DIGEST })).toBeUndefined();
  });

  it('calls a scan that names no scanner basic, and one without counts clean', () => {
    expect(recordEventOf({ ...base, kind: 'scan', repository: 'team/web', digest: DIGEST })).toEqual({
      kind: 'scan',
      repository: 'team/web',
      digest: DIGEST,
      scan: { status: 'COMPLETE', scanner: 'basic', counts: {}, at: '2026-11-16T16:15:00Z' },
    });
  });
});
