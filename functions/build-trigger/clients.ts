/** Container-wide defaults: clients and caches created once per container, at module load. */
import { Logger } from '@aws-lambda-powertools/logger';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { s3Objects } from '../shared/s3-objects.ts';
import { loadConfig } from './config.ts';
import type { Deps } from './deps.ts';
import { RepositoryCache } from './ensure-repository.ts';
import { RecentSet } from './recent.ts';

/** How long a container trusts a repository description (the sweeper may delete repositories). */
const REPOSITORY_TTL_MS = 5 * 60 * 1000;

const config = loadConfig(process.env);
const ecr = new ECRClient({});

export const deps: Deps = {
  config,
  // Two small signed requests instead of the S3 client (~130 KB of bundle), with the same credentials.
  s3: s3Objects({ credentials: () => ecr.config.credentials(), region: config.region, timeoutMs: 5000 }),
  ecr,
  codebuild: new CodeBuildClient({}),
  events: new EventBridgeClient({}),
  logger: new Logger({ serviceName: 'build-trigger' }),
  now: () => new Date(),
  seen: new RecentSet(1000),
  repositories: new RepositoryCache(REPOSITORY_TTL_MS),
};
