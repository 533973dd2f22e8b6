import type { Logger } from '@aws-lambda-powertools/logger';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';

/** What the domain code needs; clients.ts builds the container-wide defaults, tests pass their own. */
export interface Deps {
  config: Config;
  /** Upload records, the image index, pending markers; HeadObject of the uploads. */
  s3: S3Client;
  ecr: ECRClient;
  /** Loaded on first use: only a verdict needs it. */
  events: () => Promise<EventBridgeClient>;
  /** Loaded on first use: only the check of a leg whose success event was lost needs it. */
  codebuild: () => Promise<CodeBuildClient>;
  logger: Logger;
  now: () => Date;
}
