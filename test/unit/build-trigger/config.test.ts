import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../functions/build-trigger/config.ts';

const required = {
  AWS_REGION: 'eu-west-1',
  CONTEXT_BUCKET: 'b',
  BUILD_PROJECT: 'p',
  STACK_NAME: 's',
  EVENT_BUS_NAME: 'ecr-pipeline-dev-build-rejected',
};

describe('loadConfig', () => {
  it('applies safe defaults: immutable tags, scan on push, AES256, any repository name', () => {
    expect(loadConfig(required)).toEqual({
      region: 'eu-west-1',
      bucket: 'b',
      keyPrefix: '',
      projectName: 'p',
      maxContextBytes: 512 * 1024 * 1024,
      repositoryPattern: '*',
      stackName: 's',
      adoptRepositoryPattern: '',
      tagMutability: 'IMMUTABLE',
      scanOnPush: true,
      encryptionType: 'AES256',
      kmsKey: '',
      untaggedExpiryDays: 14,
      keepTaggedImages: 100,
      eventBusName: 'ecr-pipeline-dev-build-rejected',
      claimTtlMs: 90_000,
      lambdaSafe: false,
      nativeEnvironments: {
        amd64: {
          type: 'LINUX_CONTAINER',
          image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
          computeType: 'BUILD_GENERAL1_SMALL',
        },
        arm64: {
          type: 'ARM_CONTAINER',
          image: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
          computeType: 'BUILD_GENERAL1_SMALL',
        },
      },
    });
  });

  it('reads the native environment of each architecture, and none where the image is "none"', () => {
    const config = loadConfig({
      ...required,
      LAMBDA_SAFE: 'true',
      AMD64_BUILD_IMAGE: 'none',
      ARM64_BUILD_IMAGE: 'aws/codebuild/amazonlinux-aarch64-standard:2.0',
      ARM64_BUILD_COMPUTE_TYPE: 'BUILD_GENERAL1_LARGE',
    });
    expect(config.lambdaSafe).toBe(true);
    expect(config.nativeEnvironments).toEqual({
      arm64: {
        type: 'ARM_CONTAINER',
        image: 'aws/codebuild/amazonlinux-aarch64-standard:2.0',
        computeType: 'BUILD_GENERAL1_LARGE',
      },
    });
  });

  it('names a compute type that is not one', () => {
    expect(() => loadConfig({ ...required, ARM64_BUILD_COMPUTE_TYPE: 'large; rm' })).toThrow(
      'environment variable ARM64_BUILD_COMPUTE_TYPE must be a CodeBuild compute type',
    );
  });

  it('holds a claim for longer than the function runs: its timeout plus a margin', () => {
    expect(loadConfig({ ...required, FUNCTION_TIMEOUT_SECONDS: '120' }).claimTtlMs).toBe(180_000);
  });

  it('reads the repositories it may adopt', () => {
    expect(loadConfig({ ...required, ADOPT_REPOSITORY_PATTERN: 'legacy/*' }).adoptRepositoryPattern).toBe(
      'legacy/*',
    );
  });

  it.each([
    [{ CONTEXT_BUCKET: '' }, 'CONTEXT_BUCKET is required'],
    [{ BUILD_PROJECT: undefined }, 'BUILD_PROJECT is required'],
    [{ EVENT_BUS_NAME: undefined }, 'EVENT_BUS_NAME is required'],
    [{ MAX_CONTEXT_BYTES: '1.5' }, 'MAX_CONTEXT_BYTES must be an integer'],
    [{ KEEP_TAGGED_IMAGES: '0' }, 'KEEP_TAGGED_IMAGES must be an integer from 1'],
    [{ TAG_MUTABILITY: 'immutable' }, 'TAG_MUTABILITY must be one of IMMUTABLE, MUTABLE'],
    [{ SCAN_ON_PUSH: 'yes' }, 'SCAN_ON_PUSH must be one of true, false'],
    [{ ENCRYPTION_TYPE: 'SSE' }, 'ENCRYPTION_TYPE must be one of AES256, KMS'],
    [{ KEY_PREFIX: 'contexts' }, 'KEY_PREFIX must end with "/"'],
    [{ REPOSITORY_PATTERN: 'Team/*' }, 'REPOSITORY_PATTERN may hold only'],
    [{ ADOPT_REPOSITORY_PATTERN: 'legacy/*,x' }, 'ADOPT_REPOSITORY_PATTERN may hold only'],
  ])('fails at cold start naming the variable: %o', (override, message) => {
    expect(() => loadConfig({ ...required, ...override })).toThrow(ConfigError);
    expect(() => loadConfig({ ...required, ...override })).toThrow(message);
  });

  it('reads a key prefix that ends in "/", the KMS key and the lifecycle counts', () => {
    expect(
      loadConfig({
        ...required,
        KEY_PREFIX: 'contexts/',
        KMS_KEY: 'alias/ecr',
        UNTAGGED_EXPIRY_DAYS: '3',
        KEEP_TAGGED_IMAGES: '20',
      }),
    ).toMatchObject({
      keyPrefix: 'contexts/',
      kmsKey: 'alias/ecr',
      untaggedExpiryDays: 3,
      keepTaggedImages: 20,
    });
  });

  it("accepts a size limit up to S3's largest object (5 TiB), not a byte more", () => {
    const tib5 = 5 * 1024 ** 4;
    expect(loadConfig({ ...required, MAX_CONTEXT_BYTES: String(tib5) }).maxContextBytes).toBe(tib5);
    expect(() => loadConfig({ ...required, MAX_CONTEXT_BYTES: String(tib5 + 1) })).toThrow(
      'MAX_CONTEXT_BYTES must be an integer from 1 to 5497558138880',
    );
  });
});
