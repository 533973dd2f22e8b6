/** A small in-memory bucket and registry behind aws-sdk-client-mock, for the release's unit tests. */
import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImageSigningStatusCommand,
  DescribeImagesCommand,
  ECRClient,
  type ImageSigningStatus,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { loadConfig } from '../../../functions/release/config.ts';
import type { Deps } from '../../../functions/release/deps.ts';
import { type UploadRecord, uploadRecordKey } from '../../../functions/shared/upload-record.ts';

export const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-west-2';
export const PROJECT = 'ecr-pipeline-dev';
export const KEY = 'team/web/v1.4.3.tar.gz';
export const VERSION = '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY';
export const BUILD_ID =
  'arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef';
export const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
export const OTHER_DIGEST = `sha256:${'b'.repeat(64)}`;
/** The phase durations of codebuild/build-succeeded-exported.json. */
export const DURATIONS = {
  queued: 1,
  provisioning: 35,
  downloadSource: 3,
  install: 12,
  preBuild: 5,
  build: 52,
  postBuild: 1,
  finalizing: 3,
};
export const NOW = new Date('2026-11-16T16:14:30.000Z');
export const REQUEST_ID = '5e7b9c1a-0f3d-4b8e-9a21-6c4d2e8f1b07';

export const s3Mock = mockClient(S3Client);
export const ecrMock = mockClient(ECRClient);
export const eventsMock = mockClient(EventBridgeClient);
export const codebuildMock = mockClient(CodeBuildClient);

/** A fresh copy of a fixture under test/events/. */
export function fixture(name: string): Record<string, unknown> & { detail: Record<string, unknown> } {
  return JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8'));
}

