import type { Logger } from '@aws-lambda-powertools/logger';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Objects } from '../shared/s3-objects.ts';
import type { Config } from './config.ts';
import type { RepositoryCache } from './ensure-repository.ts';
import type { RecentSet } from './recent.ts';

/** What the domain code needs; clients.ts builds the container-wide defaults, tests pass their own. */
export interface Deps {
  config: Config;
  /** Upload records only (PutObject, DeleteObject). */
  s3: S3Objects;
  ecr: ECRClient;
  codebuild: CodeBuildClient;
  events: EventBridgeClient;
  logger: Logger;
  now: () => Date;
  /** Identities of uploads this container has finished with: a warm duplicate costs no call. */
  seen: RecentSet;
  /** Repository descriptions this container has fetched or created. */
  repositories: RepositoryCache;
}
