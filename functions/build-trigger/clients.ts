/** Container-wide defaults: clients and caches created once per container, at module load. */
import { Logger } from '@aws-lambda-powertools/logger';
import { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { endpointConfigured, lazy } from '../shared/lazy.ts';
import { loadConfig } from './config.ts';
import type { Deps } from './deps.ts';
import { RepositoryCache } from './ensure-repository.ts';
import { RecentSet } from './recent.ts';

/** How long a container trusts a repository description (the sweeper may delete repositories). */
const REPOSITORY_TTL_MS = 5 * 60 * 1000;

const config = loadConfig(process.env);

/**
 * Every call gets a connection and a request timeout: with the SDK's 3 attempts one call gives up
 * within about 22 s, inside the function's 30 s, and a stalled connection cannot eat the invocation.
 */
const requestHandler = { connectionTimeout: 2000, requestTimeout: 5000 };

export const deps: Deps = {
  config,
  s3: new S3Client({
    requestHandler,
    // Emulators (the local cloud's moto) serve buckets by path, not by host name.
    forcePathStyle: endpointConfigured('S3', process.env),
  }),
  ecr: new ECRClient({ requestHandler }),
  codebuild: new CodeBuildClient({ requestHandler }),
  // Only a rejected upload publishes an event: the client is loaded then, not at every cold start.
  events: lazy(async () => {
    const { EventBridgeClient } = await import('./sdk/eventbridge.ts');
    return new EventBridgeClient({ requestHandler });
  }),
  logger: new Logger({ serviceName: 'build-trigger' }),
  now: () => new Date(),
  seen: new RecentSet(1000),
  repositories: new RepositoryCache(REPOSITORY_TTL_MS),
};
