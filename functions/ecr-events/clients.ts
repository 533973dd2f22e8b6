/**
 * AWS clients, created once per container (module scope) and shared by every invocation.
 * Each call has a connection and a request timeout; ECR and the Tagging API get one attempt here
 * because the sweeper retries them itself (backoff with jitter), the others use the SDK's retries.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';

const requestHandler = { connectionTimeout: 2000, requestTimeout: 5000 };

export const ecr = new ECRClient({ requestHandler, maxAttempts: 1 });
export const tagging = new ResourceGroupsTaggingAPIClient({ requestHandler, maxAttempts: 1 });
export const lambda = new LambdaClient({ requestHandler, maxAttempts: 1 });
export const ecs = new ECSClient({ requestHandler, maxAttempts: 1 });
export const sns = new SNSClient({ requestHandler, maxAttempts: 3 });
export const ssm = new SSMClient({ requestHandler, maxAttempts: 3 });
export const secretsManager = new SecretsManagerClient({ requestHandler, maxAttempts: 3 });
