/**
 * `status`, `list` and `--output json` show the legs of a multi-platform upload, and `submit` tells
 * each leg's end once while it waits for the release.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LegProgress, legProgressLine } from '../../../cli/leg-progress.ts';
import { formatUploads, legsCell, listUploads } from '../../../cli/list.ts';
import { finalView, legLines, legsOf } from '../../../cli/status.ts';
import { joinedFields } from '../../../cli/submit.ts';
import type { Target } from '../../../cli/target.ts';
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

  it('says 0s for a leg that ended the second the upload was accepted', () => {
    const instant = { ...record, at: '2026-12-03T10:02:05.000Z' };
    expect(legsOf(instant)?.[0]?.durationSeconds).toBe(0);
  });

  it('says no duration for a leg that ended before the upload was accepted (a clock skew)', () => {
    const skewed = { ...record, at: '2026-12-03T11:00:00.000Z' };
    expect(legsOf(skewed)?.[0]?.durationSeconds).toBeUndefined();
  });
});

describe('the legs in list', () => {
  const s3Mock = mockClient(S3Client);
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: '.ecr-pipeline/uploads/x.json', LastModified: new Date('2026-12-03T10:05:00Z') }],
    });
    s3Mock.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => JSON.stringify(record) } as never,
    });
  });
  const target = { clients: { s3: new S3Client({ region: 'us-east-1' }) }, bucket: 'b', prefix: '' } as Pick<
    Target,
    'clients' | 'bucket' | 'prefix'
  >;

  it('carries the legs in the JSON of a multi-platform upload', async () => {
    const [listed] = await listUploads(target, { limit: 5, now: new Date('2026-12-03T10:06:00Z') });
    expect(listed?.legs).toEqual(legsOf(record));
    expect(JSON.parse(JSON.stringify(listed)).legs).toEqual([
      { platform: 'linux/amd64', emulated: false, buildId: 'p:1', digest: AMD, durationSeconds: 125 },
      { platform: 'linux/arm/v7', emulated: true, buildId: 'p:2' },
    ]);
  });

  it('leaves the legs out for an upload of one platform', async () => {
    s3Mock.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => JSON.stringify({ ...record, legs: undefined }) } as never,
    });
    const [listed] = await listUploads(target, { limit: 5 });
    expect(listed).not.toHaveProperty('legs');
  });

  it('shows the platforms in one column: emulated named, a duration once pushed', async () => {
    expect(legsCell(legsOf(record))).toBe('linux/amd64 125s + linux/arm/v7 (emulated)');
    expect(legsCell(undefined)).toBe('-');
    const table = formatUploads(
      await listUploads(target, { limit: 5, now: new Date('2026-12-03T10:06:00Z') }),
    );
    expect(table.split('\n')[0]).toMatch(/^KEY +IMAGE +STATUS +GATE +AGE +PLATFORMS +BUILD$/);
    expect(table.split('\n')[1]).toMatch(/ 1m +linux\/amd64 125s \+ linux\/arm\/v7 \(emulated\) +-$/);
  });

  it('strips terminal control characters from a platform', () => {
    expect(
      legsCell([
        { platform: 'linux/\u001b[2Jx', emulated: false },
        { platform: 'a/b', emulated: false },
      ]),
    ).toBe('linux/x + a/b');
  });
});

describe('the legs while submit waits', () => {
  const accepted: UploadRecord = {
    ...record,
    status: 'accepted',
    digest: undefined,
    legs: record.legs?.map((leg) => ({ ...leg, digest: undefined, finishedAt: undefined })),
  };
  const withLeg = (i: number, leg: Partial<NonNullable<UploadRecord['legs']>[number]>): UploadRecord => ({
    ...accepted,
    legs: accepted.legs?.map((l, j) => (j === i ? { ...l, ...leg } : l)),
  });

  it('prints one line per leg as it ends, once, in the order they end', () => {
    const lines: string[] = [];
    const progress = new LegProgress((line) => lines.push(line));
    progress.see(undefined);
    progress.see(accepted);
    expect(lines).toEqual([]);
    const armIn = withLeg(1, { digest: AMD, finishedAt: '2026-12-03T10:07:00.000Z' });
    progress.see(armIn);
    progress.see(armIn);
    const both = {
      ...armIn,
      legs: armIn.legs?.map((l, j) =>
        j === 0 ? { ...l, digest: AMD, finishedAt: '2026-12-03T10:02:05.000Z' } : l,
      ),
    };
    progress.see(both);
    progress.see({ ...both, status: 'released' });
    expect(lines).toEqual([
      `leg linux/arm/v7 (emulated) pushed after 420s: ${AMD.slice(0, 19)}`,
      `leg linux/amd64 (native) pushed after 125s: ${AMD.slice(0, 19)}`,
    ]);
  });

  it('tells a leg that ended without an image, and nothing for an upload of one platform', () => {
    const lines: string[] = [];
    const progress = new LegProgress((line) => lines.push(line));
    progress.see({ ...withLeg(0, { finishedAt: '2026-12-03T10:01:00.000Z' }), status: 'failed' });
    progress.see({ ...record, legs: record.legs?.slice(0, 1) });
    expect(lines).toEqual(['leg linux/amd64 (native) ended after 60s without an image']);
  });

  it('says no duration when none is known', () => {
    expect(legProgressLine({ platform: 'linux/arm64', emulated: false, digest: AMD })).toBe(
      `leg linux/arm64 (native) pushed: ${AMD.slice(0, 19)}`,
    );
  });
});

describe("submit's result for a joined image", () => {
  const LEG = `sha256:${'1'.repeat(64)}`;
  const pushed = {
    kind: 'pushed' as const,
    buildId: 'p:1',
    image: `123.dkr.ecr.us-east-1.amazonaws.com/team/web:v1@${LEG}`,
    digest: LEG,
  };

  it('names the index the tag is on, not the followed leg, and carries the legs', () => {
    expect(joinedFields(pushed, record)).toEqual({
      legs: legsOf(record),
      image: `123.dkr.ecr.us-east-1.amazonaws.com/team/web:v1@${record.digest}`,
      digest: record.digest,
    });
  });

  it('changes nothing for an upload of one platform, and keeps the image when no index was joined', () => {
    expect(joinedFields(pushed, { ...record, legs: undefined })).toEqual({});
    expect(joinedFields(pushed, { ...record, digest: undefined })).toEqual({ legs: legsOf(record) });
  });
});
