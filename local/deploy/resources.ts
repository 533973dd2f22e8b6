/**
 * The creators of each resource type the local cloud deploys, by CloudFormation type. Types not
 * listed (IAM, permissions, versions) get physical names only, so that references to them resolve.
 */
import { CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { CreateEventBusCommand, PutPermissionCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { ACCOUNT_ID } from '../../shared/local-cloud.ts';
import { addResourcePolicy, addRole, addRolePolicy } from '../iam/model.ts';
import type { PhysicalResource } from '../template.ts';
import { addExistingBucketNotifications, createBucket } from './buckets.ts';
import type { CodeBuildProject } from './deployment.ts';
import { addFunction, addInvokeConfig } from './functions.ts';
import { createRule } from './rules.ts';
import type { DeployState } from './state.ts';

type Props = Record<string, unknown>;

/** Creates one resource from its resolved properties. */
export type ResourceCreator = (
  state: DeployState,
  logicalId: string,
  physical: PhysicalResource,
  props: Props,
) => Promise<void> | void;

export const CREATORS: Record<string, ResourceCreator> = {
  'AWS::S3::Bucket': createBucket,
  'Custom::S3': (state, _id, _physical, props) => addExistingBucketNotifications(state, props),
  'AWS::SNS::Topic': async (state, _id, physical) => {
    await state.clients.sns.send(new CreateTopicCommand({ Name: physical.attributes.TopicName }));
    state.deployment.topics.push(physical.ref);
    state.note(`topic ${physical.ref}`);
  },
  'AWS::SNS::Subscription': async (state, _id, _physical, props) => {
    await state.clients.sns.send(
      new SubscribeCommand({
        TopicArn: String(props.TopicArn),
        Protocol: String(props.Protocol),
        Endpoint: String(props.Endpoint),
      }),
    );
  },
  'AWS::SQS::Queue': async (state, _id, physical) => {
    const created = await state.clients.sqs.send(new CreateQueueCommand({ QueueName: physical.ref }));
    physical.ref = String(created.QueueUrl);
    physical.attributes.QueueUrl = physical.ref;
    state.note(`queue ${physical.attributes.QueueName}`);
  },
  'AWS::SSM::Parameter': async (state, _id, physical, props) => {
    await state.clients.ssm.send(
      new PutParameterCommand({
        Name: physical.ref,
        Value: String(props.Value ?? ''),
        Type: (props.Type as 'String' | 'StringList' | undefined) ?? 'String',
        Overwrite: true,
      }),
    );
    state.note(`parameter ${physical.ref}`);
  },
  'AWS::SecretsManager::Secret': async (state, logicalId, physical, props) => {
    await state.clients.secrets.send(
      new CreateSecretCommand({
        Name: physical.ref.split(':secret:')[1] ?? logicalId,
        SecretString: String(props.SecretString ?? ''),
      }),
    );
  },
  'AWS::Logs::LogGroup': async (state, _id, physical) => {
    await state.clients.logs
      .send(new CreateLogGroupCommand({ logGroupName: physical.ref }))
      .catch(() => undefined);
  },
  'AWS::Events::EventBus': async (state, _id, physical, props) => {
    await state.clients.events.send(new CreateEventBusCommand({ Name: physical.ref }));
    // moto keeps the bus policy (GetEvents shows it) but, like its IAM, does not enforce it.
    if (props.Policy) {
      await state.clients.events.send(
        new PutPermissionCommand({ EventBusName: physical.ref, Policy: JSON.stringify(props.Policy) }),
      );
    }
    if (props.Policy) {
      const scope = { region: state.region, account: ACCOUNT_ID };
      addResourcePolicy(
        state.deployment.iam,
        _id,
        'AWS::Events::EventBus',
        { ...props, Arn: physical.attributes.Arn },
        scope,
      );
    }
    state.note(`event bus ${physical.ref}${props.Policy ? ' with its policy' : ''}`);
  },
  'AWS::Lambda::Function': addFunction,
  'AWS::Lambda::EventInvokeConfig': (state, _id, _physical, props) => addInvokeConfig(state, props),
  'AWS::ECR::Repository': createRepository,
  'AWS::CodeBuild::Project': (state, _id, physical, props) => {
    const project = codeBuildProject(physical, props);
    if (props.ServiceRole) state.deployment.iam.projectRoles[project.name] = String(props.ServiceRole);
    state.deployment.projects.push(project);
    state.note(`CodeBuild project ${project.name}`);
  },
  'AWS::Events::Rule': (state, _id, physical, props) => createRule(state, physical, props),
  'AWS::IAM::Role': (state, logicalId, physical, props) =>
    addRole(state.deployment.iam, logicalId, physical.attributes.Arn ?? '', physical.ref, props),
  'AWS::IAM::Policy': (state, logicalId, _physical, props) =>
    addRolePolicy(state.deployment.iam, logicalId, props),
  'AWS::IAM::ManagedPolicy': (state, logicalId, _physical, props) =>
    addRolePolicy(state.deployment.iam, logicalId, props),
  'AWS::S3::BucketPolicy': resourcePolicy('AWS::S3::BucketPolicy'),
  'AWS::SNS::TopicPolicy': resourcePolicy('AWS::SNS::TopicPolicy'),
  'AWS::SQS::QueuePolicy': resourcePolicy('AWS::SQS::QueuePolicy'),
};

/** A bucket, topic or queue policy: kept for the local IAM (moto keeps them but enforces none). */
function resourcePolicy(type: string): ResourceCreator {
  return (state, logicalId, _physical, props) =>
    addResourcePolicy(state.deployment.iam, logicalId, type, props, {
      region: state.region,
      account: ACCOUNT_ID,
    });
}

/**
 * A custom resource (`Custom::*`): kept for local/custom-resources.ts, which sends its function the
 * Create request once the invoker runs; one whose ServiceToken is not a template function is reported.
 */
export function addCustomResource(state: DeployState, logicalId: string, type: string, props: Props): void {
  const functionKey = state.functionArns.get(String(props.ServiceToken));
  if (!functionKey) {
    state.note(
      `${logicalId} (${type}): its ServiceToken is not one of the template's functions; not created`,
    );
    return;
  }
  const { ServiceToken: _token, ...properties } = props;
  state.deployment.customResources.push({ logicalId, type, functionKey, properties });
  state.note(`custom resource ${logicalId} (${type}) -> function ${functionKey}, run after start-up`);
}

async function createRepository(
  state: DeployState,
  _id: string,
  physical: PhysicalResource,
  props: Props,
): Promise<void> {
  const encryption = props.EncryptionConfiguration as Props | undefined;
  await state.clients.ecr.send(
    new CreateRepositoryCommand({
      repositoryName: physical.ref,
      imageTagMutability: (props.ImageTagMutability as 'MUTABLE' | 'IMMUTABLE' | undefined) ?? 'MUTABLE',
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
      ...(Array.isArray(props.Tags) ? { tags: props.Tags as Array<{ Key: string; Value: string }> } : {}),
    }),
  );
  state.note(`ECR repository ${physical.ref}`);
}

/** The project the local CodeBuild serves (moto's CodeBuild is not used: the gateway routes CodeBuild there). */
export function codeBuildProject(physical: PhysicalResource, props: Props): CodeBuildProject {
  const source = (props.Source ?? {}) as Props;
  const environment = (props.Environment ?? {}) as Props;
  return {
    name: physical.ref,
    buildspec: String(source.BuildSpec ?? ''),
    timeoutInMinutes: Number(props.TimeoutInMinutes ?? 60),
    ...(props.QueuedTimeoutInMinutes !== undefined
      ? { queuedTimeoutInMinutes: Number(props.QueuedTimeoutInMinutes) }
      : {}),
    ...(props.ServiceRole ? { serviceRole: String(props.ServiceRole) } : {}),
    environmentVariables: ((environment.EnvironmentVariables ?? []) as Props[]).map((v) => ({
      name: String(v.Name),
      value: String(v.Value ?? ''),
      ...(v.Type ? { type: String(v.Type) } : {}),
    })),
  };
}
