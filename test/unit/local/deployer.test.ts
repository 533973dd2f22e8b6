/** Deploying a template into moto, with the clients mocked: what is created and what the cloud is told. */

import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { awsClients, deploy } from '../../../local/deployer.ts';
import type { Template } from '../../../local/template.ts';

const s3 = mockClient(S3Client);
const sqs = mockClient(SQSClient);
const events = mockClient(EventBridgeClient);

beforeEach(() => {
  s3.reset();
  sqs.reset();
  events.reset();
  sqs.on(CreateQueueCommand).callsFake((input: { QueueName: string }) => ({
    QueueUrl: `http://moto/queue/${input.QueueName}`,
  }));
});

const TEMPLATE: Template = {
  Resources: {
    BuildTriggerLambdaFunction: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        FunctionName: 'ecr-pipeline-dev-buildTrigger',
        Handler: 'dist/build-trigger/index.handler',
        MemorySize: 256,
      },
    },
    BuildTriggerInvokeConfig: {
      Type: 'AWS::Lambda::EventInvokeConfig',
      Properties: { FunctionName: 'ecr-pipeline-dev-buildTrigger', MaximumRetryAttempts: 0 },
    },
    Contexts: {
      Type: 'AWS::S3::Bucket',
      Properties: {
        BucketName: 'contexts',
        VersioningConfiguration: { Status: 'Enabled' },
        NotificationConfiguration: {
          LambdaConfigurations: [
            {
              Event: 's3:ObjectCreated:*',
              Filter: { S3Key: { Rules: [{ Name: 'Suffix', Value: '.tar.gz' }] } },
              Function: { 'Fn::GetAtt': ['BuildTriggerLambdaFunction', 'Arn'] },
            },
          ],
        },
      },
    },
    Builds: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: 'builds',
        EventPattern: { source: ['aws.codebuild'] },
        Targets: [{ Id: 't', Arn: { 'Fn::GetAtt': ['BuildTriggerLambdaFunction', 'Arn'] } }],
      },
    },
    Nightly: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: 'nightly',
        ScheduleExpression: 'rate(1 day)',
        Targets: [
          { Id: 't', Arn: { 'Fn::GetAtt': ['BuildTriggerLambdaFunction', 'Arn'] }, Input: '{"a":1}' },
        ],
      },
    },
    Project: {
      Type: 'AWS::CodeBuild::Project',
      Properties: {
        Name: 'ecr-pipeline-dev',
        Source: { BuildSpec: 'version: 0.2' },
        QueuedTimeoutInMinutes: 30,
        Environment: { EnvironmentVariables: [{ Name: 'A', Value: '1', Type: 'PLAINTEXT' }] },
      },
    },
  },
} as unknown as Template;

describe('deploy', () => {
  it('creates the resources, puts function targets behind local queues and hands on the project', async () => {
    const deployment = await deploy({
      template: TEMPLATE,
      root: '/app',
      region: 'us-east-1',
      clients: awsClients('http://127.0.0.1:1', 'us-east-1'),
      baseEnv: { AWS_ENDPOINT_URL: 'http://gw' },
      log: () => {},
    });
    expect(deployment.stackName).toBe('ecr-pipeline-dev');
    expect(s3.commandCalls(CreateBucketCommand)[0]?.args[0].input).toEqual({ Bucket: 'contexts' });
    expect(s3.commandCalls(PutBucketVersioningCommand)).toHaveLength(1);
    const notification = s3.commandCalls(PutBucketNotificationConfigurationCommand)[0]?.args[0].input;
    expect(notification?.NotificationConfiguration?.QueueConfigurations).toEqual([
      {
        QueueArn: 'arn:aws:sqs:us-east-1:123456789012:local-s3-contexts-buildTrigger-0',
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.tar.gz' }] } },
      },
    ]);
    expect(deployment.contextsBucket).toBe('contexts');
    expect(events.commandCalls(PutRuleCommand)[0]?.args[0].input).toMatchObject({
      Name: 'builds',
      EventPattern: '{"source":["aws.codebuild"]}',
    });
    expect(events.commandCalls(PutTargetsCommand)[0]?.args[0].input.Targets).toEqual([
      { Id: 't', Arn: 'arn:aws:sqs:us-east-1:123456789012:ecr-pipeline-dev-buildTrigger-rule-builds' },
    ]);
    expect(deployment.queues.map((q) => [q.kind, q.functionKey])).toEqual([
      ['s3', 'buildTrigger'],
      ['events', 'buildTrigger'],
    ]);
    expect(deployment.schedules).toEqual([
      {
        ruleName: 'nightly',
        ruleArn: 'arn:aws:events:us-east-1:123456789012:rule/nightly',
        expression: 'rate(1 day)',
        functionKey: 'buildTrigger',
        input: { a: 1 },
      },
    ]);
    expect(deployment.functions[0]).toMatchObject({
      key: 'buildTrigger',
      file: '/app/dist/build-trigger/index.mjs',
      exportName: 'handler',
      memorySize: 256,
      maximumRetryAttempts: 0,
      env: { AWS_LAMBDA_FUNCTION_NAME: 'ecr-pipeline-dev-buildTrigger', AWS_ENDPOINT_URL: 'http://gw' },
    });
    expect(deployment.projects).toEqual([
      {
        name: 'ecr-pipeline-dev',
        buildspec: 'version: 0.2',
        timeoutInMinutes: 60,
        queuedTimeoutInMinutes: 30,
        environmentVariables: [{ name: 'A', value: '1', type: 'PLAINTEXT' }],
      },
    ]);
  });
});
