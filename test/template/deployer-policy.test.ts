/**
 * docs/deployer-policy.json, the policy of whoever runs `serverless deploy` / `serverless remove`,
 * checked against the packaged template: every resource type it holds has its create, update and
 * delete actions allowed, on the names the template gives. A resource type the policy was not
 * written for fails here, so the policy cannot go stale.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { wildcardToRegExp } from '../../functions/shared/wildcard.ts';
import { readTemplate, root, type Template } from './template.ts';

interface PolicyStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

const policy = JSON.parse(readFileSync(join(root, 'docs', 'deployer-policy.json'), 'utf8')) as {
  Statement: PolicyStatement[];
};
const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);

/** What CloudFormation calls, with the deployer's credentials, to create, update and delete each type. */
const ACTIONS: Record<string, string[]> = {
  'AWS::S3::Bucket': [
    's3:CreateBucket',
    's3:DeleteBucket',
    's3:PutBucketVersioning',
    's3:PutBucketTagging',
    's3:PutLifecycleConfiguration',
    's3:PutEncryptionConfiguration',
    's3:PutBucketPublicAccessBlock',
    's3:PutBucketOwnershipControls',
    's3:PutBucketNotification',
    's3:GetBucketNotification',
  ],
  'AWS::S3::BucketPolicy': ['s3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:DeleteBucketPolicy'],
  'AWS::Lambda::Function': [
    'lambda:CreateFunction',
    'lambda:GetFunction',
    'lambda:UpdateFunctionCode',
    'lambda:UpdateFunctionConfiguration',
    'lambda:DeleteFunction',
    'lambda:PutFunctionConcurrency',
    'lambda:TagResource',
    'iam:PassRole',
  ],
  'AWS::Lambda::Permission': ['lambda:AddPermission', 'lambda:RemovePermission'],
  'AWS::Lambda::Version': ['lambda:PublishVersion', 'lambda:ListVersionsByFunction'],
  'AWS::Lambda::EventInvokeConfig': [
    'lambda:PutFunctionEventInvokeConfig',
    'lambda:UpdateFunctionEventInvokeConfig',
    'lambda:DeleteFunctionEventInvokeConfig',
  ],
  // The release operator's policy (resources/release.yml), named after the stack by CloudFormation.
  'AWS::IAM::ManagedPolicy': [
    'iam:CreatePolicy',
    'iam:GetPolicy',
    'iam:CreatePolicyVersion',
    'iam:DeletePolicyVersion',
    'iam:ListPolicyVersions',
    'iam:DeletePolicy',
  ],
  'AWS::IAM::Role': [
    'iam:CreateRole',
    'iam:GetRole',
    'iam:PutRolePolicy',
    'iam:DeleteRolePolicy',
    'iam:DeleteRole',
    'iam:TagRole',
  ],
  'AWS::Logs::LogGroup': [
    'logs:CreateLogGroup',
    'logs:PutRetentionPolicy',
    'logs:DeleteLogGroup',
    'logs:DescribeLogGroups',
  ],
  'AWS::Events::Rule': [
    'events:PutRule',
    'events:DescribeRule',
    'events:PutTargets',
    'events:RemoveTargets',
    'events:DeleteRule',
  ],
  'AWS::Events::EventBus': [
    'events:CreateEventBus',
    'events:DescribeEventBus',
    'events:DeleteEventBus',
    'events:PutPermission',
  ],
  'AWS::SQS::Queue': [
    'sqs:CreateQueue',
    'sqs:GetQueueAttributes',
    'sqs:SetQueueAttributes',
    'sqs:DeleteQueue',
    'sqs:TagQueue',
  ],
  'AWS::SQS::QueuePolicy': ['sqs:SetQueueAttributes'],
  'AWS::SNS::Topic': [
    'sns:CreateTopic',
    'sns:GetTopicAttributes',
    'sns:SetTopicAttributes',
    'sns:DeleteTopic',
    'sns:TagResource',
  ],
  'AWS::SNS::TopicPolicy': ['sns:SetTopicAttributes'],
  'AWS::SNS::Subscription': ['sns:Subscribe', 'sns:Unsubscribe', 'sns:GetSubscriptionAttributes'],
  'AWS::KMS::Key': [
    'kms:CreateKey',
    'kms:DescribeKey',
    'kms:PutKeyPolicy',
    'kms:EnableKeyRotation',
    'kms:ScheduleKeyDeletion',
    'kms:TagResource',
  ],
  'AWS::KMS::Alias': ['kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias'],
  'AWS::CloudWatch::Alarm': [
    'cloudwatch:PutMetricAlarm',
    'cloudwatch:DescribeAlarms',
    'cloudwatch:DeleteAlarms',
  ],
  'AWS::ECR::Repository': [
    'ecr:CreateRepository',
    'ecr:DescribeRepositories',
    'ecr:PutLifecyclePolicy',
    'ecr:PutImageScanningConfiguration',
    'ecr:PutImageTagMutability',
    'ecr:TagResource',
    'ecr:DeleteRepository',
  ],
  'AWS::CodeBuild::Fleet': [
    'codebuild:CreateFleet',
    'codebuild:UpdateFleet',
    'codebuild:DeleteFleet',
    'codebuild:BatchGetFleets',
  ],
  'AWS::CodeBuild::Project': [
    'codebuild:CreateProject',
    'codebuild:UpdateProject',
    'codebuild:DeleteProject',
    'codebuild:BatchGetProjects',
    'iam:PassRole',
  ],
  'AWS::EC2::VPCEndpoint': [
    'ec2:CreateVpcEndpoint',
    'ec2:ModifyVpcEndpoint',
    'ec2:DeleteVpcEndpoints',
    'ec2:DescribeVpcEndpoints',
  ],
  'AWS::EC2::SecurityGroup': [
    'ec2:CreateSecurityGroup',
    'ec2:DescribeSecurityGroups',
    'ec2:AuthorizeSecurityGroupEgress',
    'ec2:RevokeSecurityGroupEgress',
    'ec2:DeleteSecurityGroup',
    'ec2:CreateTags',
  ],
  'AWS::EC2::SecurityGroupIngress': ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
  // A custom resource is CloudFormation invoking its function with the deployer's permission.
  Custom: ['lambda:InvokeFunction'],
};

