/**
 * Uploads that name platforms: one build per platform (leg), each on its architecture's native
 * CodeBuild environment where the stack has one, each with its own idempotency token; Lambda-safe
 * uploads and stacks refuse several platforms before any build.
 */
import {
  BatchGetBuildsCommand,
  ListBuildsForProjectCommand,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  legCacheTag,
  nativeArchitecture,
  parseLambdaSafe,
  parsePlatforms,
  planLegs,
} from '../../../functions/build-trigger/platforms.ts';
import { handleS3Event, legToken } from '../../../functions/build-trigger/trigger.ts';
import { BUILD_ENV, UPLOAD_METADATA } from '../../../functions/shared/contract.ts';
import { identityHash, type UploadRecord } from '../../../functions/shared/upload-record.ts';
import {
  awsError,
  BUCKET,
  clients,
  containerDeps,
  MANAGED_TAGS,
  PROJECT,
  REQUEST_ID,
  repository,
  s3Event,
} from './helpers.ts';

const ecr = mockClient(clients.ecr);
const codebuild = mockClient(clients.codebuild);
const events = mockClient(clients.events);
const s3 = mockClient(S3Client);

const VERSIONED = {
  bucket: BUCKET,
  key: 'team-a/api/v1.2.3.tar.gz',
  versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
  eTag: 'd41d8cd98f00b204e9800998ecf8427e',
};
const AMD64 = {
  type: 'LINUX_CONTAINER',
  image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
  computeType: 'BUILD_GENERAL1_SMALL',
} as const;
const ARM64 = {
  type: 'ARM_CONTAINER',
  image: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
  computeType: 'BUILD_GENERAL1_SMALL',
} as const;

function withMetadata(metadata: Record<string, string>) {
  s3.on(HeadObjectCommand).resolves({ Metadata: metadata, VersionId: VERSIONED.versionId });
}

function claimRecord(): UploadRecord {
  return JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Body)) as UploadRecord;
}

function startInputs() {
  return codebuild.commandCalls(StartBuildCommand).map((call) => call.args[0].input);
}

function variable(input: ReturnType<typeof startInputs>[number] | undefined, name: string) {
  return input?.environmentVariablesOverride?.find((v) => v.name === name)?.value;
}

function rejection(): Record<string, unknown> {
  const entry = events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
  return JSON.parse(entry?.Detail ?? '{}') as Record<string, unknown>;
}

beforeEach(() => {
  for (const mock of [ecr, codebuild, events, s3]) mock.reset();
  s3.on(PutObjectCommand).resolves({ ETag: '"e-1"' });
  s3.on(DeleteObjectCommand).resolves({});
  ecr.on(DescribeRepositoriesCommand).resolves({
    repositories: [
      {
        ...repository('team-a/api', 'IMMUTABLE_WITH_EXCLUSION'),
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'ecr-pipeline-cache*' }],
      },
    ],
  });
  ecr.on(ListTagsForResourceCommand).resolves({ tags: MANAGED_TAGS });
  ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
  let n = 0;
  codebuild.on(StartBuildCommand).callsFake(async () => ({ build: { id: `${PROJECT}:b-${++n}` } }));
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

