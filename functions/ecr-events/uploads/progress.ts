/**
 * Keeps an upload record up to date from the events this function receives. The build-trigger
 * function claims the record and starts the build, and spends no call on it afterwards; the build's
 * own state-change events echo the object it builds (bucket, key, version or ETag), so this function
 * writes there the build id, then the final state (built with the digest the build exported, failed
 * or superseded with the reason). A built image also gets a small index object naming its record, by
 * which the completed scan of the image, which knows the image but not the upload, adds its counts.
 *
 * Every write is conditional on the record not having changed since it was read (If-Match), and is
 * tried again once if it had; what the event does to the record is `transition` (record-transition.ts).
 */
import type { ImageDetail } from '@aws-sdk/client-ecr';
import type { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BUILD_ENV } from '../../shared/contract.ts';
import { scannerOf, scanState } from '../../shared/scan-status.ts';
import { normalizeCounts } from '../../shared/severity.ts';
import { httpStatusOf } from '../../shared/transient.ts';
import {
  type ImageIndex,
  imageIndexKey,
  UPLOAD_RECORD_DIR,
  type UploadIdentity,
  type UploadRecord,
  type UploadScan,
  uploadRecordKey,
} from '../../shared/upload-record.ts';
import { describeError, type Logger } from '../logger.ts';
import { type RecordEvent, transition } from './record-transition.ts';

