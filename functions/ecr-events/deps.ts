import type { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import type {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import type { Channel } from './notify/deliver.ts';

/** S3 with the two commands the upload records need, loaded together. */
export interface UploadRecordStore {
  s3: Pick<S3Client, 'send'>;
  commands: { GetObjectCommand: typeof GetObjectCommand; PutObjectCommand: typeof PutObjectCommand };
}

/** S3 as the replication check needs it: the watch folder listed, read, claimed and emptied. */
export interface ReplicationWatchStore {
  s3: S3Client;
  paginate: typeof paginateListObjectsV2;
  commands: {
    GetObjectCommand: typeof GetObjectCommand;
    PutObjectCommand: typeof PutObjectCommand;
    DeleteObjectCommand: typeof DeleteObjectCommand;
  };
}

/** What the domain code needs; clients.ts builds the container-wide defaults, tests pass their own. */
export interface Deps {
  config: Config;
  ecr: ECRClient;
  /** Loaded on first use: only some invocations need them (see clients.ts). */
  tagging: () => Promise<ResourceGroupsTaggingAPIClient>;
  lambda: () => Promise<LambdaClient>;
  ecs: () => Promise<ECSClient>;
  codebuild: () => Promise<CodeBuildClient>;
  logs: () => Promise<CloudWatchLogsClient>;
  uploadRecords: () => Promise<UploadRecordStore>;
  /** Loaded by the scheduled replication check only. */
  replicationWatches: () => Promise<ReplicationWatchStore>;
  /** Slack and SNS, in that order; each says `off` when it is not configured. */
  channels: readonly Channel[];
  logger: Logger;
  now: () => Date;
}
