/** `status` and `--output json` show the legs of a multi-platform upload: one line each. */
import { describe, expect, it } from 'vitest';
import { finalView, legLines, legsOf } from '../../../cli/status.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';

const AMD = `sha256:${'a'.repeat(64)}`;
const record: UploadRecord = {
  status: 'released',
  bucket: 'b',
  key: 'team/web/v1.tar.gz',
  repository: 'team/web',
  tag: 'v1',
  digest: `sha256:${'f'.repeat(64)}`,
  at: '2026-12-03T10:00:00.000Z',
  legs: [
    {
      platform: 'linux/amd64',
      emulated: false,
      environmentType: 'LINUX_CONTAINER',
      buildId: 'p:1',
      digest: AMD,
      finishedAt: '2026-12-03T10:02:05.000Z',
    },
    { platform: 'linux/arm/v7', emulated: true, environmentType: 'ARM_CONTAINER', buildId: 'p:2' },
  ],
};

describe('the legs in status', () => {
  it('carries each leg in the JSON view: platform, emulated, build, digest, duration', () => {
    expect(finalView(record).legs).toEqual([
      { platform: 'linux/amd64', emulated: false, buildId: 'p:1', digest: AMD, durationSeconds: 125 },
      {
        platform: 'linux/arm/v7',
        emulated: true,
        buildId: 'p:2',
        digest: undefined,
        durationSeconds: undefined,
      },
    ]);
  });

  it('prints one line per leg, naming the emulated ones', () => {
    expect(legLines(legsOf(record))).toEqual([
      `leg      linux/amd64  native  ${AMD.slice(0, 19)}  125s`,
      'leg      linux/arm/v7  emulated  not pushed',
    ]);
  });

  it("adds each leg's time where CodeBuild reported it", () => {
    const timed: UploadRecord = {
      ...record,
      legs: [
        {
          ...(record.legs?.[0] as NonNullable<UploadRecord['legs']>[number]),
          durations: { provisioning: 40, build: 85 },
        },
        ...(record.legs?.slice(1) ?? []),
      ],
    };
    expect(finalView(timed).legs?.[0]?.durations).toEqual({ provisioning: 40, build: 85 });
    expect(legLines(legsOf(timed))[0]).toBe(
      `leg      linux/amd64  native  ${AMD.slice(0, 19)}  125s  (provisioning 40 s, build 85 s)`,
    );
  });

  it('shows no legs for an upload of one platform or none', () => {
    expect(legsOf({ ...record, legs: record.legs?.slice(0, 1) })).toBeUndefined();
    expect(finalView({ ...record, legs: undefined })).not.toHaveProperty('legs');
    expect(legLines(undefined)).toEqual([]);
  });

  it('says no duration for a leg that ended before the upload was accepted (a clock skew)', () => {
    const skewed = { ...record, at: '2026-12-03T11:00:00.000Z' };
    expect(legsOf(skewed)?.[0]?.durationSeconds).toBeUndefined();
  });
});
