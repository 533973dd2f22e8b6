import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  judgeScan,
  rememberScan,
  type ScanMemoryDeps,
  type ScanResult,
} from '../../../../functions/ecr-events/scans/memory.ts';
import { scanMemoryKey } from '../../../../functions/shared/upload-record.ts';
import { conditionalBucket } from '../fixtures.ts';

const s3 = new S3Client({ region: 'us-west-2' });
const s3Mock = mockClient(s3);
const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-west-2';
const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
const KEY = scanMemoryKey('contexts/', 'team/web', DIGEST);
const deps: ScanMemoryDeps = {
  s3,
  commands: { GetObjectCommand, PutObjectCommand },
  bucket: BUCKET,
  keyPrefix: 'contexts/',
};
const result = (counts: ScanResult['counts'], at = '2026-11-20T06:00:00Z'): ScanResult => ({
  repository: 'team/web',
  digest: DIGEST,
  counts,
  at,
});
let bucket: ReturnType<typeof conditionalBucket>;
const remembered = () => JSON.parse(String(bucket.objects.get(KEY)?.body));

beforeEach(() => {
  s3Mock.reset();
  bucket = conditionalBucket();
  s3Mock.on(GetObjectCommand).callsFake(bucket.get);
  s3Mock.on(PutObjectCommand).callsFake(bucket.put);
});

describe('judgeScan', () => {
  it("tells an image's first result", () => {
    expect(judgeScan(undefined, { LOW: 1 }, 'HIGH').notify).toBe(true);
  });

  it('tells when the worst severity rises', () => {
    expect(judgeScan({ HIGH: 5 }, { CRITICAL: 1, HIGH: 4 }, 'HIGH')).toEqual({
      notify: true,
      reason: 'worst severity rose from HIGH to CRITICAL',
    });
  });

  it('tells when findings at or above the minimum severity grow in number', () => {
    expect(judgeScan({ CRITICAL: 1, HIGH: 4 }, { CRITICAL: 1, HIGH: 5 }, 'HIGH')).toEqual({
      notify: true,
      reason: 'HIGH findings went from 4 to 5',
    });
  });

  it('keeps quiet about more findings below the minimum severity, and about fewer findings', () => {
    expect(judgeScan({ HIGH: 4 }, { HIGH: 4, MEDIUM: 9 }, 'HIGH').notify).toBe(false);
    expect(judgeScan({ CRITICAL: 2, HIGH: 4 }, { CRITICAL: 1, HIGH: 3 }, 'HIGH').notify).toBe(false);
  });

  it('counts every severity with ALL', () => {
    expect(judgeScan({ HIGH: 4 }, { HIGH: 4, LOW: 1 }, 'ALL').notify).toBe(true);
  });

  it('says why it tells or keeps quiet', () => {
    expect(judgeScan(undefined, {}, 'HIGH')).toEqual({ notify: true, reason: 'first result for this image' });
    expect(judgeScan({}, { LOW: 1 }, 'LOW')).toEqual({
      notify: true,
      reason: 'worst severity rose from none to LOW',
    });
    expect(judgeScan({ HIGH: 1 }, { HIGH: 1, MEDIUM: 2 }, 'MEDIUM')).toEqual({
      notify: true,
      reason: 'MEDIUM findings went from 0 to 2',
    });
    expect(judgeScan({ HIGH: 2 }, { HIGH: 1 }, 'HIGH')).toEqual({
      notify: false,
      reason: 'no new findings at or above HIGH since the last result',
    });
  });

  it('tells more findings at exactly the minimum severity, not only above it', () => {
    expect(judgeScan({ CRITICAL: 1, MEDIUM: 1 }, { CRITICAL: 1, MEDIUM: 2 }, 'MEDIUM').notify).toBe(true);
    expect(judgeScan({ CRITICAL: 1, LOW: 1 }, { CRITICAL: 1, LOW: 2 }, 'MEDIUM').notify).toBe(false);
  });

  it('keeps quiet when the worst severity stays the same or falls', () => {
    expect(judgeScan({ HIGH: 1 }, { HIGH: 1 }, 'ALL').notify).toBe(false);
    expect(judgeScan({ CRITICAL: 1, HIGH: 1 }, { HIGH: 1 }, 'ALL').notify).toBe(false);
  });
});

