/**
 * The build-trigger function's settings, read from the environment once, at module load.
 * A missing or invalid variable fails the cold start with a message that names it.
 */
import {
  boolean,
  ConfigError,
  type Env,
  integer,
  oneOf,
  repositoryWildcard,
  text,
} from '../shared/env-config.ts';

import type { NativeEnvironments } from './platforms.ts';

export { ConfigError };

/** Tag mutability a created repository gets; the `*_WITH_EXCLUSION` kinds need filters, so are not offered. */
export type TagMutabilitySetting = 'IMMUTABLE' | 'MUTABLE';
export type EncryptionType = 'AES256' | 'KMS';

export interface Config {
  /** Set by Lambda. */
  region: string;
  /** The contexts bucket; events from other buckets are ignored. */
  bucket: string;
  /** Key prefix of build contexts (may be empty); events outside it are ignored. */
  keyPrefix: string;
  /** CodeBuild project that builds and pushes. */
  projectName: string;
  /** Largest context accepted, in bytes. */
  maxContextBytes: number;
  /** IAM-style wildcard (`*`, `?`) repository names must match; the IAM policies use the same pattern. */
  repositoryPattern: string;
  /** Written to the `managed-by` tag of the repositories this stack creates. */
  stackName: string;
  /**
   * IAM-style wildcard of existing repositories, not created by this stack, that uploads may push to
   * (never modified); empty: none, only this stack's repositories are built into.
   */
  adoptRepositoryPattern: string;
  tagMutability: TagMutabilitySetting;
  scanOnPush: boolean;
  encryptionType: EncryptionType;
  /** KMS key (ARN or alias) when encryptionType is KMS; empty means the AWS managed key. */
  kmsKey: string;
  /** Lifecycle policy of created repositories. */
  untaggedExpiryDays: number;
  keepTaggedImages: number;
  /** EventBridge bus of `Build Rejected` events. */
  eventBusName: string;
  /** How long a claim holds before another invocation may take it over: longer than the function runs. */
  claimTtlMs: number;
  /** Lambda-safe images only: an upload asking for several platforms (an image index) is refused. */
  lambdaSafe: boolean;
  /** The CodeBuild environment of each architecture that builds natively; the others build emulated. */
  nativeEnvironments: NativeEnvironments;
}

/** Added to the function's timeout for a claim's expiry: Lambda's clock skew and the last write's latency. */
export const CLAIM_MARGIN_SECONDS = 60;

/** Reads and validates the configuration from `env`. */
export function loadConfig(env: Env): Config {
  const keyPrefix = text(env, 'KEY_PREFIX', '');
  if (keyPrefix !== '' && !keyPrefix.endsWith('/')) {
    throw new ConfigError(`environment variable KEY_PREFIX must end with "/", got "${keyPrefix}"`);
  }
  return {
    region: text(env, 'AWS_REGION'),
    bucket: text(env, 'CONTEXT_BUCKET'),
    keyPrefix,
    projectName: text(env, 'BUILD_PROJECT'),
    maxContextBytes: integer(env, 'MAX_CONTEXT_BYTES', 512 * 1024 * 1024, 1, 5 * 1024 ** 4),
    repositoryPattern: repositoryWildcard(env, 'REPOSITORY_PATTERN'),
    stackName: text(env, 'STACK_NAME'),
    adoptRepositoryPattern: repositoryWildcard(env, 'ADOPT_REPOSITORY_PATTERN', ''),
    tagMutability: oneOf(env, 'TAG_MUTABILITY', ['IMMUTABLE', 'MUTABLE'], 'IMMUTABLE'),
    scanOnPush: boolean(env, 'SCAN_ON_PUSH', true),
    encryptionType: oneOf(env, 'ENCRYPTION_TYPE', ['AES256', 'KMS'], 'AES256'),
    kmsKey: text(env, 'KMS_KEY', ''),
    untaggedExpiryDays: integer(env, 'UNTAGGED_EXPIRY_DAYS', 14, 1, 3650),
    keepTaggedImages: integer(env, 'KEEP_TAGGED_IMAGES', 100, 1, 10000),
    // Required: the rule that notifies people listens on the stack's own bus, none on `default`.
    eventBusName: text(env, 'EVENT_BUS_NAME'),
    claimTtlMs: (integer(env, 'FUNCTION_TIMEOUT_SECONDS', 30, 1, 900) + CLAIM_MARGIN_SECONDS) * 1000,
    lambdaSafe: boolean(env, 'LAMBDA_SAFE', false),
    nativeEnvironments: nativeEnvironments(env),
  };
}

/** CodeBuild's curated images of each architecture, used when the stack names none. */
export const DEFAULT_BUILD_IMAGES = {
  amd64: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
  arm64: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
} as const;

/**
 * `AMD64_BUILD_IMAGE` / `AMD64_BUILD_COMPUTE_TYPE` and `ARM64_BUILD_IMAGE` / `ARM64_BUILD_COMPUTE_TYPE`:
 * the image `none` means no native environment for that architecture (its platforms build emulated).
 */
function nativeEnvironments(env: Env): NativeEnvironments {
  const native: NativeEnvironments = {};
  const kinds = [
    ['amd64', 'AMD64', 'LINUX_CONTAINER'],
    ['arm64', 'ARM64', 'ARM_CONTAINER'],
  ] as const;
  for (const [arch, prefix, type] of kinds) {
    const image = text(env, `${prefix}_BUILD_IMAGE`, DEFAULT_BUILD_IMAGES[arch]);
    if (image === 'none') continue;
    const computeType = text(env, `${prefix}_BUILD_COMPUTE_TYPE`, 'BUILD_GENERAL1_SMALL');
    if (!/^[A-Z0-9_]+$/.test(computeType)) {
      throw new ConfigError(
        `environment variable ${prefix}_BUILD_COMPUTE_TYPE must be a CodeBuild compute type like BUILD_GENERAL1_SMALL, got "${computeType}"`,
      );
    }
    native[arch] = { type, image, computeType };
  }
  return native;
}
