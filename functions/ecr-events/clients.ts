/**
 * Container-wide defaults: config, logger, clock, channels and AWS clients, created once per
 * container (module scope) and shared by every invocation as `deps`.
 * Each call has a connection and a request timeout. The clients the sweeper calls in volume (ECR,
 * the Tagging API, Lambda, ECS, CodeBuild) use the SDK's adaptive retry mode: a client-side rate
 * that drops when the service throttles and climbs back, and up to 10 attempts with backoff.
 * SNS, SSM and Secrets Manager use the SDK's standard retries.
 *
 * Clients that only some invocations need are loaded on first use (dynamic `import()`, a chunk of
 * their own in the bundle): the webhook secret's store, the Tagging API (sweeps that discover by
 * tag), Lambda and ECS (the sweeper's in-use check), CodeBuild (the sweeper's check for builds in
 * progress, before it deletes; a succeeded build's exported digest), S3 (upload records and the
 * image index), CloudWatch Logs (failed builds' log excerpt).
 */

import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { lazy } from '../shared/lazy.ts';
import { loadConfig } from './config.ts';
import type { Deps } from './deps.ts';
import { slackChannel, snsChannel } from './notify/deliver.ts';
import { webhookSecret } from './notify/webhook-secret.ts';

const requestHandler = { connectionTimeout: 2000, requestTimeout: 5000 };

/** Retries of the sweeper's clients: a sweep of 1,000 repositories runs into throttling by design. */
export const SWEEP_RETRY = { retryMode: 'adaptive', maxAttempts: 10 } as const;
const sweeping = { requestHandler, ...SWEEP_RETRY };

const ecr = new ECRClient(sweeping);
const sns = new SNSClient({ requestHandler, maxAttempts: 3 });

const tagging = lazy(async (): Promise<ResourceGroupsTaggingAPIClient> => {
  const { ResourceGroupsTaggingAPIClient } = await import('./sdk/tagging.ts');
  return new ResourceGroupsTaggingAPIClient(sweeping);
});

const ssm = lazy(async (): Promise<SSMClient> => {
  const { SSMClient } = await import('./sdk/ssm.ts');
  return new SSMClient({ requestHandler, maxAttempts: 3 });
});

const secretsManager = lazy(async (): Promise<SecretsManagerClient> => {
  const { SecretsManagerClient } = await import('./sdk/secrets-manager.ts');
  return new SecretsManagerClient({ requestHandler, maxAttempts: 3 });
});

const logs = lazy(async (): Promise<CloudWatchLogsClient> => {
  const { CloudWatchLogsClient } = await import('./sdk/logs.ts');
  return new CloudWatchLogsClient({ requestHandler, maxAttempts: 2 });
});

const lambda = lazy(async (): Promise<LambdaClient> => {
  const { LambdaClient } = await import('./sdk/lambda.ts');
  return new LambdaClient(sweeping);
});

const ecs = lazy(async (): Promise<ECSClient> => {
  const { ECSClient } = await import('./sdk/ecs.ts');
  return new ECSClient(sweeping);
});

/** S3 with the two commands the upload records need, for build state-change and scan events only. */
const uploadRecords = lazy(async () => {
  const { S3Client, GetObjectCommand, PutObjectCommand } = await import('./sdk/s3.ts');
  return {
    s3: new S3Client({ requestHandler, maxAttempts: 3 }),
    commands: { GetObjectCommand, PutObjectCommand },
  };
});

/** The same S3 client with what the scheduled replication check needs besides. */
const replicationWatches = lazy(async () => {
  const [{ s3 }, { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, paginateListObjectsV2 }] =
    await Promise.all([uploadRecords(), import('./sdk/s3.ts')]);
  return {
    s3,
    paginate: paginateListObjectsV2,
    commands: { GetObjectCommand, PutObjectCommand, DeleteObjectCommand },
  };
});

const codebuild = lazy(async (): Promise<CodeBuildClient> => {
  const { CodeBuildClient } = await import('./sdk/codebuild.ts');
  return new CodeBuildClient(sweeping);
});

const config = loadConfig(process.env);
const logger = new Logger({ serviceName: 'ecr-events' });

export const deps: Deps = {
  config,
  ecr,
  tagging,
  lambda,
  ecs,
  codebuild,
  logs,
  uploadRecords,
  replicationWatches,
  channels: [
    slackChannel({
      webhookUrl: config.slackWebhook
        ? webhookSecret({ ...config.slackWebhook, ssm, secretsManager, ttlMs: config.secretTtlMs, logger })
        : async () => undefined,
      timeoutMs: config.httpTimeoutMs,
    }),
    snsChannel({ sns, topicArn: config.topicArn, timeoutMs: config.httpTimeoutMs }),
  ],
  logger,
  now: () => new Date(Date.now() + config.clockOffsetMs),
};

if (!config.slackWebhook) logger.info('Slack is off: SLACK_WEBHOOK_PARAMETER is empty');
if (!config.topicArn) logger.info('SNS is off: SNS_TOPIC_ARN is empty');
