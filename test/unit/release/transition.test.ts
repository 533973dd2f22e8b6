import { describe, expect, it } from 'vitest';
import {
  announced,
  built,
  decided,
  isFinal,
  moving,
  shouldAnnounce,
  verdictDetail,
} from '../../../functions/release/transition.ts';
import type { UploadRecord, UploadRelease } from '../../../functions/shared/upload-record.ts';

const AT = new Date('2026-11-16T16:00:00.000Z');
const DIGEST = `sha256:${'a'.repeat(64)}`;
const record: UploadRecord = {
  status: 'accepted',
  bucket: 'contexts',
  key: 'team/web/v1.tar.gz',
  repository: 'team/web',
  tag: 'v1',
  at: AT.toISOString(),
} as UploadRecord;
const scanGate: UploadRelease = { gate: 'scan', maxSeverity: 'HIGH', deadline: '2026-11-16T16:30:00.000Z' };

describe('upload record transitions of a release', () => {
  it('knows the final statuses: held still waits for an override, built for its verdict', () => {
    for (const status of ['released', 'superseded', 'rejected', 'failed'] as const)
      expect(isFinal({ ...record, status }), status).toBe(true);
    for (const status of ['held', 'built', 'accepted'] as const)
      expect(isFinal({ ...record, status }), status).toBe(false);
  });

  it('keeps the facts of a verdict in the record: the reason at the top only for an outcome that is not a release or a hold', () => {
    const facts = { reason: 'the scan found 1 HIGH', counts: { HIGH: 1 } };
    const held = decided(record, { ...scanGate, moving: 'x' }, 'held', facts, 'req', AT);
    expect(held).toEqual({
      ...record,
      status: 'held',
      finishedAt: AT.toISOString(),
      release: {
        ...scanGate,
        verdict: 'held',
        reason: facts.reason,
        counts: facts.counts,
        decidedBy: 'req',
        decidedAt: AT.toISOString(),
        announced: false,
      },
    });
    expect(decided(record, scanGate, 'released', facts, 'req', AT).reason).toBeUndefined();
    expect(decided(record, scanGate, 'failed', { reason: 'no image' }, 'req', AT)).toMatchObject({
      status: 'failed',
      reason: 'no image',
    });
    expect(decided(record, scanGate, 'failed', {}, 'req', AT)).not.toHaveProperty('reason');
    const rejected = decided(record, scanGate, 'rejected', { existingDigest: DIGEST }, 'req', AT);
    expect(rejected).toMatchObject({ code: 'TagAlreadyExists', release: { existingDigest: DIGEST } });
    expect(held).not.toHaveProperty('code');
  });

  it('announces a verdict once: by its writer at once, by another run only after the writer had its time', () => {
    const written = decided(record, scanGate, 'held', {}, 'writer', AT);
    const later = (ms: number) => new Date(AT.getTime() + ms);
    expect(shouldAnnounce(written, 'writer', AT, 60_000)).toBe(true);
    expect(shouldAnnounce(written, 'other', later(59_999), 60_000)).toBe(false);
    expect(shouldAnnounce(written, 'other', later(60_000), 60_000)).toBe(true);
    expect(shouldAnnounce(announced(written), 'writer', later(60_000), 60_000)).toBe(false);
    expect(shouldAnnounce(built(record, 'b', DIGEST, scanGate, AT), 'writer', AT, 0)).toBe(false);
    const { decidedAt: _at, ...undated } = written.release as UploadRelease;
    expect(shouldAnnounce({ ...written, release: undated }, 'other', later(1e9), 60_000)).toBe(false);
  });

  it('puts the gate, its severity only for the scan gate, and the facts into the verdict event', () => {
    const withMove = moving(built(record, 'build-1', DIGEST, scanGate, AT), scanGate, AT, {
      override: { reason: 'accepted', by: 'ops', at: AT.toISOString() },
    });
    expect(withMove.release?.moving).toBe(AT.toISOString());
    expect(moving(record, scanGate, AT)).toEqual({
      ...record,
      release: { ...scanGate, moving: AT.toISOString() },
    });
    const detail = verdictDetail(
      decided(withMove, withMove.release as UploadRelease, 'released', { counts: { LOW: 2 } }, 'r', AT),
    );
    expect(detail).toEqual({
      verdict: 'released',
      bucket: 'contexts',
      key: 'team/web/v1.tar.gz',
      repository: 'team/web',
      tag: 'v1',
      digest: DIGEST,
      buildId: 'build-1',
      gate: 'scan',
      maxSeverity: 'HIGH',
      counts: { LOW: 2 },
      override: { reason: 'accepted', by: 'ops', at: AT.toISOString() },
    });
    const none = verdictDetail(
      decided(record, { gate: 'none', maxSeverity: 'HIGH' }, 'superseded', {}, 'r', AT),
    );
    expect(none).toEqual({
      verdict: 'superseded',
      bucket: 'contexts',
      key: 'team/web/v1.tar.gz',
      repository: 'team/web',
      tag: 'v1',
      gate: 'none',
    });
    expect(
      verdictDetail(
        decided(
          { ...record, repository: undefined, tag: undefined } as UploadRecord,
          scanGate,
          'failed',
          {},
          'r',
          AT,
        ),
      ),
    ).toMatchObject({ repository: '', tag: '' });
  });

  it('puts the version, the reason, the existing image, what the build attached and the legs into the verdict event', () => {
    const leg = { environmentType: 'LINUX_CONTAINER', buildId: 'b', digest: DIGEST };
    const full = decided(
      {
        ...record,
        versionId: 'v7',
        attestations: ['sbom', 'provenance'],
        legs: [
          { ...leg, platform: 'linux/amd64', emulated: false },
          { ...leg, platform: 'linux/arm64', emulated: true },
        ],
      },
      { gate: 'none' },
      'rejected',
      { reason: 'tag taken', existingDigest: DIGEST },
      'r',
      AT,
    );
    expect(verdictDetail(full)).toEqual({
      verdict: 'rejected',
      bucket: 'contexts',
      key: 'team/web/v1.tar.gz',
      versionId: 'v7',
      repository: 'team/web',
      tag: 'v1',
      gate: 'none',
      reason: 'tag taken',
      existingDigest: DIGEST,
      attestations: ['sbom', 'provenance'],
      legs: [
        { platform: 'linux/amd64', emulated: false },
        { platform: 'linux/arm64', emulated: true },
      ],
    });
    // One leg is a plain image, and nothing attached is nothing to say.
    const single = verdictDetail({
      ...full,
      attestations: [],
      legs: [{ ...leg, platform: 'linux/amd64', emulated: false }],
    });
    expect(single).not.toHaveProperty('legs');
    expect(single).not.toHaveProperty('attestations');
  });

  it('announces no verdict whose record does not say it is unannounced', () => {
    const written = decided(record, scanGate, 'held', {}, 'writer', AT);
    const { announced: _a, ...unsaid } = written.release as UploadRelease;
    expect(shouldAnnounce({ ...written, release: unsaid }, 'writer', AT, 0)).toBe(false);
    const { verdict: _v, ...undecided } = written.release as UploadRelease;
    expect(shouldAnnounce({ ...written, release: undecided }, 'writer', AT, 0)).toBe(false);
    expect(shouldAnnounce(record, 'writer', AT, 0)).toBe(false);
  });

  it('marks the record announced and keeps the rest of its release', () => {
    const written = decided(record, scanGate, 'held', { reason: 'r' }, 'writer', AT);
    expect(announced(written)).toEqual({ ...written, release: { ...written.release, announced: true } });
  });
});
