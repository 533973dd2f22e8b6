/**
 * Deploys the packaged CloudFormation template into moto: buckets (versioning, notifications),
 * topics, queues, parameters, secrets, log groups, CodeBuild projects and EventBridge rules with the
 * template's own event patterns. Lambda targets become local SQS queues that the invoker drains;
 * scheduled rules become entries for the local clock. Resource types the local cloud has no use for
 * (IAM, permissions, versions) get physical names only, so that references to them resolve.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CodeBuildClient, CreateProjectCommand } from '@aws-sdk/client-codebuild';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  type Target,
} from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  type QueueConfiguration,
  S3Client,
  type Event as S3Event,
} from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ACCOUNT_ID } from './constants.ts';
import type { FunctionSpec } from './invoker.ts';
import {
  creationOrder,
  functionKey,
  type PhysicalResource,
  physicalResource,
  type ResolveContext,
  resolve,
  type Template,
  TemplateError,
} from './template.ts';

export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
  sns: SNSClient;
  events: EventBridgeClient;
  ssm: SSMClient;
  secrets: SecretsManagerClient;
  logs: CloudWatchLogsClient;
  codebuild: CodeBuildClient;
  ecr: ECRClient;
}

/** Clients for moto (or the gateway) at `endpoint`. */
export function awsClients(endpoint: string, region: string): AwsClients {
  const config = { region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return {
    s3: new S3Client({ ...config, forcePathStyle: true }),
    sqs: new SQSClient(config),
    sns: new SNSClient(config),
    events: new EventBridgeClient(config),
    ssm: new SSMClient(config),
    secrets: new SecretsManagerClient(config),
    logs: new CloudWatchLogsClient(config),
    codebuild: new CodeBuildClient(config),
    ecr: new ECRClient(config),
  };
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

export interface CodeBuildProject {
  name: string;
  buildspec: string;
  timeoutInMinutes: number;
  queuedTimeoutInMinutes?: number;
  environmentVariables: Array<{ name: string; value: string; type?: string }>;
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

const SKIPPED_BUCKETS = new Set(['ServerlessDeploymentBucket']);

type Props = Record<string, unknown>;

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

/** Where a serverless handler path (`dist/x/index.handler`) lives and what it exports. */
export function handlerFile(root: string, handler: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  const base = join(root, handler.slice(0, dot));
  const exportName = handler.slice(dot + 1);
  for (const ext of ['.mjs', '.js', '.cjs']) {
    if (existsSync(base + ext)) return { file: base + ext, exportName };
  }
  return { file: `${base}.mjs`, exportName };
}

/** S3 filter rules from a bucket's `Filter.S3Key.Rules` or a serverless Custom::S3 `Rules` list. */
function filterRules(rules: unknown): Array<{ Name: 'prefix' | 'suffix'; Value: string }> {
  const out: Array<{ Name: 'prefix' | 'suffix'; Value: string }> = [];
  for (const rule of (rules ?? []) as Array<Record<string, string>>) {
    if (rule.Name)
      out.push({ Name: rule.Name.toLowerCase() as 'prefix' | 'suffix', Value: String(rule.Value) });
    if (rule.Prefix !== undefined) out.push({ Name: 'prefix', Value: rule.Prefix });
    if (rule.Suffix !== undefined) out.push({ Name: 'suffix', Value: rule.Suffix });
  }
  return out;
}

/** Creates the template's resources in moto; returns what the invoker and the rest of the cloud need. */
export async function deploy(options: DeployOptions): Promise<Deployment> {
  const { template, region, clients, log } = options;
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
  const deployment: Deployment = {
    stackName,
    resources: ctx.resources,
    functions: [],
    queues: [],
    schedules: [],
    buckets: [],
    topics: [],
    projects: [],
    log: [],
  };
  const note = (line: string) => {
    deployment.log.push(line);
    log(`deploy: ${line}`);
  };
  const functionArns = new Map<string, string>(); // arn -> function key
  const bucketNotifications = new Map<string, QueueConfiguration[]>();
  const retryAttempts = new Map<string, number>();
  const onFailure = new Map<string, string>();

  const localQueue = async (name: string, kind: LocalQueue['kind'], key: string): Promise<LocalQueue> => {
    const queueName = name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
    const created = await clients.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
    const queue: LocalQueue = {
      url: String(created.QueueUrl),
      arn: `arn:aws:sqs:${region}:${ACCOUNT_ID}:${queueName}`,
      kind,
      functionKey: key,
    };
    deployment.queues.push(queue);
    return queue;
  };

  const notifyBucket = async (bucket: string, configs: QueueConfiguration[]) => {
    const all = [...(bucketNotifications.get(bucket) ?? []), ...configs];
    bucketNotifications.set(bucket, all);
    await clients.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { QueueConfigurations: all },
      }),
    );
    deployment.contextsBucket ??= bucket;
  };

  const lambdaQueueConfigs = async (
    bucket: string,
    configs: Array<{ event: string; rules: unknown; fnArn: string }>,
  ) => {
    const out: QueueConfiguration[] = [];
    for (const [i, config] of configs.entries()) {
      const key = functionArns.get(config.fnArn);
      if (!key) {
        note(
          `bucket ${bucket}: notification to ${config.fnArn} is not one of the template's functions; skipped`,
        );
        continue;
      }
      const queue = await localQueue(`local-s3-${bucket}-${key}-${i}`, 's3', key);
      const rules = filterRules(config.rules);
      out.push({
        QueueArn: queue.arn,
        Events: [config.event as S3Event],
        ...(rules.length > 0 ? { Filter: { Key: { FilterRules: rules } } } : {}),
      });
      note(
        `bucket ${bucket}: ${config.event} ${rules.map((r) => `${r.Name}=${r.Value}`).join(' ')} -> ${key}`,
      );
    }
    return out;
  };

  for (const logicalId of creationOrder(template)) {
    const resource = template.Resources[logicalId];
    if (!resource) continue;
    if (resource.Condition && !resolve({ Condition: resource.Condition }, ctx, conditions)) continue;
    let props: Props;
    try {
      props = (resolve(resource.Properties ?? {}, ctx, conditions) ?? {}) as Props;
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      note(`${logicalId} (${resource.Type}): ${error.message}; not created`);
      props = {};
    }
    const physical = physicalResource(logicalId, resource, props, ctx);
    ctx.resources[logicalId] = physical;

    switch (resource.Type) {
      case 'AWS::S3::Bucket': {
        if (SKIPPED_BUCKETS.has(logicalId)) break;
        const bucket = physical.ref;
        await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
        deployment.buckets.push(bucket);
        const versioning = (props.VersioningConfiguration as Props | undefined)?.Status;
        if (versioning) {
          await clients.s3.send(
            new PutBucketVersioningCommand({
              Bucket: bucket,
              VersioningConfiguration: { Status: versioning as 'Enabled' | 'Suspended' },
            }),
          );
        }
        const tags = (props.Tags ?? []) as Array<{ Key: string; Value: string }>;
        if (tags.length > 0) {
          await clients.s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: tags } }));
        }
        note(`bucket ${bucket}${versioning ? ` (versioning ${versioning})` : ''}`);
        const notification = (props.NotificationConfiguration ?? {}) as Props;
        const lambdas = (notification.LambdaConfigurations ?? []) as Props[];
        const configs = await lambdaQueueConfigs(
          bucket,
          lambdas.map((c) => ({
            event: String(c.Event),
            rules: ((c.Filter as Props | undefined)?.S3Key as Props | undefined)?.Rules,
            fnArn: String(c.Function),
          })),
        );
        if (configs.length > 0) await notifyBucket(bucket, configs);
        if (notification.EventBridgeConfiguration) {
          note(`bucket ${bucket}: EventBridge notifications are not delivered by the local cloud`);
        }
        break;
      }
      case 'Custom::S3': {
        // serverless `existing: true` S3 events: a custom resource that adds the notification.
        const bucket = String(props.BucketName);
        const fnName = String(props.FunctionName);
        const fnArn = `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${fnName}`;
        const configs = await lambdaQueueConfigs(
          bucket,
          ((props.BucketConfigs ?? []) as Props[]).map((c) => ({
            event: String(c.Event),
            rules: c.Rules,
            fnArn,
          })),
        );
        if (configs.length > 0) await notifyBucket(bucket, configs);
        break;
      }
      case 'AWS::SNS::Topic': {
        await clients.sns.send(new CreateTopicCommand({ Name: physical.attributes.TopicName }));
        deployment.topics.push(physical.ref);
        note(`topic ${physical.ref}`);
        break;
      }
      case 'AWS::SNS::Subscription': {
        await clients.sns.send(
          new SubscribeCommand({
            TopicArn: String(props.TopicArn),
            Protocol: String(props.Protocol),
            Endpoint: String(props.Endpoint),
          }),
        );
        break;
      }
      case 'AWS::SQS::Queue': {
        const created = await clients.sqs.send(new CreateQueueCommand({ QueueName: physical.ref }));
        physical.ref = String(created.QueueUrl);
        physical.attributes.QueueUrl = physical.ref;
        note(`queue ${physical.attributes.QueueName}`);
        break;
      }
      case 'AWS::SSM::Parameter': {
        await clients.ssm.send(
          new PutParameterCommand({
            Name: physical.ref,
            Value: String(props.Value ?? ''),
            Type: (props.Type as 'String' | 'StringList' | undefined) ?? 'String',
            Overwrite: true,
          }),
        );
        note(`parameter ${physical.ref}`);
        break;
      }
      case 'AWS::SecretsManager::Secret': {
        await clients.secrets.send(
          new CreateSecretCommand({
            Name: physical.ref.split(':secret:')[1] ?? logicalId,
            SecretString: String(props.SecretString ?? ''),
          }),
        );
        break;
      }
      case 'AWS::Logs::LogGroup': {
        await clients.logs
          .send(new CreateLogGroupCommand({ logGroupName: physical.ref }))
          .catch(() => undefined);
        break;
      }
      case 'AWS::Events::EventBus': {
        await clients.events.send(new CreateEventBusCommand({ Name: physical.ref }));
        // moto keeps the bus policy (GetEvents shows it) but, like its IAM, does not enforce it.
        if (props.Policy) {
          await clients.events.send(
            new PutPermissionCommand({ EventBusName: physical.ref, Policy: JSON.stringify(props.Policy) }),
          );
        }
        note(`event bus ${physical.ref}${props.Policy ? ' with its policy' : ''}`);
        break;
      }
      case 'AWS::Lambda::Function': {
        const key = functionKey(logicalId);
        const { file, exportName } = handlerFile(options.root, String(props.Handler));
        const templateEnv = ((props.Environment as Props | undefined)?.Variables ?? {}) as Record<
          string,
          unknown
        >;
        const functionName = physical.ref;
        functionArns.set(physical.attributes.Arn ?? '', key);
        const memorySize = Number(props.MemorySize ?? 1024);
        deployment.functions.push({
          key,
          functionName,
          file,
          exportName,
          timeoutSeconds: Number(props.Timeout ?? 6),
          memorySize,
          maximumRetryAttempts: 2,
          env: {
            ...Object.fromEntries(Object.entries(templateEnv).map(([k, v]) => [k, String(v)])),
            AWS_LAMBDA_FUNCTION_NAME: functionName,
            AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memorySize),
            AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
            AWS_EXECUTION_ENV: `AWS_Lambda_${String(props.Runtime ?? 'nodejs22.x')}`,
            AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
            _HANDLER: String(props.Handler),
            LAMBDA_TASK_ROOT: options.root,
            TZ: 'UTC',
            ...options.baseEnv,
            ...(options.functionEnv?.[key] ?? {}),
          },
        });
        note(`function ${key} (${functionName}) <- ${file}`);
        break;
      }
      case 'AWS::Lambda::EventInvokeConfig': {
        const fn = String(props.FunctionName);
        const attempts = props.MaximumRetryAttempts;
        if (attempts !== undefined) retryAttempts.set(fn, Number(attempts));
        const destination = (((props.DestinationConfig as Props | undefined)?.OnFailure as Props | undefined)
          ?.Destination ?? undefined) as string | undefined;
        if (destination) onFailure.set(fn, destination);
        break;
      }
      case 'AWS::ECR::Repository': {
        const encryption = props.EncryptionConfiguration as Props | undefined;
        await clients.ecr.send(
          new CreateRepositoryCommand({
            repositoryName: physical.ref,
            imageTagMutability:
              (props.ImageTagMutability as 'MUTABLE' | 'IMMUTABLE' | undefined) ?? 'MUTABLE',
            ...(props.ImageScanningConfiguration
              ? {
                  imageScanningConfiguration: {
                    scanOnPush: Boolean((props.ImageScanningConfiguration as Props).ScanOnPush),
                  },
                }
              : {}),
            ...(encryption
              ? { encryptionConfiguration: { encryptionType: encryption.EncryptionType as 'AES256' } }
              : {}),
            ...(Array.isArray(props.Tags)
              ? { tags: props.Tags as Array<{ Key: string; Value: string }> }
              : {}),
          }),
        );
        note(`ECR repository ${physical.ref}`);
        break;
      }
      case 'AWS::CodeBuild::Project': {
        const source = (props.Source ?? {}) as Props;
        const environment = (props.Environment ?? {}) as Props;
        const project: CodeBuildProject = {
          name: physical.ref,
          buildspec: String(source.BuildSpec ?? ''),
          timeoutInMinutes: Number(props.TimeoutInMinutes ?? 60),
          ...(props.QueuedTimeoutInMinutes !== undefined
            ? { queuedTimeoutInMinutes: Number(props.QueuedTimeoutInMinutes) }
            : {}),
          environmentVariables: ((environment.EnvironmentVariables ?? []) as Props[]).map((v) => ({
            name: String(v.Name),
            value: String(v.Value ?? ''),
            ...(v.Type ? { type: String(v.Type) } : {}),
          })),
        };
        deployment.projects.push(project);
        // moto's own CodeBuild records StartBuild until the local build service is there.
        await clients.codebuild
          .send(
            new CreateProjectCommand({
              name: project.name,
              source: { type: 'NO_SOURCE', location: 'none', buildspec: project.buildspec || 'version: 0.2' },
              artifacts: { type: 'NO_ARTIFACTS' },
              environment: {
                type: 'ARM_CONTAINER',
                image: String(environment.Image ?? 'aws/codebuild/amazonlinux2-aarch64-standard:3.0'),
                computeType: 'BUILD_GENERAL1_SMALL',
              },
              serviceRole: String(props.ServiceRole ?? `arn:aws:iam::${ACCOUNT_ID}:role/local`),
            }),
          )
          .catch((error: unknown) => note(`moto CodeBuild project ${project.name}: ${String(error)}`));
        note(`CodeBuild project ${project.name}`);
        break;
      }
      case 'AWS::Events::Rule': {
        const name = physical.ref;
        const targets = (props.Targets ?? []) as Props[];
        const state = String(props.State ?? 'ENABLED');
        if (props.ScheduleExpression) {
          for (const target of targets) {
            const key = functionArns.get(String(target.Arn));
            if (!key) continue;
            deployment.schedules.push({
              ruleName: name,
              ruleArn: physical.attributes.Arn ?? '',
              expression: String(props.ScheduleExpression),
              functionKey: key,
              ...(target.Input !== undefined ? { input: JSON.parse(String(target.Input)) } : {}),
            });
            note(`schedule ${name} ${String(props.ScheduleExpression)} -> ${key} (local clock)`);
          }
          break;
        }
        const pattern =
          typeof props.EventPattern === 'string' ? props.EventPattern : JSON.stringify(props.EventPattern);
        const bus = props.EventBusName ? String(props.EventBusName) : undefined;
        await clients.events.send(
          new PutRuleCommand({
            Name: name,
            EventPattern: pattern,
            State: state as 'ENABLED' | 'DISABLED',
            ...(bus ? { EventBusName: bus } : {}),
            ...(props.Description ? { Description: String(props.Description) } : {}),
          }),
        );
        const localTargets: Target[] = [];
        for (const target of targets) {
          const arn = String(target.Arn);
          const key = functionArns.get(arn);
          const keep: Target = {
            Id: String(target.Id),
            Arn: arn,
            ...(target.Input !== undefined ? { Input: String(target.Input) } : {}),
            ...(target.InputPath !== undefined ? { InputPath: String(target.InputPath) } : {}),
            ...(target.InputTransformer !== undefined
              ? { InputTransformer: target.InputTransformer as Target['InputTransformer'] }
              : {}),
          };
          if (key) {
            const queue = await localQueue(`local-rule-${name}-${String(target.Id)}`, 'events', key);
            localTargets.push({ ...keep, Arn: queue.arn });
          } else localTargets.push(keep);
        }
        if (localTargets.length > 0) {
          await clients.events.send(
            new PutTargetsCommand({
              Rule: name,
              Targets: localTargets,
              ...(bus ? { EventBusName: bus } : {}),
            }),
          );
        }
        note(
          `rule ${name} ${pattern} -> ${targets.map((t) => functionArns.get(String(t.Arn)) ?? String(t.Arn)).join(', ')}`,
        );
        break;
      }
      default:
        break;
    }
  }

  for (const fn of deployment.functions) {
    const attempts = retryAttempts.get(fn.functionName) ?? retryAttempts.get(fn.key);
    if (attempts !== undefined) fn.maximumRetryAttempts = attempts;
    const destination = onFailure.get(fn.functionName) ?? onFailure.get(fn.key);
    if (destination) fn.onFailure = destination;
  }
  return deployment;
}