describe('rememberScan', () => {
  it('tells a rescan that found the same findings only once', async () => {
    const first = await rememberScan(deps, result({ HIGH: 3 }), 'HIGH');
    const again = await rememberScan(deps, result({ HIGH: 3 }, '2026-11-21T06:00:00Z'), 'HIGH');
    expect([first.notify, again.notify]).toEqual([true, false]);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: KEY,
      IfNoneMatch: '*',
    });
  });

  it('tells a new finding at the minimum severity in an image already told about', async () => {
    await rememberScan(deps, result({ HIGH: 3 }), 'HIGH');
    const later = await rememberScan(deps, result({ HIGH: 4 }, '2026-11-21T06:00:00Z'), 'HIGH');
    expect(later.notify).toBe(true);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { Key: KEY, IfMatch: '"e1"' });
    expect(remembered().counts).toEqual({ HIGH: 4 });
  });

  it('tells two results of one digest that arrive at once only once, and loses neither', async () => {
    const [a, b] = await Promise.all([
      rememberScan(deps, result({ CRITICAL: 1 }), 'HIGH'),
      rememberScan(deps, result({ CRITICAL: 1 }, '2026-11-20T06:00:01Z'), 'HIGH'),
    ]);
    expect([a.notify, b.notify].filter(Boolean)).toHaveLength(1);
    expect(remembered().counts).toEqual({ CRITICAL: 1 });
  });

  it('keeps the newer of two different results that arrive at once, and tells the rise', async () => {
    await rememberScan(deps, result({ HIGH: 1 }), 'HIGH');
    const [a, b] = await Promise.all([
      rememberScan(deps, result({ HIGH: 2 }, '2026-11-21T06:00:00Z'), 'HIGH'),
      rememberScan(deps, result({ HIGH: 3 }, '2026-11-21T07:00:00Z'), 'HIGH'),
    ]);
    expect(a.notify || b.notify).toBe(true);
    expect(remembered()).toMatchObject({ counts: { HIGH: 3 }, at: '2026-11-21T07:00:00Z' });
  });

  it('leaves the memory alone for a result older than the one kept', async () => {
    await rememberScan(deps, result({ HIGH: 1 }, '2026-11-21T06:00:00Z'), 'HIGH');
    const late = await rememberScan(deps, result({ CRITICAL: 5 }, '2026-11-20T06:00:00Z'), 'HIGH');
    expect(late.notify).toBe(false);
    expect(remembered().counts).toEqual({ HIGH: 1 });
  });

  it('puts the previous memory back when the news was not delivered, so that a retry tells it', async () => {
    await rememberScan(deps, result({ HIGH: 1 }), 'HIGH');
    const news = await rememberScan(deps, result({ CRITICAL: 1 }, '2026-11-21T06:00:00Z'), 'HIGH');
    await news.forget();
    expect(remembered().counts).toEqual({ HIGH: 1 });
    const retry = await rememberScan(deps, result({ CRITICAL: 1 }, '2026-11-21T06:00:00Z'), 'HIGH');
    expect(retry.notify).toBe(true);
  });

  it('says why it keeps quiet about a rescan with the same findings or an older result', async () => {
    await rememberScan(deps, result({ HIGH: 1 }, '2026-11-21T06:00:00Z'), 'HIGH');
    expect(await rememberScan(deps, result({ HIGH: 1 }, '2026-11-22T06:00:00Z'), 'HIGH')).toMatchObject({
      notify: false,
      reason: 'the same findings as the last result',
    });
    expect(await rememberScan(deps, result({ HIGH: 2 }, '2026-11-20T06:00:00Z'), 'HIGH')).toMatchObject({
      notify: false,
      reason: 'a newer result was already seen',
    });
  });

  it('judges a result of the same time as the one kept', async () => {
    await rememberScan(deps, result({ HIGH: 1 }), 'HIGH');
    const same = await rememberScan(deps, result({ HIGH: 2 }), 'HIGH');
    expect(same).toMatchObject({ notify: true, reason: 'HIGH findings went from 1 to 2' });
    expect(remembered().counts).toEqual({ HIGH: 2 });
  });

  it('writes the whole result as JSON, the first time only if nothing is there yet', async () => {
    const first = await rememberScan(deps, result({ HIGH: 3 }), 'HIGH');
    expect(first.reason).toBe('first result for this image');
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: KEY,
      ContentType: 'application/json',
      IfNoneMatch: '*',
    });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.IfMatch).toBeUndefined();
    expect(remembered()).toEqual({
      repository: 'team/web',
      digest: DIGEST,
      counts: { HIGH: 3 },
      at: '2026-11-20T06:00:00Z',
    });
  });

  it('forgets a first result by writing the memory back without counts, on the ETag it wrote', async () => {
    const first = await rememberScan(deps, result({ HIGH: 3 }), 'HIGH');
    await first.forget();
    expect(s3Mock).toHaveReceivedNthCommandWith(PutObjectCommand, 2, { Key: KEY, IfMatch: '"e1"' });
    expect(remembered()).toEqual({ repository: 'team/web', digest: DIGEST, at: '2026-11-20T06:00:00Z' });
    const retry = await rememberScan(deps, result({ HIGH: 3 }), 'HIGH');
    expect(retry).toMatchObject({ notify: true, reason: 'first result for this image' });
  });

  it('has nothing to forget when it kept quiet', async () => {
    await rememberScan(deps, result({ HIGH: 3 }), 'HIGH');
    const quiet = await rememberScan(deps, result({ HIGH: 3 }, '2026-11-21T06:00:00Z'), 'HIGH');
    await quiet.forget();
    const older = await rememberScan(deps, result({ HIGH: 9 }, '2026-11-19T06:00:00Z'), 'HIGH');
    await older.forget();
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  const conflict = (status: number) =>
    Object.assign(new Error('PreconditionFailed'), {
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: status },
    });

  it('reads and judges again after a conflicting write (412 or 409), three times at most', async () => {
    s3Mock.on(PutObjectCommand).rejectsOnce(conflict(412)).rejectsOnce(conflict(409)).callsFake(bucket.put);
    expect((await rememberScan(deps, result({ HIGH: 1 }), 'HIGH')).notify).toBe(true);
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 3);
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).callsFake(bucket.get);
    s3Mock.on(PutObjectCommand).rejects(conflict(412));
    await expect(rememberScan(deps, result({ HIGH: 2 }, '2026-11-21T06:00:00Z'), 'HIGH')).rejects.toThrow(
      'PreconditionFailed',
    );
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 3);
  });

  it('throws at once what S3 throws other than a conflict', async () => {
    s3Mock.on(PutObjectCommand).rejects(conflict(403));
    await expect(rememberScan(deps, result({ HIGH: 1 }), 'HIGH')).rejects.toThrow('PreconditionFailed');
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    s3Mock.on(PutObjectCommand).rejects(new Error('socket hang up'));
    await expect(rememberScan(deps, result({ HIGH: 1 }), 'HIGH')).rejects.toThrow('socket hang up');
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 2);
    s3Mock.on(GetObjectCommand).rejects(conflict(500));
    await expect(rememberScan(deps, result({ HIGH: 1 }), 'HIGH')).rejects.toThrow('PreconditionFailed');
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 2);
  });
});
