/** Container-wide defaults: clients and caches created once per container, at module load. */
import { Logger } from '@aws-lambda-powertools/logger';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from './config.ts';
import type { Deps } from './deps.ts';
import { RepositoryCache } from './ensure-repository.ts';
import { RecentSet } from './recent.ts';

/** How long a container trusts a repository description (the sweeper may delete repositories). */
const REPOSITORY_TTL_MS = 5 * 60 * 1000;

export const deps: Deps = {
  config: loadConfig(process.env),
  s3: new S3Client({}),
  ecr: new ECRClient({}),
  codebuild: new CodeBuildClient({}),
  events: new EventBridgeClient({}),
  logger: new Logger({ serviceName: 'build-trigger' }),
  now: () => new Date(),
  seen: new RecentSet(1000),
  repositories: new RepositoryCache(REPOSITORY_TTL_MS),
};
