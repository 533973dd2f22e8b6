/**
 * Turns what moto delivers to the local queues into what Lambda would be invoked with, correcting
 * where moto departs from AWS (see shared FACTS): S3 keys with `/` encoded as `%2F`, records without
 * `versionId` and `sequencer`, times without a zone, EventBridge events without `account`.
 */
import { ACCOUNT_ID } from '../shared/local-cloud.ts';

/** The s3:TestEvent message S3 (and moto) sends once to a queue after notifications are configured. */
export function isS3TestEvent(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { Event?: unknown }).Event === 's3:TestEvent';
}

/** A hex sequencer that grows with every call, like S3's for one key (compared after right-padding). */
export function createSequencer(start = Date.now()): () => string {
  let last = BigInt(start) * 1000n;
  return () => {
    const now = BigInt(Date.now()) * 1000n;
    last = now > last ? now : last + 1n;
    return last.toString(16).toUpperCase().padStart(18, '0');
  };
}

/** S3's key encoding as it appears in notifications: URL-encoded, `+` for spaces, `/` kept. */
export function s3NotificationKey(motoKey: string): string {
  return motoKey.replace(/%2F/gi, '/');
}

function awsTime(value: unknown): string {
  const text = String(value ?? '');
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(date.getTime()) ? new Date().toISOString() : date.toISOString();
}

export interface S3RecordFix {
  region: string;
  /** The version id of the object the record names, when the bucket is versioned. */
  versionId(bucket: string, key: string, eTag: string | undefined): Promise<string | undefined>;
  sequencer(): string;
}

type Json = Record<string, unknown>;

/** One S3 notification record corrected to the shape S3 gives Lambda. */
export async function correctS3Record(record: Json, fix: S3RecordFix): Promise<Json> {
  const s3 = (record.s3 ?? {}) as Json;
  const bucket = (s3.bucket ?? {}) as Json;
  const object = (s3.object ?? {}) as Json;
  const key = s3NotificationKey(String(object.key ?? ''));
  const bucketName = String(bucket.name ?? '');
  const decodedKey = decodeURIComponent(key.replace(/\+/g, ' '));
  const eventName = String(record.eventName ?? '');
  const versionId =
    object.versionId ??
    (eventName.startsWith('ObjectCreated')
      ? await fix.versionId(bucketName, decodedKey, object.eTag as string | undefined)
      : undefined);
  return {
    eventVersion: record.eventVersion ?? '2.1',
    eventSource: 'aws:s3',
    awsRegion: record.awsRegion ?? fix.region,
    eventTime: awsTime(record.eventTime),
    eventName,
    userIdentity: record.userIdentity ?? { principalId: `AWS:${ACCOUNT_ID}` },
    requestParameters: record.requestParameters ?? { sourceIPAddress: '127.0.0.1' },
    responseElements: record.responseElements ?? {
      'x-amz-request-id': crypto.randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(),
      'x-amz-id-2': Buffer.from(crypto.randomUUID()).toString('base64'),
    },
    s3: {
      s3SchemaVersion: s3.s3SchemaVersion ?? '1.0',
      configurationId: s3.configurationId,
      bucket: {
        name: bucketName,
        ownerIdentity: bucket.ownerIdentity ?? { principalId: ACCOUNT_ID },
        arn: bucket.arn ?? `arn:aws:s3:::${bucketName}`,
      },
      object: {
        key,
        ...(object.size !== undefined ? { size: object.size } : {}),
        ...(object.eTag !== undefined ? { eTag: object.eTag } : {}),
        ...(versionId ? { versionId } : {}),
        sequencer: object.sequencer ?? fix.sequencer(),
      },
    },
  };
}

/** The Lambda events one queue message from S3 makes (one per record; none for s3:TestEvent). */
export async function s3MessageToEvents(body: unknown, fix: S3RecordFix): Promise<Json[]> {
  if (isS3TestEvent(body)) return [];
  const records = ((body as Json | undefined)?.Records ?? []) as Json[];
  const events: Json[] = [];
  for (const record of records) events.push({ Records: [await correctS3Record(record, fix)] });
  return events;
}

/** An EventBridge event as Lambda receives it: moto's SQS delivery leaves out `account`. */
export function correctEventBridgeEvent(event: Json, accountId = ACCOUNT_ID): Json {
  return {
    version: event.version ?? '0',
    id: event.id,
    'detail-type': event['detail-type'],
    source: event.source,
    account: event.account ?? accountId,
    time: event.time,
    region: event.region,
    resources: event.resources ?? [],
    detail: event.detail ?? {},
  };
}