const allowing = (action: string) =>
  policy.Statement.filter(
    (statement) =>
      statement.Effect === 'Allow' &&
      list(statement.Action).some((pattern) => wildcardToRegExp(pattern, 'i').test(action)),
  );

const resourcesAllowed = (action: string, arn: string) =>
  allowing(action).some((statement) =>
    list(statement.Resource).some((pattern) => wildcardToRegExp(pattern).test(arn)),
  );

let template: Template;
beforeAll(() => {
  template = readTemplate();
});

const typeKey = (type: string) => (type.startsWith('Custom::') ? 'Custom' : type);

describe('the deployer policy', () => {
  it('knows every resource type of the packaged template', () => {
    const types = [...new Set(Object.values(template.Resources).map((r) => typeKey(r.Type)))];
    expect(types.filter((type) => !(type in ACTIONS))).toEqual([]);
  });

  it('allows the actions of every resource type the template holds', () => {
    const types = new Set(Object.values(template.Resources).map((r) => typeKey(r.Type)));
    const missing = [...types].flatMap((type) =>
      (ACTIONS[type] ?? []).filter((action) => allowing(action).length === 0),
    );
    expect(missing).toEqual([]);
  });

  it("allows the stack's own names: stack, functions, log groups, repository, project", () => {
    const stack = 'ecr-pipeline-prod';
    expect(
      resourcesAllowed(
        'cloudformation:UpdateStack',
        `arn:aws:cloudformation:eu-west-1:123456789012:stack/${stack}/abc`,
      ),
    ).toBe(true);
    for (const r of Object.values(template.Resources)) {
      const p = (r.Properties ?? {}) as Record<string, unknown>;
      const name = (key: string) => String(p[key]).replace('ecr-pipeline-dev', stack);
      if (r.Type === 'AWS::Lambda::Function')
        expect(
          resourcesAllowed(
            'lambda:CreateFunction',
            `arn:aws:lambda:eu-west-1:123456789012:function:${name('FunctionName')}`,
          ),
        ).toBe(true);
      if (r.Type === 'AWS::Logs::LogGroup')
        expect(
          resourcesAllowed(
            'logs:CreateLogGroup',
            `arn:aws:logs:eu-west-1:123456789012:log-group:${name('LogGroupName')}`,
          ),
        ).toBe(true);
      if (r.Type === 'AWS::ECR::Repository')
        expect(
          resourcesAllowed(
            'ecr:CreateRepository',
            `arn:aws:ecr:eu-west-1:123456789012:repository/${name('RepositoryName')}`,
          ),
        ).toBe(true);
      if (r.Type === 'AWS::CodeBuild::Project')
        expect(
          resourcesAllowed(
            'codebuild:CreateProject',
            `arn:aws:codebuild:eu-west-1:123456789012:project/${name('Name')}`,
          ),
        ).toBe(true);
    }
    // Generated names start with the stack's name (roles, queues).
    expect(resourcesAllowed('iam:CreateRole', `arn:aws:iam::123456789012:role/${stack}-BuildRole-ABC`)).toBe(
      true,
    );
    // And nothing of another stack.
    expect(
      resourcesAllowed('lambda:DeleteFunction', 'arn:aws:lambda:eu-west-1:123456789012:function:payments'),
    ).toBe(false);
    expect(resourcesAllowed('iam:CreateRole', 'arn:aws:iam::123456789012:role/admin')).toBe(false);
  });

  it('passes roles only to the services the stack runs', () => {
    const pass = allowing('iam:PassRole');
    expect(pass).toHaveLength(1);
    expect(pass[0]?.Condition?.StringEquals?.['iam:PassedToService']).toEqual([
      'lambda.amazonaws.com',
      'codebuild.amazonaws.com',
    ]);
  });

  it("grants no service-wide wildcard, no IAM user or account action, and policy actions on the stack's policies only", () => {
    const actions = policy.Statement.flatMap((statement) => list(statement.Action));
    expect(actions.filter((action) => action === '*' || action.endsWith(':*'))).toEqual([]);
    expect(
      actions.filter((action) => /^iam:(Create|Delete|Attach|Put)(User|Group|AccessKey)/i.test(action)),
    ).toEqual([]);
    expect(resourcesAllowed('iam:CreatePolicy', 'arn:aws:iam::123456789012:policy/AdministratorAccess')).toBe(
      false,
    );
    expect(
      resourcesAllowed(
        'iam:CreatePolicy',
        'arn:aws:iam::123456789012:policy/ecr-pipeline-prod-ReleaseOperatorPolicy-X',
      ),
    ).toBe(true);
  });
});
