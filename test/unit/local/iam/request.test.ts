/**
 * The request-to-(action, resource, context) mapping of every AWS call the stack makes, on the
 * requests the SDK really sends: each command is serialized and signed by its client, captured
 * before it leaves, and mapped as the gateway maps it.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetRegistryScanningConfigurationCommand,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  PutRegistryScanningConfigurationCommand,
  PutReplicationConfigurationCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

/** The request the SDK's handler is given (@smithy/protocol-http's HttpRequest, not a direct dependency). */
interface HttpRequest {
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

import { describe, expect, it } from 'vitest';
import { registryActions } from '../../../../local/iam/registry-request.ts';
import { type ApiAction, type ApiRequest, accessKeyIdOf } from '../../../../local/iam/request.ts';
import { apiActions } from '../../../../local/iam/request-rest.ts';

const scope = { region: 'us-east-1', account: '123456789012' };
const A = `${scope.region}:${scope.account}`;
const credentials = { accessKeyId: 'ASIAEXAMPLEKEY000001', secretAccessKey: 'secret' };

class Captured extends Error {
  constructor(readonly request: HttpRequest) {
    super('captured');
  }
}

/** A client of `Client` whose requests are captured instead of sent. */
function capturing<T>(Client: new (config: object) => T, extra: object = {}): T {
  return new Client({
    region: scope.region,
    endpoint: 'http://127.0.0.1:4566',
    credentials,
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: HttpRequest) => {
        throw new Captured(request);
      },
    },
    ...extra,
  });
}

async function requestOf(
  client: { send(command: unknown): Promise<unknown> },
  command: unknown,
): Promise<ApiRequest> {
  const error = await client.send(command).catch((e: unknown) => e);
  if (!(error instanceof Captured)) throw error;
  const { request } = error;
  const query = new URLSearchParams(
    Object.entries(request.query ?? {}).flatMap(
      ([k, v]): Array<[string, string]> =>
        v === null ? [[k, '']] : (Array.isArray(v) ? v : [v]).map((item): [string, string] => [k, item]),
    ),
  ).toString();
  const body =
    typeof request.body === 'string'
      ? Buffer.from(request.body)
      : request.body instanceof Uint8Array
        ? Buffer.from(request.body)
        : undefined;
  return {
    method: request.method,
    url: `${request.path}${query ? `?${query.replace(/=(&|$)/g, '$1')}` : ''}`,
    headers: Object.fromEntries(
      Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), String(v)]),
    ),
    body,
  };
}

async function mapped(
  client: { send(command: unknown): Promise<unknown> },
  command: unknown,
): Promise<ApiAction[]> {
  return apiActions(await requestOf(client, command), scope);
}

const ecr = capturing(ECRClient);
const s3 = capturing(S3Client, { forcePathStyle: true });
const repo = (name: string) => `arn:aws:ecr:${A}:repository/${name}`;
const bucket = 'ecr-pipeline-dev-contexts-123456789012-us-east-1';

describe('request mapping: ECR', () => {
  it('maps CreateRepository to its repository with the request tags and tag keys', async () => {
    const tags = [{ Key: 'ecr-pipeline:managed-by', Value: 'ecr-pipeline-dev' }];
    expect(await mapped(ecr, new CreateRepositoryCommand({ repositoryName: 'team/app', tags }))).toEqual([
      {
        action: 'ecr:CreateRepository',
        resource: repo('team/app'),
        context: {
          'aws:tagkeys': ['ecr-pipeline:managed-by'],
          'aws:requesttag/ecr-pipeline:managed-by': 'ecr-pipeline-dev',
        },
      },
    ]);
  });

  it('maps tagging by resource ARN, with the tag keys set or removed', async () => {
    const arn = repo('team/app');
    expect(
      await mapped(
        ecr,
        new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'ecr-pipeline:stale-since', Value: 'x' }] }),
      ),
    ).toEqual([
      {
        action: 'ecr:TagResource',
        resource: arn,
        context: {
          'aws:tagkeys': ['ecr-pipeline:stale-since'],
          'aws:requesttag/ecr-pipeline:stale-since': 'x',
        },
      },
    ]);
    expect(
      await mapped(
        ecr,
        new UntagResourceCommand({ resourceArn: arn, tagKeys: ['ecr-pipeline:stale-since'] }),
      ),
    ).toEqual([
      {
        action: 'ecr:UntagResource',
        resource: arn,
        context: { 'aws:tagkeys': ['ecr-pipeline:stale-since'] },
      },
    ]);
    expect(await mapped(ecr, new ListTagsForResourceCommand({ resourceArn: arn }))).toEqual([
      { action: 'ecr:ListTagsForResource', resource: arn, context: {} },
    ]);
  });

  it('maps repository operations to the repository and registry-wide ones to *', async () => {
    const one = (action: string, resource: string) => [{ action, resource, context: {} }];
    expect(await mapped(ecr, new DescribeImagesCommand({ repositoryName: 'team/app' }))).toEqual(
      one('ecr:DescribeImages', repo('team/app')),
    );
    expect(
      await mapped(
        ecr,
        new PutLifecyclePolicyCommand({ repositoryName: 'team/app', lifecyclePolicyText: '{}' }),
      ),
    ).toEqual(one('ecr:PutLifecyclePolicy', repo('team/app')));
    expect(
      await mapped(ecr, new DeleteRepositoryCommand({ repositoryName: 'team/app', force: true })),
    ).toEqual(one('ecr:DeleteRepository', repo('team/app')));
    expect(await mapped(ecr, new DescribeRepositoriesCommand({ repositoryNames: ['a/b', 'c'] }))).toEqual([
      ...one('ecr:DescribeRepositories', repo('a/b')),
      ...one('ecr:DescribeRepositories', repo('c')),
    ]);
    expect(await mapped(ecr, new DescribeRepositoriesCommand({}))).toEqual(
      one('ecr:DescribeRepositories', repo('*')),
    );
    for (const [command, action] of [
      [new GetAuthorizationTokenCommand({}), 'ecr:GetAuthorizationToken'],
      [new DescribeRegistryCommand({}), 'ecr:DescribeRegistry'],
      [new GetRegistryScanningConfigurationCommand({}), 'ecr:GetRegistryScanningConfiguration'],
      [
        new PutRegistryScanningConfigurationCommand({ scanType: 'BASIC' }),
        'ecr:PutRegistryScanningConfiguration',
      ],
      [
        new PutReplicationConfigurationCommand({ replicationConfiguration: { rules: [] } }),
        'ecr:PutReplicationConfiguration',
      ],
    ] as const) {
      expect(await mapped(ecr, command)).toEqual(one(action, '*'));
    }
  });
});

