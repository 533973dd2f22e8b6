/**
 * Deploys the packaged CloudFormation template into moto: buckets (versioning, notifications),
 * topics, queues, parameters, secrets, log groups, ECR repositories and EventBridge rules with the
 * template's own event patterns. Lambda targets become local SQS queues that the invoker drains;
 * scheduled rules become entries for the local clock; the CodeBuild project is handed to the local
 * CodeBuild; roles and resource policies are kept for the local IAM. Resource types the local cloud has no use for (permissions, versions) get physical
 * names only, so that references to them resolve. The creators of each type are in local/deploy/.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ACCOUNT_ID, LOCAL_CREDENTIALS } from '../shared/local-cloud.ts';
import type { AwsClients, Deployment, DeployOptions } from './deploy/deployment.ts';
import { addCustomResource, CREATORS } from './deploy/resources.ts';
import { DeployState } from './deploy/state.ts';
import { emptyIamModel } from './iam/model.ts';
import {
  creationOrder,
  physicalResource,
  type ResolveContext,
  resolve,
  type Template,
  TemplateError,
} from './template.ts';

export type {
  AwsClients,
  CodeBuildProject,
  Deployment,
  DeployOptions,
  LocalQueue,
  ScheduledRule,
} from './deploy/deployment.ts';

/** Clients for moto (or the gateway) at `endpoint`. */
export function awsClients(endpoint: string, region: string): AwsClients {
  const config = { region, endpoint, credentials: LOCAL_CREDENTIALS };
  return {
    s3: new S3Client({ ...config, forcePathStyle: true }),
    sqs: new SQSClient(config),
    sns: new SNSClient(config),
    events: new EventBridgeClient(config),
    ssm: new SSMClient(config),
    secrets: new SecretsManagerClient(config),
    logs: new CloudWatchLogsClient(config),
    ecr: new ECRClient(config),
  };
}

/** The stack name serverless gave the template (from the function names or the log groups). */
export function stackNameOf(template: Template): string {
  for (const resource of Object.values(template.Resources)) {
    const name = resource.Properties?.FunctionName;
    if (resource.Type === 'AWS::Lambda::Function' && typeof name === 'string') {
      const dash = name.lastIndexOf('-');
      if (dash > 0) return name.slice(0, dash);
    }
  }
  return 'ecr-pipeline-dev';
}

/** Creates the template's resources in moto; returns what the invoker and the rest of the cloud need. */
export async function deploy(options: DeployOptions): Promise<Deployment> {
  const { template, region } = options;
  const stackName = stackNameOf(template);
  const ctx: ResolveContext = {
    region,
    accountId: ACCOUNT_ID,
    stackName,
    resources: {},
    parameters: Object.fromEntries(
      Object.entries(template.Parameters ?? {}).map(([name, p]) => [name, p.Default ?? '']),
    ),
  };
  const conditions = template.Conditions ?? {};
  const state = new DeployState(
    {
      stackName,
      resources: ctx.resources,
      functions: [],
      queues: [],
      schedules: [],
      buckets: [],
      topics: [],
      projects: [],
      iam: emptyIamModel(),
      customResources: [],
      log: [],
    },
    options,
  );
  for (const logicalId of creationOrder(template)) {
    const resource = template.Resources[logicalId];
    if (!resource) continue;
    if (resource.Condition && !resolve({ Condition: resource.Condition }, ctx, conditions)) continue;
    let props: Record<string, unknown>;
    try {
      props = (resolve(resource.Properties ?? {}, ctx, conditions) ?? {}) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      state.note(`${logicalId} (${resource.Type}): ${error.message}; not created`);
      props = {};
    }
    const physical = physicalResource(logicalId, resource, props, ctx);
    ctx.resources[logicalId] = physical;
    const creator = CREATORS[resource.Type];
    if (creator) await creator(state, logicalId, physical, props);
    else if (resource.Type.startsWith('Custom::')) addCustomResource(state, logicalId, resource.Type, props);
  }
  state.applyInvokeConfigs();
  return state.deployment;
}
