/** What a deployment of the template into moto gives the rest of the local cloud. */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { CodeBuildProject } from '../codebuild/model.ts';
import type { IamModel } from '../iam/model.ts';
import type { FunctionSpec } from '../invoker.ts';
import type { PhysicalResource, Template } from '../template.ts';

export type { CodeBuildProject } from '../codebuild/model.ts';

/** Clients of the services the deployment creates resources in. */
export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
  sns: SNSClient;
  events: EventBridgeClient;
  ssm: SSMClient;
  secrets: SecretsManagerClient;
  logs: CloudWatchLogsClient;
  ecr: ECRClient;
}

/** A queue the invoker drains into a function (or the SNS sink). */
export interface LocalQueue {
  url: string;
  arn: string;
  kind: 's3' | 'events';
  functionKey: string;
}

export interface ScheduledRule {
  ruleName: string;
  ruleArn: string;
  expression: string;
  functionKey: string;
  /** A target's constant Input (JSON), delivered instead of the scheduled event. */
  input?: unknown;
}

/** A custom resource of the template, run once the function behind its ServiceToken can be invoked. */
export interface CustomResourceSpec {
  logicalId: string;
  type: string;
  functionKey: string;
  properties: Record<string, unknown>;
}

export interface Deployment {
  stackName: string;
  resources: Record<string, PhysicalResource>;
  functions: FunctionSpec[];
  queues: LocalQueue[];
  schedules: ScheduledRule[];
  buckets: string[];
  /** The bucket whose notifications reach a function: where build contexts are uploaded. */
  contextsBucket?: string;
  topics: string[];
  projects: CodeBuildProject[];
  /** The roles, their policies and the resource policies of the template (local/iam/). */
  iam: IamModel;
  /** Custom resources (serverless' Custom::S3 aside), for local/custom-resources.ts. */
  customResources: CustomResourceSpec[];
  log: string[];
}

export interface DeployOptions {
  template: Template;
  root: string;
  region: string;
  clients: AwsClients;
  /** Environment every function gets on top of the template's (the AWS endpoint and credentials). */
  baseEnv: Record<string, string>;
  functionEnv?: Record<string, Record<string, string>>;
  log: (line: string) => void;
}