describe('request mapping: S3', () => {
  const object = (key: string) => `arn:aws:s3:::${bucket}/${key}`;

  it('maps object reads, writes and deletes to the object, versioned reads to GetObjectVersion', async () => {
    const key = 'team/app/v1.tar';
    expect(
      await mapped(
        s3,
        new PutObjectCommand({
          Bucket: bucket,
          Key: '.ecr-pipeline/uploads/a b',
          Body: 'x',
          IfNoneMatch: '*',
        }),
      ),
    ).toEqual([{ action: 's3:PutObject', resource: object('.ecr-pipeline/uploads/a b'), context: {} }]);
    expect(await mapped(s3, new GetObjectCommand({ Bucket: bucket, Key: key }))).toEqual([
      { action: 's3:GetObject', resource: object(key), context: {} },
    ]);
    expect(await mapped(s3, new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: 'v1' }))).toEqual([
      { action: 's3:GetObjectVersion', resource: object(key), context: {} },
    ]);
    expect(await mapped(s3, new DeleteObjectCommand({ Bucket: bucket, Key: key }))).toEqual([
      { action: 's3:DeleteObject', resource: object(key), context: {} },
    ]);
  });

  it('maps a listing to the bucket with s3:prefix', async () => {
    expect(await mapped(s3, new ListObjectsV2Command({ Bucket: bucket, Prefix: 'team/' }))).toEqual([
      { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: { 's3:prefix': 'team/' } },
    ]);
  });
});

