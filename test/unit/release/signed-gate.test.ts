import { DescribeImageSigningStatusCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { beforeEach, describe, expect, it } from 'vitest';
import { chooseGate, combine, judgeSigning, type StackGate } from '../../../functions/release/gate.ts';
import { signingOf } from '../../../functions/release/image.ts';
import { handleInvocation } from '../../../functions/release/release.ts';
import { TransientError } from '../../../functions/shared/errors.ts';
import {
  releasePendingKey,
  type UploadRecord,
  uploadRecordKey,
} from '../../../functions/shared/upload-record.ts';
import {
  awsError,
  BUCKET,
  BUILD_ID,
  DIGEST,
  ecrMock,
  eventsMock,
  FakeBucket,
  FakeRepository,
  fixture,
  KEY,
  NOW,
  REQUEST_ID,
  releaseDeps,
  s3Mock,
  VERSION,
  verdicts,
} from './helpers.ts';

const PROFILE = 'arn:aws:signer:us-west-2:123456789012:/signing-profiles/ecr_pipeline';
const DEADLINE = '2026-11-16T16:24:30.000Z';
const stack: StackGate = { gate: 'none', maxSeverity: 'HIGH', scanTimeoutMs: 600_000, requireSigned: true };

describe('chooseGate with releaseGate signed', () => {
  it('requires the signature with a deadline, on a stack without a scan gate too', () => {
    expect(chooseGate(stack, {}, NOW)).toEqual({ gate: 'none', requireSigned: true, deadline: DEADLINE });
    expect(chooseGate({ ...stack, gate: 'scan' }, {}, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      requireSigned: true,
      deadline: DEADLINE,
    });
    expect(chooseGate({ ...stack, requireSigned: false }, {}, NOW)).toEqual({ gate: 'none' });
  });
});

describe('judgeSigning and combine', () => {
  const release = { gate: 'none' as const, requireSigned: true as const, deadline: DEADLINE };

  it('releases a COMPLETE signature, saying it is signed; a gate without the requirement asks nothing', () => {
    expect(judgeSigning(release, { kind: 'complete' }, NOW)).toEqual({ kind: 'release', signed: true });
    expect(judgeSigning({ gate: 'none' }, { kind: 'failed' }, NOW)).toEqual({ kind: 'release' });
  });

  it('holds a FAILED signature, naming its code and reason', () => {
    expect(
      judgeSigning(release, { kind: 'failed', code: 'AccessDenied', reason: 'no SignPayload' }, NOW),
    ).toEqual({
      kind: 'hold',
      reason: "the image's signing failed: AccessDenied: no SignPayload (releaseGate signed)",
    });
    expect(judgeSigning(release, { kind: 'failed' }, NOW)).toEqual({
      kind: 'hold',
      reason: "the image's signing failed (releaseGate signed)",
    });
  });

  it('waits for a signature in progress until the deadline, then holds naming the status', () => {
    const pending = { kind: 'pending' as const, status: 'IN_PROGRESS' };
    expect(judgeSigning(release, pending, new Date(Date.parse(DEADLINE) - 1))).toEqual({ kind: 'wait' });
    expect(judgeSigning(release, pending, new Date(DEADLINE))).toEqual({
      kind: 'hold',
      reason: `the image was not signed by ${DEADLINE} (signing status IN_PROGRESS; releaseGate signed, releaseScanTimeout)`,
    });
  });

  it('holds when the status could not be read', () => {
    expect(judgeSigning(release, { kind: 'denied', reason: 'denied here' }, NOW)).toEqual({
      kind: 'hold',
      reason: "the image's signing status could not be read: denied here",
    });
  });

  it('holds on either hold (the scan first), waits on either wait, and keeps the counts and signed', () => {
    const scanHold = { kind: 'hold' as const, reason: 'scan' };
    const signHold = { kind: 'hold' as const, reason: 'sign' };
    expect(combine(scanHold, signHold)).toBe(scanHold);
    expect(combine({ kind: 'wait' }, signHold)).toBe(signHold);
    expect(combine({ kind: 'release', counts: { LOW: 1 } }, signHold)).toEqual({
      kind: 'hold',
      reason: 'sign',
      counts: { LOW: 1 },
    });
    expect(combine({ kind: 'release' }, { kind: 'wait' })).toEqual({ kind: 'wait' });
    expect(combine({ kind: 'wait' }, { kind: 'release', signed: true })).toEqual({ kind: 'wait' });
    expect(combine({ kind: 'release', counts: { LOW: 1 } }, { kind: 'release', signed: true })).toEqual({
      kind: 'release',
      counts: { LOW: 1 },
      signed: true,
    });
    expect(combine({ kind: 'release' }, { kind: 'release' })).toEqual({ kind: 'release' });
  });
});

const RECORD_KEY = uploadRecordKey('', { bucket: BUCKET, key: KEY, versionId: VERSION });
const accepted: UploadRecord = {
  status: 'accepted',
  bucket: BUCKET,
  key: KEY,
  versionId: VERSION,
  repository: 'team/web',
  tag: 'v1.4.3',
  buildId: BUILD_ID,
  at: '2026-11-16T16:12:20.000Z',
};
const signedGate = { RELEASE_GATE: 'signed', RELEASE_SCAN_TIMEOUT_SECONDS: '600' };

let bucket: FakeBucket;
let repo: FakeRepository;

beforeEach(() => {
  s3Mock.reset();
  ecrMock.reset();
  eventsMock.reset();
  eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
  bucket = new FakeBucket();
  bucket.install();
  bucket.put(KEY, 'context', { versionId: VERSION });
  bucket.put(RECORD_KEY, JSON.stringify(accepted));
  repo = new FakeRepository('team/web');
  repo.images.add(DIGEST);
  repo.install();
});

const succeeded = () => fixture('codebuild/build-succeeded-exported.json');
const record = () => bucket.json(RECORD_KEY);
const check = (at: number, id: string) =>
  handleInvocation(
    releaseDeps(signedGate, () => new Date(NOW.getTime() + at)),
    { action: 'check-pending' },
    id,
  );

describe('signingOf', () => {
  const ecr = () => releaseDeps().ecr;

  it('reads COMPLETE of any profile as signed, FAILED with its code, else the status', async () => {
    repo.signing = [{ signingProfileArn: PROFILE, status: 'COMPLETE' }];
    expect(await signingOf(ecr(), 'team/web', DIGEST)).toEqual({ kind: 'complete' });
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImageSigningStatusCommand, {
      repositoryName: 'team/web',
      imageId: { imageDigest: DIGEST },
    });
    repo.signing = [{ status: 'FAILED', failureCode: 'X', failureReason: 'why' }];
    expect(await signingOf(ecr(), 'team/web', DIGEST)).toEqual({ kind: 'failed', code: 'X', reason: 'why' });
    repo.signing = [{ status: 'FAILED' }];
    expect(await signingOf(ecr(), 'team/web', DIGEST)).toEqual({ kind: 'failed' });
    repo.signing = [{ status: 'IN_PROGRESS' }];
    expect(await signingOf(ecr(), 'team/web', DIGEST)).toEqual({ kind: 'pending', status: 'IN_PROGRESS' });
    repo.signing = [];
    expect(await signingOf(ecr(), 'team/web', DIGEST)).toEqual({ kind: 'pending', status: 'NOT_STARTED' });
    expect(await signingOf(ecr(), 'team/web', `sha256:${'c'.repeat(64)}`)).toEqual({
      kind: 'pending',
      status: 'IMAGE_NOT_FOUND',
    });
  });

  it('says a denied call, naming the repository; throttling is transient', async () => {
    repo.signing = 'denied';
    expect(await signingOf(ecr(), 'team/web', DIGEST)).toEqual({
      kind: 'denied',
      reason: expect.stringContaining('DescribeImageSigningStatus of team/web was denied'),
    });
    ecrMock.on(DescribeImageSigningStatusCommand).rejects(awsError('ThrottlingException', 400));
    await expect(signingOf(ecr(), 'team/web', DIGEST)).rejects.toBeInstanceOf(TransientError);
  });
});