/** The upload a build event is about, as the build's environment names it. */
export interface BuildUpload {
  identity: UploadIdentity;
  buildId: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;

/** The upload and build id of a `CodeBuild Build State Change` event, or undefined for any other event. */
export function buildUploadOf(event: unknown): BuildUpload | undefined {
  if (!isObject(event) || event.source !== 'aws.codebuild' || !isObject(event.detail)) return undefined;
  const buildId = event.detail['build-id'];
  const info = event.detail['additional-information'];
  const environment = isObject(info) && isObject(info.environment) ? info.environment : undefined;
  const variables = environment?.['environment-variables'];
  if (typeof buildId !== 'string' || !Array.isArray(variables)) return undefined;
  const value = (name: string): string | undefined => {
    const found = variables.find((v): v is Json => isObject(v) && v.name === name);
    return typeof found?.value === 'string' && found.value !== '' ? found.value : undefined;
  };
  const bucket = value(BUILD_ENV.bucket);
  const key = value(BUILD_ENV.key);
  if (!bucket || !key) return undefined;
  return {
    identity: { bucket, key, versionId: value(BUILD_ENV.versionId), eTag: value(BUILD_ENV.eTag) },
    buildId,
  };
}

export interface UploadProgressDeps {
  s3: Pick<S3Client, 'send'>;
  commands: { GetObjectCommand: typeof GetObjectCommand; PutObjectCommand: typeof PutObjectCommand };
  /** The stack's contexts bucket and key prefix: records of any other bucket are not ours to write. */
  bucket: string;
  keyPrefix: string;
  /** The digest a build exported (BatchGetBuilds): the state event does not carry it. */
  buildDigest: (buildId: string) => Promise<string | undefined>;
  /**
   * The image's scan as ECR describes it (DescribeImages), for a scan that completed before the
   * record said built: its event found no index then.
   */
  imageScan: (repository: string, digest: string) => Promise<UploadScan | undefined>;
  logger: Logger;
}

export type ProgressResult = 'written' | 'unchanged' | 'no-record' | 'other-bucket' | 'no-index';

function isStatus(error: unknown, ...statuses: number[]): boolean {
  const status = httpStatusOf(error);
  // Stryker disable next-line ConditionalExpression: a list of statuses never includes undefined
  return status !== undefined && statuses.includes(status);
}

async function readJson<T>(
  deps: UploadProgressDeps,
  key: string,
): Promise<{ value: T; eTag?: string } | undefined> {
  try {
    const out = await deps.s3.send(new deps.commands.GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    return { value: JSON.parse((await out.Body?.transformToString()) ?? '{}') as T, eTag: out.ETag };
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/**
 * Reads the digest for a succeeded build's event when the record is to change, never for a record
 * already final. Without it (BatchGetBuilds failed) the record still says `built`.
 */
async function withDigest(deps: UploadProgressDeps, event: RecordEvent): Promise<RecordEvent> {
  if (event.kind !== 'build-succeeded' || event.digest) return event;
  try {
    const digest = await deps.buildDigest(event.buildId);
    if (!digest) deps.logger.error('the build exported no image digest', { buildId: event.buildId });
    return digest ? { ...event, digest } : event;
  } catch (error) {
    deps.logger.error('could not read the digest the build exported; the record says built without it', {
      buildId: event.buildId,
      error: describeError(error),
    });
    return event;
  }
}

/** Writes the index of a built image, naming its record; a failure costs the scan counts only. */
async function writeImageIndex(deps: UploadProgressDeps, recordKey: string, record: UploadRecord) {
  if (!record.repository || !record.digest) return;
  const index: ImageIndex = { record: recordKey, repository: record.repository, digest: record.digest };
  try {
    await deps.s3.send(
      new deps.commands.PutObjectCommand({
        Bucket: deps.bucket,
        Key: imageIndexKey(deps.keyPrefix, record.repository, record.digest),
        Body: JSON.stringify(index),
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    deps.logger.error('could not write the image index: its scan will not reach the upload record', {
      key: record.key,
      repository: record.repository,
      digest: record.digest,
      error: describeError(error),
    });
  }
}

/**
 * A scan ECR already completed (or that failed: it never will), from the image's DescribeImages
 * detail, classified as the CLI classifies it (shared/scan-status.ts); undefined while none did.
 * Enhanced scanning reports a completed scan as `ACTIVE`.
 */
export function scanOfImage(detail: ImageDetail | undefined, fallbackAt: string): UploadScan | undefined {
  const status = detail?.imageScanStatus?.status;
  const state = scanState(status);
  if (status === undefined || (state !== 'complete' && state !== 'failed')) return undefined;
  // Stryker disable next-line OptionalChaining: without a detail the status check above has returned
  const summary = detail?.imageScanFindingsSummary;
  return {
    status: state === 'complete' ? 'COMPLETE' : 'FAILED',
    scanner: scannerOf(status),
    counts: state === 'complete' ? normalizeCounts(summary?.findingSeverityCounts) : {},
    at: summary?.imageScanCompletedAt?.toISOString() ?? fallbackAt,
  };
}

/** The record with the scan that completed before it said built, if one did; a failure only costs that. */
async function withEarlyScan(deps: UploadProgressDeps, record: UploadRecord): Promise<UploadRecord> {
  if (!record.repository || !record.digest) return record;
  try {
    const scan = await deps.imageScan(record.repository, record.digest);
    // Stryker disable next-line ConditionalExpression: a record given an undefined scan is written as the same JSON
    if (!scan) return record;
    const event: RecordEvent = { kind: 'scan', repository: record.repository, digest: record.digest, scan };
    return transition(record, event) ?? record;
  } catch (error) {
    deps.logger.warn('could not read the scan status of the built image', {
      key: record.key,
      repository: record.repository,
      digest: record.digest,
      error: describeError(error),
    });
    return record;
  }
}

/**
 * Applies `event` to the record at `recordKey`: read, `transition`, write on condition of the ETag
 * read (once more if the record changed in between). The index of a newly built image is written
 * before the record, so that a record that says `built` always has one, and a scan that completed
 * before (whose event found no index) is read from ECR. Throws what it cannot handle.
 */
export async function applyToRecord(
  deps: UploadProgressDeps,
  recordKey: string,
  event: RecordEvent,
): Promise<ProgressResult> {
  let current = event;
  for (let attempt = 1; ; attempt++) {
    const read = await readJson<UploadRecord>(deps, recordKey);
    if (!read) return 'no-record';
    if (!transition(read.value, current)) return 'unchanged';
    current = await withDigest(deps, current);
    let next = transition(read.value, current);
    // Stryker disable next-line ConditionalExpression,StringLiteral: the digest changes none of the guards of the first transition, which passed
    if (!next) return 'unchanged';
    if (next.status === 'built' && read.value.status !== 'built') {
      await writeImageIndex(deps, recordKey, next);
      next = await withEarlyScan(deps, next);
    }
    try {
      await deps.s3.send(
        new deps.commands.PutObjectCommand({
          Bucket: deps.bucket,
          Key: recordKey,
          Body: JSON.stringify(next),
          ContentType: 'application/json',
          ...(read.eTag ? { IfMatch: read.eTag } : {}),
        }),
      );
      return 'written';
    } catch (error) {
      if (attempt >= 2 || !isStatus(error, 412, 409)) throw error;
    }
  }
}

/** A build's state change into the record of the upload it builds. */
export async function recordBuild(
  deps: UploadProgressDeps,
  upload: BuildUpload,
  event: Exclude<RecordEvent, { kind: 'scan' }>,
): Promise<ProgressResult> {
  if (upload.identity.bucket !== deps.bucket) return 'other-bucket';
  return applyToRecord(deps, uploadRecordKey(deps.keyPrefix, upload.identity), event);
}

/** A completed scan into the record of the upload that built the image, found by the image index. */
export async function recordScan(
  deps: UploadProgressDeps,
  event: Extract<RecordEvent, { kind: 'scan' }>,
): Promise<ProgressResult> {
  const read = await readJson<Partial<ImageIndex>>(
    deps,
    imageIndexKey(deps.keyPrefix, event.repository, event.digest),
  );
  if (!read) return 'no-index';
  const recordKey = read.value.record;
  // Only a record of this stack's own folder, whatever the index says.
  if (typeof recordKey !== 'string' || !recordKey.startsWith(`${deps.keyPrefix}${UPLOAD_RECORD_DIR}`)) {
    throw new Error(`the image index of ${event.repository}@${event.digest} names no upload record`);
  }
  return applyToRecord(deps, recordKey, event);
}
