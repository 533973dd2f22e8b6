import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { loadConfig } from '../../../functions/build-trigger/config.ts';
import type { Deps } from '../../../functions/build-trigger/deps.ts';
import { RepositoryCache } from '../../../functions/build-trigger/ensure-repository.ts';
import { RecentSet } from '../../../functions/build-trigger/recent.ts';

export const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-east-1';
export const PROJECT = 'ecr-pipeline-dev';
export const NOW = new Date('2026-11-27T04:10:12.000Z');
/** The invocation's request id (Lambda keeps it across its retries of one event). */
export const REQUEST_ID = '5e7b9c1a-0f3d-4b8e-9a21-6c4d2e8f1b07';

/** A fresh copy of a fixture under test/events/s3/. */
export function s3Event(name: string): S3Event {
  return JSON.parse(readFileSync(new URL(`../../events/s3/${name}`, import.meta.url), 'utf8')) as S3Event;
}

export const clients = {
  ecr: new ECRClient({ region: 'us-east-1' }),
  codebuild: new CodeBuildClient({ region: 'us-east-1' }),
  events: new EventBridgeClient({ region: 'us-east-1' }),
  s3: new S3Client({ region: 'us-east-1' }),
};

/** Deps of one fresh container: empty caches, silent logger, fixed clock. */
export function containerDeps(env: Record<string, string> = {}): Deps {
  return {
    config: loadConfig({
      AWS_REGION: 'us-east-1',
      CONTEXT_BUCKET: BUCKET,
      BUILD_PROJECT: PROJECT,
      EVENT_BUS_NAME: 'ecr-pipeline-dev-build-rejected',
      STACK_NAME: 'ecr-pipeline-dev',
      ...env,
    }),
    ecr: clients.ecr,
    codebuild: clients.codebuild,
    events: async () => clients.events,
    s3: clients.s3,
    logger: new Logger({ serviceName: 'build-trigger', logLevel: 'SILENT' }),
    now: () => NOW,
    seen: new RecentSet(100),
    repositories: new RepositoryCache(60_000),
  };
}

export const repositoryArn = (name: string) => `arn:aws:ecr:us-east-1:123456789012:repository/${name}`;

/** Tags of a repository this stack created (its managed-by tag names the stack of containerDeps). */
export const MANAGED_TAGS = [{ Key: 'ecr-pipeline:managed-by', Value: 'ecr-pipeline-dev' }];

export function repository(name: string, mutability = 'IMMUTABLE') {
  return {
    repositoryName: name,
    repositoryArn: repositoryArn(name),
    repositoryUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${name}`,
    imageTagMutability: mutability as 'IMMUTABLE',
  };
}

/** An SDK-like service error. */
export function awsError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} (test)`), { name, $metadata: { httpStatusCode: status } });
}
