/**
 * AWS clients, created once per container (module scope) and shared by every invocation.
 * Each call has a connection and a request timeout. ECR and the Tagging API get one attempt
 * because the sweeper retries them itself (one adaptive rate per operation, backoff with jitter);
 * SNS, SSM, Secrets Manager, Lambda and ECS use the SDK's retries.
 *
 * Clients that only some invocations need are loaded on first use (dynamic `import()`, a chunk of
 * their own in the bundle): the webhook secret's store, the Tagging API (sweeps that discover by
 * tag), Lambda and ECS (the sweeper's in-use check), CloudWatch Logs (failed builds' log excerpt).
 */

import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { lazy } from '../shared/lazy.ts';

const requestHandler = { connectionTimeout: 2000, requestTimeout: 5000 };

export const ecr = new ECRClient({ requestHandler, maxAttempts: 1 });
export const sns = new SNSClient({ requestHandler, maxAttempts: 3 });

export const tagging = lazy(async (): Promise<ResourceGroupsTaggingAPIClient> => {
  const { ResourceGroupsTaggingAPIClient } = await import('./sdk/tagging.ts');
  return new ResourceGroupsTaggingAPIClient({ requestHandler, maxAttempts: 1 });
});

export const ssm = lazy(async (): Promise<SSMClient> => {
  const { SSMClient } = await import('./sdk/ssm.ts');
  return new SSMClient({ requestHandler, maxAttempts: 3 });
});

export const secretsManager = lazy(async (): Promise<SecretsManagerClient> => {
  const { SecretsManagerClient } = await import('./sdk/secrets-manager.ts');
  return new SecretsManagerClient({ requestHandler, maxAttempts: 3 });
});

export const logs = lazy(async (): Promise<CloudWatchLogsClient> => {
  const { CloudWatchLogsClient } = await import('./sdk/logs.ts');
  return new CloudWatchLogsClient({ requestHandler, maxAttempts: 2 });
});

// The in-use check lists every image function and active task definition once per sweep: the SDK's
// adaptive retry mode slows the client down when the service throttles, then retries.
const listing = { requestHandler, retryMode: 'adaptive', maxAttempts: 8 } as const;

export const lambda = lazy(async (): Promise<LambdaClient> => {
  const { LambdaClient } = await import('./sdk/lambda.ts');
  return new LambdaClient(listing);
});

export const ecs = lazy(async (): Promise<ECSClient> => {
  const { ECSClient } = await import('./sdk/ecs.ts');
  return new ECSClient(listing);
});