/** An SDK-like service error. */
export function awsError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} (test)`), { name, $metadata: { httpStatusCode: status } });
}

interface StoredObject {
  body: string;
  eTag: string;
  versionId?: string;
  metadata?: Record<string, string>;
  /** Each put is a second after the one before, as S3's LastModified would say. */
  lastModified?: Date;
}

/** The contexts bucket: objects with ETags, conditional writes, and hooks to cut a call off. */
export class FakeBucket {
  readonly objects = new Map<string, StoredObject>();
  private counter = 0;
  /** Runs before a PutObject is applied (a concurrent writer, a failure). */
  beforePut: ((key: string, body: unknown) => void) | undefined;
  /** Runs after a PutObject is applied (a lost response). */
  afterPut: ((key: string, body: unknown) => void) | undefined;
  /** Whether a PutObject's answer carries the new ETag (S3 compatibles may leave it out). */
  answersETag = true;

  put(key: string, body: string, extra: Partial<StoredObject> = {}): string {
    const eTag = `"e${++this.counter}"`;
    const lastModified = new Date(Date.UTC(2026, 10, 16, 2, 0, this.counter));
    this.objects.set(key, { body, eTag, lastModified, ...extra });
    return eTag;
  }

  json<T = UploadRecord>(key: string): T {
    const found = this.objects.get(key);
    if (!found) throw new Error(`no object ${key}`);
    return JSON.parse(found.body) as T;
  }

  install(): void {
    s3Mock.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      const found = this.objects.get(input.Key);
      if (!found) throw awsError('NoSuchKey', 404);
      return { Body: { transformToString: async () => found.body }, ETag: found.eTag };
    });
    s3Mock.on(HeadObjectCommand).callsFake(async (input: { Key: string }) => {
      const found = this.objects.get(input.Key);
      if (!found) throw awsError('NotFound', 404);
      return {
        ETag: found.eTag,
        VersionId: found.versionId,
        Metadata: found.metadata ?? {},
        LastModified: found.lastModified,
      };
    });
    s3Mock.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: string; IfMatch?: string }) => {
      this.beforePut?.(input.Key, JSON.parse(input.Body));
      const found = this.objects.get(input.Key);
      if (input.IfMatch !== undefined && found?.eTag !== input.IfMatch)
        throw awsError('PreconditionFailed', 412);
      const eTag = this.put(input.Key, input.Body);
      this.afterPut?.(input.Key, JSON.parse(input.Body));
      return this.answersETag ? { ETag: eTag } : {};
    });
    s3Mock.on(DeleteObjectCommand).callsFake(async (input: { Key: string }) => {
      this.objects.delete(input.Key);
      return {};
    });
    s3Mock.on(ListObjectsV2Command).callsFake(async (input: { Prefix: string }) => ({
      Contents: [...this.objects.keys()].filter((k) => k.startsWith(input.Prefix)).map((Key) => ({ Key })),
    }));
  }
}

/** One ECR repository: its images, tags, scan results, mutability and whether the stack manages it. */
export class FakeRepository {
  readonly images = new Set<string>();
  readonly tags = new Map<string, string>();
  /** Manifests put by the release itself (an index), by digest; the others read as a stand-in. */
  readonly manifests = new Map<string, { text: string; mediaType: string }>();
  scan: { status: string; counts?: Record<string, number> } | undefined;
  /** DescribeImageSigningStatus's statuses of every image, or `denied` (the call is refused). */
  signing: ImageSigningStatus[] | 'denied' = [];
  managed = true;
  immutable = true;
  /** moto answers a taken tag with ImageAlreadyExistsException, ECR with ImageTagAlreadyExistsException. */
  takenError = 'ImageTagAlreadyExistsException';

  constructor(readonly name: string) {}

  install(): void {
    ecrMock.on(DescribeImagesCommand).callsFake(async (input) => {
      if (input.repositoryName !== this.name) throw awsError('RepositoryNotFoundException', 400);
      const id = input.imageIds?.[0] ?? {};
      const digest = id.imageDigest ?? (id.imageTag ? this.tags.get(id.imageTag) : undefined);
      if (!digest || !this.images.has(digest)) throw awsError('ImageNotFoundException', 400);
      const imageTags = [...this.tags].filter(([, d]) => d === digest).map(([t]) => t);
      return { imageDetails: [{ imageDigest: digest, imageTags }] };
    });
    ecrMock.on(DescribeImageScanFindingsCommand).callsFake(async () => {
      if (!this.scan) throw awsError('ScanNotFoundException', 400);
      return {
        imageScanStatus: { status: this.scan.status },
        imageScanFindings: { findingSeverityCounts: this.scan.counts ?? {} },
      };
    });
    ecrMock.on(DescribeImageSigningStatusCommand).callsFake(async (input) => {
      if (this.signing === 'denied') throw awsError('AccessDeniedException', 400);
      if (!this.images.has(input.imageId?.imageDigest ?? '')) throw awsError('ImageNotFoundException', 400);
      return { signingStatuses: this.signing };
    });
    ecrMock.on(BatchGetImageCommand).callsFake(async (input) => {
      if (!this.managed) throw awsError('AccessDeniedException', 400);
      const digests: string[] = (input.imageIds ?? []).map(
        (id: { imageDigest?: string }) => id.imageDigest ?? '',
      );
      const found = digests.filter((digest) => this.images.has(digest));
      if (found.length === 0) return { images: [], failures: [{ failureCode: 'ImageNotFound' }] };
      return {
        images: found.map((digest) => ({
          imageId: { imageDigest: digest },
          imageManifest: this.manifests.get(digest)?.text ?? `{"manifest":"${digest}"}`,
          imageManifestMediaType:
            this.manifests.get(digest)?.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
        })),
      };
    });
    ecrMock.on(PutImageCommand).callsFake(async (input) => {
      if (!this.managed) throw awsError('AccessDeniedException', 400);
      if (input.imageTag === undefined) {
        // An untagged manifest (an index the release joins), kept by its digest.
        const digest = input.imageDigest ?? '';
        if (this.images.has(digest)) throw awsError('ImageAlreadyExistsException', 400);
        this.images.add(digest);
        this.manifests.set(digest, {
          text: input.imageManifest ?? '',
          mediaType: input.imageManifestMediaType ?? '',
        });
        return { image: { imageId: { imageDigest: digest } } };
      }
      const tag = input.imageTag;
      const existing = this.tags.get(tag);
      if (existing === input.imageDigest) throw awsError('ImageAlreadyExistsException', 400);
      if (existing && this.immutable) throw awsError(this.takenError, 400);
      this.tags.set(tag, input.imageDigest ?? '');
      return { image: { imageId: { imageDigest: input.imageDigest, imageTag: tag } } };
    });
  }
}

/** Deps of one container with the stack's settings (`env` on top). */
export function releaseDeps(env: Record<string, string> = {}, now: () => Date = () => NOW): Deps {
  return {
    config: loadConfig({
      CONTEXT_BUCKET: BUCKET,
      BUILD_PROJECT: PROJECT,
      EVENT_BUS_NAME: 'ecr-pipeline-dev-build-rejected',
      ...env,
    }),
    s3: new S3Client({ region: 'us-west-2' }),
    ecr: new ECRClient({ region: 'us-west-2' }),
    events: async () => new EventBridgeClient({ region: 'us-west-2' }),
    codebuild: async () => new CodeBuildClient({ region: 'us-west-2' }),
    logger: new Logger({ serviceName: 'release', logLevel: 'SILENT' }),
    now,
  };
}

/** The verdict events put, as their details. */
export function verdicts(): Record<string, unknown>[] {
  return eventsMock
    .commandCalls(PutEventsCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => JSON.parse(e.Detail ?? '{}'));
}

/** The upload record's key of the upload KEY (version VERSION). */
export const RECORD_KEY = uploadRecordKey('', { bucket: BUCKET, key: KEY, versionId: VERSION });

/** The upload's record as build-trigger left it: accepted (`extra` on top). */
export function acceptedRecord(extra: Partial<UploadRecord> = {}): UploadRecord {
  return {
    status: 'accepted',
    bucket: BUCKET,
    key: KEY,
    versionId: VERSION,
    repository: 'team/web',
    tag: 'v1.4.3',
    at: '2026-11-16T16:12:20.000Z',
    ...extra,
  };
}

/**
 * Each test's starting point: the mocks reset, verdict events accepted, the bucket holding the
 * context KEY and its `record`, and the repository team/web holding `digests`.
 */
export function releaseScene(
  record: UploadRecord,
  digests: string[],
): { bucket: FakeBucket; repo: FakeRepository } {
  s3Mock.reset();
  ecrMock.reset();
  eventsMock.reset();
  codebuildMock.reset();
  eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
  const bucket = new FakeBucket();
  bucket.install();
  bucket.put(KEY, 'context', { versionId: VERSION });
  bucket.put(RECORD_KEY, JSON.stringify(record));
  const repo = new FakeRepository('team/web');
  for (const digest of digests) repo.images.add(digest);
  repo.install();
  return { bucket, repo };
}

/** The PutImage calls made, as their inputs. */
export const putImages = () => ecrMock.commandCalls(PutImageCommand).map((c) => c.args[0].input);
