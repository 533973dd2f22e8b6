/**
 * Carries a build's id into its upload record. The build-trigger function claims the record and
 * starts the build, and spends no call on the record afterwards (three calls per warm upload); the
 * build's own state-change events echo the object it builds (bucket, key, version or ETag), so this
 * function writes the build id there. A later delivery of the same upload then reads a record with
 * a build id and knows it is done, even after StartBuild's idempotency token (5 minutes) has lapsed.
 */
import type { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BUILD_ENV } from '../shared/contract.ts';
import { type UploadIdentity, type UploadRecord, uploadRecordKey } from '../shared/upload-record.ts';

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
  s3: S3Client;
  commands: { GetObjectCommand: typeof GetObjectCommand; PutObjectCommand: typeof PutObjectCommand };
  /** The stack's contexts bucket and key prefix: records of any other bucket are not ours to write. */
  bucket: string;
  keyPrefix: string;
}

export type ProgressResult = 'written' | 'unchanged' | 'no-record' | 'other-bucket';

function isStatus(error: unknown, ...statuses: number[]): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status !== undefined && statuses.includes(status);
}

/**
 * Adds the build id to the upload record (conditional on the record not having changed since it was
 * read; tried again once if it had). A record that already names a build, or that is gone (expired),
 * is left as it is.
 */
export async function recordBuildId(deps: UploadProgressDeps, upload: BuildUpload): Promise<ProgressResult> {
  if (upload.identity.bucket !== deps.bucket) return 'other-bucket';
  const key = uploadRecordKey(deps.keyPrefix, upload.identity);
  for (let attempt = 1; ; attempt++) {
    let record: UploadRecord;
    let eTag: string | undefined;
    try {
      const out = await deps.s3.send(new deps.commands.GetObjectCommand({ Bucket: deps.bucket, Key: key }));
      record = JSON.parse((await out.Body?.transformToString()) ?? '{}') as UploadRecord;
      eTag = out.ETag;
    } catch (error) {
      if (isStatus(error, 404)) return 'no-record';
      throw error;
    }
    if (record.buildId) return 'unchanged';
    try {
      await deps.s3.send(
        new deps.commands.PutObjectCommand({
          Bucket: deps.bucket,
          Key: key,
          Body: JSON.stringify({ ...record, buildId: upload.buildId }),
          ContentType: 'application/json',
          ...(eTag ? { IfMatch: eTag } : {}),
        }),
      );
      return 'written';
    } catch (error) {
      if (attempt >= 2 || !isStatus(error, 412, 409)) throw error;
    }
  }
}