describe('an upload asking for two platforms', () => {
  it('starts one build per platform, each on its native environment with its own token', async () => {
    withMetadata({ [UPLOAD_METADATA.platforms]: 'linux/amd64,linux/arm64' });
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes).toEqual([
      { kind: 'started', buildId: `${PROJECT}:b-1`, buildIds: [`${PROJECT}:b-1`, `${PROJECT}:b-2`] },
    ]);
    expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: BUCKET,
      Key: VERSIONED.key,
      VersionId: VERSIONED.versionId,
    });
    const [amd, arm] = startInputs();
    expect(amd).toMatchObject({
      projectName: PROJECT,
      environmentTypeOverride: 'LINUX_CONTAINER',
      imageOverride: AMD64.image,
      computeTypeOverride: 'BUILD_GENERAL1_SMALL',
      idempotencyToken: legToken(identityHash(VERSIONED), 'linux/amd64'),
    });
    expect(arm).toMatchObject({
      environmentTypeOverride: 'ARM_CONTAINER',
      imageOverride: ARM64.image,
      idempotencyToken: legToken(identityHash(VERSIONED), 'linux/arm64'),
    });
    expect(amd?.idempotencyToken).not.toBe(arm?.idempotencyToken);
    expect(variable(amd, BUILD_ENV.platform)).toBe('linux/amd64');
    expect(variable(arm, BUILD_ENV.platform)).toBe('linux/arm64');
    // Parallel legs never write one cache tag.
    expect(variable(amd, BUILD_ENV.cacheTag)).toBe('ecr-pipeline-cache-amd64');
    expect(variable(arm, BUILD_ENV.cacheTag)).toBe('ecr-pipeline-cache-arm64');
    expect(claimRecord().legs).toEqual([
      { platform: 'linux/amd64', emulated: false, environmentType: 'LINUX_CONTAINER' },
      { platform: 'linux/arm64', emulated: false, environmentType: 'ARM_CONTAINER' },
    ]);
  });

  it('gives each leg the same token however often S3 delivers the version', async () => {
    withMetadata({ [UPLOAD_METADATA.platforms]: 'linux/amd64,linux/arm64' });
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), 'another-request');
    const tokens = startInputs().map((input) => input.idempotencyToken);
    // The second delivery finds the claim written (mocked PutObject succeeds): same tokens again.
    expect(tokens).toEqual([tokens[0], tokens[1], tokens[0], tokens[1]]);
    expect(new Set(tokens).size).toBe(2);
  });

  it('keeps the claim when a later leg cannot start, so that the retry resumes and finds the first', async () => {
    withMetadata({ [UPLOAD_METADATA.platforms]: 'linux/amd64,linux/arm64' });
    codebuild
      .on(StartBuildCommand)
      .resolvesOnce({ build: { id: `${PROJECT}:b-1` } })
      .rejects(awsError('AccountLimitExceededException', 400));
    await expect(handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
      'records failed transiently',
    );
    expect(s3).not.toHaveReceivedCommand(DeleteObjectCommand);

    // Lambda's retry: its own claim, resumed; the started leg is found, the other one started.
    s3.on(PutObjectCommand).rejects(awsError('PreconditionFailed', 412));
    const body = JSON.stringify({ ...claimRecord() });
    s3.on(GetObjectCommand).resolves({
      ETag: '"e-1"',
      Body: { transformToString: async () => body },
    } as never);
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [`${PROJECT}:b-1`] });
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: `${PROJECT}:b-1`,
          environment: {
            type: 'LINUX_CONTAINER',
            image: AMD64.image,
            computeType: 'BUILD_GENERAL1_SMALL',
            environmentVariables: [
              { name: BUILD_ENV.bucket, value: BUCKET },
              { name: BUILD_ENV.key, value: VERSIONED.key },
              { name: BUILD_ENV.versionId, value: VERSIONED.versionId },
              { name: BUILD_ENV.eTag, value: VERSIONED.eTag },
              { name: BUILD_ENV.platform, value: 'linux/amd64' },
            ],
          },
        },
      ],
    });
    codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:b-2` } });
    codebuild.resetHistory();
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(outcomes).toEqual([
      { kind: 'started', buildId: `${PROJECT}:b-1`, buildIds: [`${PROJECT}:b-1`, `${PROJECT}:b-2`] },
    ]);
    expect(startInputs().map((input) => variable(input, BUILD_ENV.platform))).toEqual(['linux/arm64']);
  });

  it('builds a platform with no native environment emulated on the nearest host, and says so', async () => {
    withMetadata({ [UPLOAD_METADATA.platforms]: 'linux/amd64, linux/arm/v7' });
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    const [, arm32] = startInputs();
    expect(arm32).toMatchObject({ environmentTypeOverride: 'ARM_CONTAINER', imageOverride: ARM64.image });
    expect(variable(arm32, BUILD_ENV.platform)).toBe('linux/arm/v7');
    expect(claimRecord().legs?.map((leg) => [leg.platform, leg.emulated])).toEqual([
      ['linux/amd64', false],
      ['linux/arm/v7', true],
    ]);
  });

  it('builds arm64 emulated on the amd64 host where the stack has no ARM environment', async () => {
    withMetadata({ [UPLOAD_METADATA.platforms]: 'linux/amd64,linux/arm64' });
    await handleS3Event(
      containerDeps({ ARM64_BUILD_IMAGE: 'none' }),
      s3Event('put-versioned.json'),
      REQUEST_ID,
    );
    expect(startInputs().map((input) => input.environmentTypeOverride)).toEqual([
      'LINUX_CONTAINER',
      'LINUX_CONTAINER',
    ]);
    expect(claimRecord().legs?.map((leg) => leg.emulated)).toEqual([false, true]);
  });
});

describe('an upload naming no platform or one', () => {
  it('starts one build on the project environment, with no override and no legs', async () => {
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    const [input] = startInputs();
    expect(startInputs()).toHaveLength(1);
    expect(input?.environmentTypeOverride).toBeUndefined();
    expect(input?.idempotencyToken).toBe(identityHash(VERSIONED));
    expect(variable(input, BUILD_ENV.platform)).toBeUndefined();
    expect(claimRecord().legs).toBeUndefined();
  });

  it('builds one platform natively, with the shared cache tag, even when Lambda-safe', async () => {
    withMetadata({ [UPLOAD_METADATA.platforms]: 'linux/arm64', [UPLOAD_METADATA.lambdaSafe]: 'true' });
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    const [input] = startInputs();
    expect(startInputs()).toHaveLength(1);
    expect(input).toMatchObject({ environmentTypeOverride: 'ARM_CONTAINER', imageOverride: ARM64.image });
    expect(variable(input, BUILD_ENV.cacheTag)).toBe('ecr-pipeline-cache');
    // One build of the whole upload: its own token, no leg platform, the release tags it as any.
    expect(input?.idempotencyToken).toBe(identityHash(VERSIONED));
    expect(variable(input, BUILD_ENV.platform)).toBeUndefined();
  });
});

describe('Lambda-safe output', () => {
  it('refuses an upload that asks for two platforms and for lambda-safe, before any build', async () => {
    withMetadata({
      [UPLOAD_METADATA.platforms]: 'linux/amd64,linux/arm64',
      [UPLOAD_METADATA.lambdaSafe]: 'true',
    });
    const [outcome] = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(outcome).toMatchObject({ kind: 'rejected', rejection: { code: 'NotLambdaSafe' } });
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
    expect(rejection()).toMatchObject({
      code: 'NotLambdaSafe',
      repository: 'team-a/api',
      tag: 'v1.2.3',
      reason: expect.stringContaining(`the upload's metadata "lambda-safe" is true`),
    });
    expect(rejection().reason).toBe(
      `linux/amd64, linux/arm64: 2 platforms make an image index, which Lambda refuses, and the upload's metadata "lambda-safe" is true; upload once per platform, or without lambda-safe`,
    );
    expect(claimRecord()).toMatchObject({ status: 'rejected', code: 'NotLambdaSafe' });
  });

  it('refuses it in a stack that builds Lambda-safe images only', async () => {
    withMetadata({ [UPLOAD_METADATA.platforms]: 'linux/amd64,linux/arm64' });
    const [outcome] = await handleS3Event(
      containerDeps({ LAMBDA_SAFE: 'true' }),
      s3Event('put-versioned.json'),
      REQUEST_ID,
    );
    expect(outcome).toMatchObject({ kind: 'rejected', rejection: { code: 'NotLambdaSafe' } });
    expect(rejection().reason).toContain('lambdaSafe parameter');
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });

  it('refuses metadata it cannot read, naming it', async () => {
    withMetadata({ [UPLOAD_METADATA.platforms]: 'linux/amd64', [UPLOAD_METADATA.lambdaSafe]: 'yes' });
    const [outcome] = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(outcome).toMatchObject({ kind: 'rejected', rejection: { code: 'InvalidMetadata' } });
    expect(rejection().reason).toBe('metadata "lambda-safe" must be true or false, got "yes"');
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });

  it('retries when the metadata cannot be read for now, with no claim written', async () => {
    s3.on(HeadObjectCommand).rejects(awsError('SlowDown', 503));
    await expect(handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow();
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });
});

