import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../../functions/ecr-events/config.ts';
import type { Deps } from '../../../../functions/ecr-events/deps.ts';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import { type Route, route } from '../../../../functions/ecr-events/route.ts';
import { rememberResult, withImageFindings } from '../../../../functions/ecr-events/scans/news.ts';
import { scanMemoryKey } from '../../../../functions/shared/upload-record.ts';
import { conditionalBucket, event, stubLogger } from '../fixtures.ts';

const client = { region: 'us-west-2', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const ecr = new ECRClient(client);
const s3 = new S3Client(client);
const ecrMock = mockClient(ecr);
const s3Mock = mockClient(s3);
const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-west-2';
const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
const KEY = scanMemoryKey('contexts/', 'team/web', DIGEST);

const configOf = (env: Record<string, string> = {}) =>
  loadConfig({
    STACK_NAME: 'ecr-pipeline-dev',
    REPOSITORY_PATTERN: '*',
    BUILD_PROJECT_NAME: 'ecr-pipeline-dev',
    AWS_REGION: 'us-west-2',
    ACCOUNT_ID: '123456789012',
    MIN_SCAN_SEVERITY: 'HIGH',
    CONTEXT_BUCKET: BUCKET,
    KEY_PREFIX: 'contexts/',
    ...env,
  });

let logger: ReturnType<typeof stubLogger>;
let bucket: ReturnType<typeof conditionalBucket>;
const depsOf = (env: Record<string, string> = {}): Deps =>
  ({
    config: configOf(env),
    ecr,
    uploadRecords: async () => ({ s3, commands: { GetObjectCommand, PutObjectCommand } }),
    logger,
    now: () => new Date('2026-11-20T06:03:00Z'),
  }) as unknown as Deps;

const routed = (path: string): Route =>
  route(event(path), {
    projectName: 'ecr-pipeline-dev',
    account: '123456789012',
    region: 'us-west-2',
    now: () => new Date(),
  });
const notificationOf = (r: Route): Notification => {
  if (r.action !== 'notify') throw new Error(`expected a notification, got ${r.action}`);
  return r.notification;
};
const summary = (findingSeverityCounts: Record<string, number> | undefined) => ({
  imageDetails: [{ imageDigest: DIGEST, imageScanFindingsSummary: { findingSeverityCounts } }],
});
const awsError = (name: string, status: number) =>
  Object.assign(new Error(`${name} (test)`), { name, $metadata: { httpStatusCode: status } });

beforeEach(() => {
  ecrMock.reset();
  s3Mock.reset();
  logger = stubLogger();
  bucket = conditionalBucket();
  s3Mock.on(GetObjectCommand).callsFake(bucket.get);
  s3Mock.on(PutObjectCommand).callsFake(bucket.put);
});

describe("a finding's notification with its image's counts", () => {
  it("replaces the finding's own severity by the image's counts and names the finding", async () => {
    ecrMock.on(DescribeImagesCommand).resolves(summary({ HIGH: 2, MEDIUM: 4 }));
    const out = await withImageFindings(depsOf(), routed('inspector/finding-ecr-image.json'));
    expect(ecrMock).toHaveReceivedCommandExactlyOnceWith(DescribeImagesCommand, {
      repositoryName: 'team/web',
      imageIds: [{ imageDigest: DIGEST }],
    });
    expect(notificationOf(out)).toMatchObject({
      kind: 'scan',
      scanner: 'enhanced',
      repository: 'team/web',
      digest: DIGEST,
      counts: { HIGH: 2, MEDIUM: 4 },
      severity: 'HIGH',
      outcome: 'warning',
      title: 'Vulnerabilities found (worst: HIGH)',
      detail: 'New or changed finding: CVE-2019-17498 - libssh2 (HIGH).',
    });
  });

  it('leaves other notifications and ignored events as they are, without reading the image', async () => {
    const push = routed('ecr/image-action-push.json');
    expect(await withImageFindings(depsOf(), push)).toBe(push);
    const ignored: Route = { action: 'ignore', reason: 'test', malformed: false };
    expect(await withImageFindings(depsOf(), ignored)).toBe(ignored);
    expect(ecrMock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  it('leaves a finding without a repository or a digest as it is, without reading the image', async () => {
    const finding = notificationOf(routed('inspector/finding-ecr-image.json'));
    for (const notification of [
      { ...finding, repository: undefined },
      { ...finding, digest: undefined },
    ]) {
      const r: Route = { action: 'notify', notification };
      expect(await withImageFindings(depsOf(), r)).toBe(r);
    }
    expect(ecrMock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  it('ignores a finding whose image has no findings summary yet', async () => {
    ecrMock.on(DescribeImagesCommand).resolves(summary(undefined));
    expect(await withImageFindings(depsOf(), routed('inspector/finding-ecr-image.json'))).toEqual({
      action: 'ignore',
      reason: 'no findings summary for the image yet',
      malformed: false,
      repository: 'team/web',
    });
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    expect(await withImageFindings(depsOf(), routed('inspector/finding-ecr-image.json'))).toMatchObject({
      action: 'ignore',
      reason: 'no findings summary for the image yet',
    });
    ecrMock.on(DescribeImagesCommand).resolves({});
    expect(await withImageFindings(depsOf(), routed('inspector/finding-ecr-image.json'))).toMatchObject({
      action: 'ignore',
      reason: 'no findings summary for the image yet',
    });
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    expect(await withImageFindings(depsOf(), routed('inspector/finding-ecr-image.json'))).toMatchObject({
      action: 'ignore',
      reason: 'no findings summary for the image yet',
    });
  });

  it('ignores, with a warning, a finding whose image cannot be described (deleted since)', async () => {
    ecrMock.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
    expect(await withImageFindings(depsOf(), routed('inspector/finding-ecr-image.json'))).toEqual({
      action: 'ignore',
      reason: 'the image could not be described',
      malformed: false,
      repository: 'team/web',
    });
    expect(logger.warn).toHaveBeenCalledWith('could not read the findings of the image', {
      repository: 'team/web',
      digest: DIGEST,
      error: 'ImageNotFoundException: ImageNotFoundException (test)',
    });
  });

  it('throws a transient error, so that Lambda retries the event', async () => {
    ecrMock.on(DescribeImagesCommand).rejects(awsError('ThrottlingException', 400));
    await expect(withImageFindings(depsOf(), routed('inspector/finding-ecr-image.json'))).rejects.toThrow(
      'ThrottlingException (test)',
    );
    expect(logger.warn).not.toHaveBeenCalled();
  });
});

describe("an enhanced scan result against the image's scan memory", () => {
  const enhanced = async (counts: Record<string, number>, time = '2026-11-20T06:02:30Z') => {
    ecrMock.on(DescribeImagesCommand).resolves(summary(counts));
    const n = notificationOf(await withImageFindings(depsOf(), routed('inspector/finding-ecr-image.json')));
    return { ...n, time };
  };

  it("remembers the result under the stack's prefix and tells the first one", async () => {
    const remembered = await rememberResult(depsOf(), await enhanced({ HIGH: 2 }));
    expect(remembered?.notify).toBe(true);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: BUCKET, Key: KEY });
    expect(JSON.parse(String(bucket.objects.get(KEY)?.body))).toEqual({
      repository: 'team/web',
      digest: DIGEST,
      counts: { HIGH: 2 },
      at: '2026-11-20T06:02:30Z',
    });
  });

  it('judges a later result with the configured minimum severity', async () => {
    await rememberResult(depsOf(), await enhanced({ HIGH: 2 }));
    const more = await enhanced({ HIGH: 2, LOW: 1 }, '2026-11-21T06:02:30Z');
    expect((await rememberResult(depsOf(), more))?.notify).toBe(false);
    const evenMore = await enhanced({ HIGH: 2, LOW: 2 }, '2026-11-22T06:02:30Z');
    expect((await rememberResult(depsOf({ MIN_SCAN_SEVERITY: 'ALL' }), evenMore))?.notify).toBe(true);
  });

  it('does not apply to basic scans, failed scans, results without counts or other kinds', async () => {
    const n = await enhanced({ HIGH: 2 });
    for (const other of [
      { ...n, scanner: 'basic' as const },
      { ...n, outcome: 'failure' as const },
      { ...n, counts: undefined },
      { ...n, kind: 'image-push' as const },
      { ...n, repository: undefined },
      { ...n, digest: undefined },
    ]) {
      expect(await rememberResult(depsOf(), other)).toBeUndefined();
    }
    expect(s3Mock).not.toHaveReceivedAnyCommand();
  });

  it('does not apply without a bucket', async () => {
    const n = await enhanced({ HIGH: 2 });
    expect(await rememberResult(depsOf({ CONTEXT_BUCKET: '' }), n)).toBeUndefined();
    expect(s3Mock).not.toHaveReceivedAnyCommand();
  });

  it('lets the result through as news, logged, when the memory cannot be read', async () => {
    s3Mock.on(GetObjectCommand).rejects(awsError('AccessDenied', 403));
    expect(await rememberResult(depsOf(), await enhanced({ HIGH: 2 }))).toBeUndefined();
    expect(logger.error).toHaveBeenCalledWith(
      'could not use the scan memory: the result is notified as news',
      {
        repository: 'team/web',
        digest: DIGEST,
        error: 'AccessDenied: AccessDenied (test)',
      },
    );
  });
});
