import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import {
  correctEventBridgeEvent,
  correctS3Record,
  createSequencer,
  isS3TestEvent,
  s3MessageToEvents,
  s3NotificationKey,
} from '../../../local/records.ts';

const fixture = (path: string) =>
  JSON.parse(readFileSync(new URL(`../../events/${path}`, import.meta.url), 'utf8'));

/** What moto 5.2.1 puts on an SQS queue for an ObjectCreated notification (seen with moto_server). */
const motoRecord = () => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'us-east-1',
  eventTime: '2026-11-27T04:04:49.140178',
  eventName: 'ObjectCreated:Put',
  s3: {
    s3SchemaVersion: '1.0',
    configurationId: 'qE0w9G6MbgXptT3pGJo24gTwr0MR0pfPjfjwJK6iuYnGwR0EQZ',
    bucket: { name: 'contexts', arn: 'arn:aws:s3:::contexts' },
    object: { key: 'team%2Fmy+app%2Fv1.tar.gz', size: 3, eTag: '764efa883dda1e11db47671c4a3bbd9e' },
  },
});

/** Every key path of a JSON value, for comparing shapes. */
const shape = (value: unknown, prefix = ''): string[] =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...shape(v, `${prefix}${k}.`)])
    : [];

describe('S3 records', () => {
  const fix = () => ({
    region: 'us-east-1',
    versionId: vi.fn(async () => 'v-123'),
    sequencer: createSequencer(),
  });

  it('keeps "/" in keys as S3 does and leaves the rest of the encoding alone', () => {
    expect(s3NotificationKey('team%2Fmy+app%2Fv1.tar.gz')).toBe('team/my+app/v1.tar.gz');
    expect(s3NotificationKey('a%2fb%3Dc')).toBe('a/b%3Dc');
  });

  it('gives a record the shape of a real S3 record, with versionId and sequencer', async () => {
    const f = fix();
    const record = await correctS3Record(motoRecord(), f);
    expect(shape(record).sort()).toEqual(shape(fixture('s3/put-versioned.json').Records[0]).sort());
    expect(record).toMatchObject({
      eventTime: '2026-11-27T04:04:49.140Z',
      s3: { object: { key: 'team/my+app/v1.tar.gz', versionId: 'v-123', size: 3 } },
    });
    // the version is looked up by the decoded key
    expect(f.versionId).toHaveBeenCalledWith(
      'contexts',
      'team/my app/v1.tar.gz',
      '764efa883dda1e11db47671c4a3bbd9e',
    );
  });

  it('leaves versionId out when the bucket is not versioned', async () => {
    const record = await correctS3Record(motoRecord(), { ...fix(), versionId: async () => undefined });
    expect((record.s3 as { object: object }).object).not.toHaveProperty('versionId');
  });

  it('delivers one event per record and none for the s3:TestEvent, as S3 does to Lambda', async () => {
    const testEvent = {
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-11-27T04:04:48.665829',
      Bucket: 'b',
    };
    expect(isS3TestEvent(testEvent)).toBe(true);
    expect(await s3MessageToEvents(testEvent, fix())).toEqual([]);
    const events = await s3MessageToEvents({ Records: [motoRecord(), motoRecord()] }, fix());
    expect(events).toHaveLength(2);
    expect(events.every((e) => (e.Records as unknown[]).length === 1)).toBe(true);
  });

  it('makes sequencers that grow, in hex, even within one millisecond', () => {
    const next = createSequencer(Date.now() + 60_000);
    const a = next();
    const b = next();
    expect(a).toMatch(/^[0-9A-F]{18}$/);
    expect(BigInt(`0x${b}`)).toBeGreaterThan(BigInt(`0x${a}`));
  });
});

describe('EventBridge events', () => {
  it('adds the account moto leaves out, in the order AWS gives the fields', () => {
    const real = fixture('ecr/image-action-push.json');
    const { account: _account, ...moto } = real;
    const corrected = correctEventBridgeEvent(moto);
    expect(corrected).toEqual(real);
    expect(Object.keys(corrected)).toEqual(Object.keys(real));
  });
});