describe('platforms.ts', () => {
  it('reads platforms in the upload order without repeats, and refuses bad ones', () => {
    expect(parsePlatforms(undefined)).toEqual({ ok: true, value: [] });
    expect(parsePlatforms(' linux/arm64 ,linux/amd64,linux/arm64,')).toEqual({
      ok: true,
      value: ['linux/arm64', 'linux/amd64'],
    });
    expect(parsePlatforms(' , ')).toEqual({
      ok: false,
      rejection: {
        code: 'InvalidMetadata',
        reason: 'metadata "platforms" is empty; give platforms like "linux/amd64,linux/arm64"',
      },
    });
    // A long bad platform is quoted in part: the reason reaches Slack and the record.
    expect(parsePlatforms(`linux/${'x'.repeat(100)};`)).toMatchObject({
      rejection: {
        reason: `platform "linux/${'x'.repeat(54)}" is not of the form os/arch[/variant], like linux/arm64`,
      },
    });
    expect(parsePlatforms('amd64')).toMatchObject({
      ok: false,
      rejection: { reason: 'platform "amd64" is not of the form os/arch[/variant], like linux/arm64' },
    });
    expect(parsePlatforms('linux/amd64;id')).toMatchObject({ ok: false });
    const many = Array.from({ length: 9 }, (_, i) => `linux/arch${i}`).join(',');
    expect(parsePlatforms(many)).toMatchObject({
      ok: false,
      rejection: { reason: 'metadata "platforms" names 9 platforms; at most 8 are built' },
    });
    expect(parsePlatforms(many.split(',').slice(0, 8).join(','))).toMatchObject({ ok: true });
  });

  it('reads lambda-safe as true or false only', () => {
    expect(parseLambdaSafe(undefined)).toEqual({ ok: true, value: false });
    expect(parseLambdaSafe(' TRUE ')).toEqual({ ok: true, value: true });
    expect(parseLambdaSafe('false')).toEqual({ ok: true, value: false });
    expect(parseLambdaSafe('1')).toMatchObject({ ok: false });
    expect(parseLambdaSafe('y'.repeat(50))).toEqual({
      ok: false,
      rejection: {
        code: 'InvalidMetadata',
        reason: `metadata "lambda-safe" must be true or false, got "${'y'.repeat(40)}"`,
      },
    });
  });

  it('knows which platforms run natively on which architecture', () => {
    expect(nativeArchitecture('linux/amd64')).toBe('amd64');
    expect(nativeArchitecture('linux/arm64')).toBe('arm64');
    expect(nativeArchitecture('linux/arm64/v8')).toBe('arm64');
    expect(nativeArchitecture('linux/arm64/v9')).toBeUndefined();
    expect(nativeArchitecture('linux/amd64/v3')).toBeUndefined();
    expect(nativeArchitecture('linux/arm/v7')).toBeUndefined();
    expect(nativeArchitecture('windows/amd64')).toBeUndefined();
    expect(nativeArchitecture('linux/riscv64')).toBeUndefined();
  });

  it('puts an emulated leg on the nearest host: ARM for 32-bit ARM, else amd64', () => {
    const native = { amd64: AMD64, arm64: ARM64 };
    const none = { upload: false, stack: false };
    const plan = (platform: string, envs = native) => {
      const result = planLegs([platform], envs, none);
      return result.ok ? result.value[0] : result.rejection;
    };
    expect(plan('linux/riscv64')).toEqual({ platform: 'linux/riscv64', environment: AMD64, emulated: true });
    expect(plan('linux/arm/v6')).toEqual({ platform: 'linux/arm/v6', environment: ARM64, emulated: true });
    expect(plan('linux/arm/v6', { amd64: AMD64 } as never)).toMatchObject({ environment: AMD64 });
    expect(plan('linux/riscv64', { arm64: ARM64 } as never)).toMatchObject({ environment: ARM64 });
    expect(plan('linux/amd64', {} as never)).toEqual({
      code: 'InvalidMetadata',
      reason: 'no build environment can build linux/amd64: the stack configures none',
    });
    expect(planLegs(['linux/amd64', 'linux/arm64'], native, none)).toMatchObject({ ok: true });
    expect(planLegs(['linux/amd64'], native, { upload: true, stack: true })).toMatchObject({ ok: true });
  });

  it('names each leg its own cache tag, under the cache tag pattern', () => {
    expect(legCacheTag('ecr-pipeline-cache', 'linux/arm/v7')).toBe('ecr-pipeline-cache-arm-v7');
    expect(legCacheTag('', 'linux/arm64')).toBe('');
    expect(legCacheTag('ecr-pipeline-cache', undefined)).toBe('ecr-pipeline-cache');
  });
});