describe('request mapping: the other services the stack calls', () => {
  const one = (action: string, resource: string) => [{ action, resource, context: {} }];

  it('maps CodeBuild calls to the project, by name or build id', async () => {
    const codebuild = capturing(CodeBuildClient);
    const project = `arn:aws:codebuild:${A}:project/ecr-pipeline-dev`;
    expect(await mapped(codebuild, new StartBuildCommand({ projectName: 'ecr-pipeline-dev' }))).toEqual(
      one('codebuild:StartBuild', project),
    );
    expect(
      await mapped(codebuild, new ListBuildsForProjectCommand({ projectName: 'ecr-pipeline-dev' })),
    ).toEqual(one('codebuild:ListBuildsForProject', project));
    expect(
      await mapped(
        codebuild,
        new BatchGetBuildsCommand({
          ids: ['ecr-pipeline-dev:1', `arn:aws:codebuild:${A}:build/ecr-pipeline-dev:2`],
        }),
      ),
    ).toEqual(one('codebuild:BatchGetBuilds', project));
  });

  it('maps PutEvents to the bus of each entry (default when none)', async () => {
    const events = capturing(EventBridgeClient);
    const entries = [
      { EventBusName: 'ecr-pipeline-dev-build-rejected', Source: 's', DetailType: 'd', Detail: '{}' },
      { Source: 's', DetailType: 'd', Detail: '{}' },
    ];
    expect(await mapped(events, new PutEventsCommand({ Entries: entries }))).toEqual([
      ...one('events:PutEvents', `arn:aws:events:${A}:event-bus/ecr-pipeline-dev-build-rejected`),
      ...one('events:PutEvents', `arn:aws:events:${A}:event-bus/default`),
    ]);
  });

  it('maps SNS Publish to the topic and SQS SendMessage to the queue', async () => {
    const topic = `arn:aws:sns:${A}:ecr-pipeline-dev-events`;
    expect(await mapped(capturing(SNSClient), new PublishCommand({ TopicArn: topic, Message: 'm' }))).toEqual(
      one('sns:Publish', topic),
    );
    const queueUrl = 'http://127.0.0.1:4566/123456789012/failures';
    expect(
      await mapped(capturing(SQSClient), new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'm' })),
    ).toEqual(one('sqs:SendMessage', `arn:aws:sqs:${A}:failures`));
  });

  it('maps SSM, Secrets Manager and Logs reads to the parameter, secret and log stream', async () => {
    expect(
      await mapped(
        capturing(SSMClient),
        new GetParameterCommand({ Name: '/ecr-pipeline/dev/slack', WithDecryption: true }),
      ),
    ).toEqual(one('ssm:GetParameter', `arn:aws:ssm:${A}:parameter/ecr-pipeline/dev/slack`));
    expect(
      await mapped(
        capturing(SecretsManagerClient),
        new GetSecretValueCommand({ SecretId: '/ecr-pipeline/dev/slack' }),
      ),
    ).toEqual(
      one(
        'secretsmanager:GetSecretValue',
        `arn:aws:secretsmanager:${A}:secret:/ecr-pipeline/dev/slack-LOCAL0`,
      ),
    );
    const logs = capturing(CloudWatchLogsClient);
    expect(
      await mapped(
        logs,
        new GetLogEventsCommand({ logGroupName: '/aws/codebuild/p', logStreamName: 'uuid' }),
      ),
    ).toEqual(one('logs:GetLogEvents', `arn:aws:logs:${A}:log-group:/aws/codebuild/p:log-stream:uuid`));
  });

  it('maps the in-use checks (Lambda, ECS) and the tagging API', async () => {
    const lambda = capturing(LambdaClient);
    expect(await mapped(lambda, new ListFunctionsCommand({}))).toEqual(one('lambda:ListFunctions', '*'));
    expect(await mapped(lambda, new GetFunctionCommand({ FunctionName: 'f' }))).toEqual(
      one('lambda:GetFunction', `arn:aws:lambda:${A}:function:f`),
    );
    const ecs = capturing(ECSClient);
    expect(await mapped(ecs, new ListTaskDefinitionsCommand({}))).toEqual(
      one('ecs:ListTaskDefinitions', '*'),
    );
    expect(await mapped(ecs, new DescribeTaskDefinitionCommand({ taskDefinition: 't' }))).toEqual(
      one('ecs:DescribeTaskDefinition', '*'),
    );
    expect(await mapped(capturing(ResourceGroupsTaggingAPIClient), new GetResourcesCommand({}))).toEqual(
      one('tag:GetResources', '*'),
    );
  });

  it('maps GetCallerIdentity, which IAM does not authorize, and reads the caller from the signature', async () => {
    const request = await requestOf(capturing(STSClient), new GetCallerIdentityCommand({}));
    expect(apiActions(request, scope)).toEqual(one('sts:GetCallerIdentity', '*'));
    expect(accessKeyIdOf(request)).toBe(credentials.accessKeyId);
  });
});

describe('request mapping: the registry', () => {
  const arn = repo('team/app');
  it.each([
    ['GET', '/v2/team/app/manifests/v1', 'ecr:BatchGetImage'],
    ['HEAD', '/v2/team/app/manifests/v1', 'ecr:BatchGetImage'],
    ['GET', '/v2/team/app/blobs/sha256:ab', 'ecr:GetDownloadUrlForLayer'],
    ['HEAD', '/v2/team/app/blobs/sha256:ab', 'ecr:BatchCheckLayerAvailability'],
    ['POST', '/v2/team/app/blobs/uploads/', 'ecr:InitiateLayerUpload'],
    ['PATCH', '/v2/team/app/blobs/uploads/uuid', 'ecr:UploadLayerPart'],
    ['PUT', '/v2/team/app/blobs/uploads/uuid?digest=sha256:ab', 'ecr:CompleteLayerUpload'],
    ['PUT', '/v2/team/app/manifests/v1', 'ecr:PutImage'],
    ['GET', '/v2/team/app/tags/list', 'ecr:ListImages'],
  ])('maps %s %s to %s on the repository', (method, url, action) => {
    expect(registryActions(method, url, scope)).toEqual([{ action, resource: arn, context: {} }]);
  });

  it('asks nothing of the version check /v2/', () => {
    expect(registryActions('GET', '/v2/', scope)).toEqual([]);
  });
});