describe('gate: releaseGate signed', () => {
  it('releases a COMPLETE signature at once, and the verdict says signed', async () => {
    repo.signing = [{ signingProfileArn: PROFILE, status: 'COMPLETE' }];
    const e = succeeded();
    await handleInvocation(releaseDeps(signedGate), e, REQUEST_ID);
    expect(record()).toMatchObject({
      status: 'released',
      release: { requireSigned: true, signed: true, verdict: 'released' },
    });
    expect(repo.tags.get('v1.4.3')).toBe(DIGEST);
    expect(verdicts()).toEqual([
      expect.objectContaining({ verdict: 'released', attestations: expect.arrayContaining(['signed']) }),
    ]);
  });

  it('holds a FAILED signature, naming the failure, and moves no tag', async () => {
    repo.signing = [
      {
        signingProfileArn: PROFILE,
        status: 'FAILED',
        failureCode: 'SIGNING_FAILED',
        failureReason: 'denied SignPayload',
      },
    ];
    await handleInvocation(releaseDeps(signedGate), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({
      status: 'held',
      release: {
        reason: "the image's signing failed: SIGNING_FAILED: denied SignPayload (releaseGate signed)",
      },
    });
    expect(ecrMock.commandCalls(PutImageCommand)).toEqual([]);
    expect(verdicts()).toEqual([expect.objectContaining({ verdict: 'held' })]);
  });

  it('waits while IN_PROGRESS, releases when it completes on the check, and clears the marker', async () => {
    repo.signing = [{ status: 'IN_PROGRESS' }];
    const outcome = await handleInvocation(releaseDeps(signedGate), succeeded(), REQUEST_ID);
    expect(outcome).toEqual({ kind: 'waiting', deadline: DEADLINE });
    expect(bucket.json(releasePendingKey('', RECORD_KEY))).toEqual({
      record: RECORD_KEY,
      deadline: DEADLINE,
    });
    repo.signing = [{ status: 'COMPLETE' }];
    expect(await check(60_000, 'c1')).toEqual([{ kind: 'decided', verdict: 'released' }]);
    expect(record().release?.signed).toBe(true);
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(false);
  });

  it('clears the marker of a release waiting for its signature when an override releases it', async () => {
    repo.signing = [{ status: 'IN_PROGRESS' }];
    await handleInvocation(releaseDeps(signedGate), succeeded(), REQUEST_ID);
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(true);
    const outcome = await handleInvocation(
      releaseDeps(signedGate),
      { action: 'override', record: RECORD_KEY, reason: 'signed by hand', by: 'ops' },
      'op',
    );
    expect(outcome).toEqual({ kind: 'decided', verdict: 'released' });
    expect(record().release).toMatchObject({ gate: 'none', requireSigned: true });
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(false);
  });

  it('holds at the deadline a signature still IN_PROGRESS, naming it; not before', async () => {
    repo.signing = [{ status: 'IN_PROGRESS' }];
    await handleInvocation(releaseDeps(signedGate), succeeded(), REQUEST_ID);
    expect(await check(599_000, 'c1')).toEqual([{ kind: 'waiting', deadline: DEADLINE }]);
    expect(record().status).toBe('built');
    expect(await check(600_000, 'c2')).toEqual([{ kind: 'decided', verdict: 'held' }]);
    expect(record().release?.reason).toBe(
      `the image was not signed by ${DEADLINE} (signing status IN_PROGRESS; releaseGate signed, releaseScanTimeout)`,
    );
    expect(repo.tags.size).toBe(0);
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(false);
  });

  it('holds when the release role may not read the signing status', async () => {
    repo.signing = 'denied';
    await handleInvocation(releaseDeps(signedGate), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({
      status: 'held',
      release: {
        reason: expect.stringContaining(
          'signing status could not be read: DescribeImageSigningStatus of team/web was denied',
        ),
      },
    });
    expect(repo.tags.size).toBe(0);
  });

  it('asks nothing of signing without releaseGate signed, and says nothing of it', async () => {
    repo.signing = 'denied';
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record().status).toBe('released');
    expect(ecrMock).not.toHaveReceivedCommand(DescribeImageSigningStatusCommand);
    expect(verdicts()[0]?.attestations ?? []).not.toContain('signed');
  });

  it('holds on the scan when both gates apply and the scan finds too much, whatever the signature', async () => {
    repo.signing = [{ status: 'COMPLETE' }];
    repo.scan = { status: 'COMPLETE', counts: { CRITICAL: 1 } };
    await handleInvocation(
      releaseDeps({ ...signedGate, RELEASE_GATE: 'scan,signed' }),
      succeeded(),
      REQUEST_ID,
    );
    expect(record()).toMatchObject({
      status: 'held',
      release: { reason: expect.stringContaining('1 CRITICAL') },
    });
  });
});
