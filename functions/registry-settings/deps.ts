import type { Logger } from '@aws-lambda-powertools/logger';
import type { ECRClient } from '@aws-sdk/client-ecr';

/** What the domain code needs; clients.ts builds the container-wide defaults, tests pass their own. */
export interface Deps {
  ecr: ECRClient;
  logger: Logger;
  /** Sends the custom resource's response to CloudFormation's pre-signed URL. */
  respond: (url: string, body: string) => Promise<void>;
}
