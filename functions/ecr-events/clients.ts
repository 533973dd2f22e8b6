/**
 * AWS clients, created once per container (module scope) and shared by every invocation.
 * Each call has a connection and a request timeout. ECR, the Tagging API, Lambda and ECS get one attempt
 * because the sweeper retries them itself (backoff with jitter); SNS uses the SDK's retries.
 * SSM, Secrets Manager, Lambda and ECS are read through the small signed caller of
 * shared/aws-json.ts: their generated clients would add ~180 KB to the bundle for four reads.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { SNSClient } from '@aws-sdk/client-sns';
import { awsCaller, SERVICES } from '../shared/aws-json.ts';

const requestHandler = { connectionTimeout: 2000, requestTimeout: 5000 };

export const ecr = new ECRClient({ requestHandler, maxAttempts: 1 });
export const tagging = new ResourceGroupsTaggingAPIClient({ requestHandler, maxAttempts: 1 });
export const sns = new SNSClient({ requestHandler, maxAttempts: 3 });

const callerOptions = {
  credentials: () => ecr.config.credentials(),
  region: process.env.AWS_REGION ?? 'us-east-1',
  timeoutMs: 5000,
};
export const ssm = awsCaller(SERVICES.ssm, callerOptions);
export const secretsManager = awsCaller(SERVICES.secretsManager, callerOptions);
// The sweeper retries these itself, with a shared adaptive rate.
export const lambda = awsCaller(SERVICES.lambda, { ...callerOptions, attempts: 1 });
export const ecs = awsCaller(SERVICES.ecs, { ...callerOptions, attempts: 1 });
