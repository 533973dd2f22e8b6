/**
 * Uploads the packed context with lib-storage's Upload (multipart past one part), with progress and
 * an interruption that leaves no partial object and no pending multipart upload behind.
 */
import type { Readable } from 'node:stream';
import { AbortMultipartUploadCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/** 8 MiB parts, 4 in flight: memory stays near 40 MiB whatever the context size. */
export const PART_SIZE = 8 * 1024 * 1024;
export const QUEUE_SIZE = 4;

export interface UploadRequest {
  s3: S3Client;
  bucket: string;
  key: string;
  body: Readable;
  metadata: Record<string, string>;
  /** Aborting it stops the upload and removes what was sent. */
  signal?: AbortSignal;
  onProgress?: (sentBytes: number) => void;
  partSize?: number;
}

export interface UploadResult {
  versionId?: string | undefined;
  eTag?: string | undefined;
}

/** Thrown when the signal stopped the upload; `completed` says the object was stored before it could be stopped. */
export class UploadInterrupted extends Error {
  override name = 'UploadInterrupted';
  constructor(readonly completed: boolean) {
    super(completed ? 'interrupted after the upload completed' : 'upload interrupted; nothing was stored');
  }
}

const FINISHING_COMMANDS = new Set(['PutObjectCommand', 'CompleteMultipartUploadCommand']);

/**
 * Counts the S3 requests in flight, so that an interruption can wait for the ones already sent
 * before it cleans up, and records whether the object was stored.
 */
function trackRequests(s3: S3Client) {
  let pending = 0;
  let stored = false;
  let wake: (() => void) | undefined;
  const name = `ecr-pipeline-track-${Math.random().toString(36).slice(2)}`;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      pending += 1;
      try {
        const result = await next(args);
        if (FINISHING_COMMANDS.has(context.commandName ?? '')) stored = true;
        return result;
      } finally {
        pending -= 1;
        wake?.();
      }
    },
    { step: 'initialize', name },
  );
  return {
    get stored() {
      return stored;
    },
    /** Resolves once no request has been in flight for a full turn of the event loop. */
    async idle(): Promise<void> {
      for (;;) {
        if (pending > 0) await new Promise<void>((resolve) => (wake = resolve));
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        if (pending === 0) return;
      }
    },
    remove: () => s3.middlewareStack.remove(name),
  };
}

/** Uploads `body` to s3://bucket/key with the metadata; resolves with the stored version. */
export async function uploadContext(request: UploadRequest): Promise<UploadResult> {
  const { s3, signal } = request;
  if (signal?.aborted) throw new UploadInterrupted(false);
  const tracker = trackRequests(s3);
  const upload = new Upload({
    client: s3,
    partSize: request.partSize ?? PART_SIZE,
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
    params: {
      Bucket: request.bucket,
      Key: request.key,
      Body: request.body,
      ContentType: 'application/gzip',
      Metadata: request.metadata,
    },
  });
  upload.on('httpUploadProgress', (progress) => request.onProgress?.(progress.loaded ?? 0));
  const onAbort = () => {
    void upload.abort();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await upload.done();
    // An unversioned bucket has no version id; some emulators say "null", as S3 does in listings.
    const versionId = result.VersionId && result.VersionId !== 'null' ? result.VersionId : undefined;
    return { versionId, eTag: result.ETag };
  } catch (error) {
    if (!signal?.aborted) throw error;
    // Upload.abort() settles done() at once while parts may still be in flight: wait for them, then
    // make sure the multipart upload is gone (the library aborts it too; a second abort is harmless).
    request.body.destroy();
    await tracker.idle();
    if (upload.uploadId && !tracker.stored) {
      await s3
        .send(
          new AbortMultipartUploadCommand({
            Bucket: request.bucket,
            Key: request.key,
            UploadId: upload.uploadId,
          }),
        )
        .catch(() => undefined);
    }
    throw new UploadInterrupted(tracker.stored);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    tracker.remove();
  }
}
