import type { Logger } from '@aws-lambda-powertools/logger';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import type { RepositoryCache } from './ensure-repository.ts';
import type { RecentSet } from './recent.ts';

/** What the domain code needs; clients.ts builds the container-wide defaults, tests pass their own. */
export interface Deps {
  config: Config;
  /** Upload records only (PutObject, DeleteObject). */
  s3: S3Client;
  ecr: ECRClient;
  codebuild: CodeBuildClient;
  /** Loaded on first use: only rejections need it. */
  events: () => Promise<EventBridgeClient>;
  logger: Logger;
  now: () => Date;
  /** Identities of uploads this container has finished with: a warm duplicate costs no call. */
  seen: RecentSet;
  /** Repository descriptions this container has fetched or created. */
  repositories: RepositoryCache;
}
