import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { findImagesInUse, parseImageUri } from '../../../../functions/ecr-events/sweep/in-use.ts';

const digest = `sha256:${'c'.repeat(64)}`;

describe('ECR image references', () => {
  it.each([
    [
      'by tag',
      '123456789012.dkr.ecr.us-west-2.amazonaws.com/web:v1',
      { repository: 'web', tag: 'v1', digest: undefined },
    ],
    [
      'by digest',
      `123456789012.dkr.ecr.us-west-2.amazonaws.com/team/web@${digest}`,
      { repository: 'team/web', tag: undefined, digest },
    ],
    [
      'by tag and digest',
      `123456789012.dkr.ecr.us-west-2.amazonaws.com/a/b/c:v2@${digest}`,
      { repository: 'a/b/c', tag: 'v2', digest },
    ],
    [
      'without a tag',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/web',
      { repository: 'web', tag: undefined },
    ],
    ['in China', '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web:v1', { repository: 'web', tag: 'v1' }],
    [
      'through a FIPS endpoint',
      '123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/web:v1',
      { repository: 'web' },
    ],
  ])('reads a reference %s', (_, uri, expected) => {
    expect(parseImageUri(uri, 'lambda:f')).toMatchObject({
      registry: '123456789012',
      user: 'lambda:f',
      ...expected,
    });
  });

  it.each(['nginx:latest', 'public.ecr.aws/nginx/nginx:1.27', 'ghcr.io/org/app@sha256:abc', ''])(
    'ignores an image outside private ECR (%s)',
    (uri) => {
      expect(parseImageUri(uri, 'ecs:web:1')).toBeUndefined();
    },
  );

  it.each([
    ['a registry id that is not 12 digits', '12345678901.dkr.ecr.us-west-2.amazonaws.com/web:v1'],
    ['text before the registry', `x123456789012.dkr.ecr.us-west-2.amazonaws.com/web:v1`],
    ['text after the digest', `123456789012.dkr.ecr.us-west-2.amazonaws.com/web@${digest}x`],
    ['a short digest', '123456789012.dkr.ecr.us-west-2.amazonaws.com/web@sha256:abc'],
    ['another host', '123456789012.dkr.ecr.us-west-2.example.com/web:v1'],
    ['no repository', '123456789012.dkr.ecr.us-west-2.amazonaws.com/'],
  ])('ignores %s', (_, uri) => {
    expect(parseImageUri(uri, 'lambda:f')).toBeUndefined();
  });

  it('reads a reference with spaces around it', () => {
    expect(parseImageUri(' 123456789012.dkr.ecr.us-west-2.amazonaws.com/web:v1\n', 'lambda:f')).toMatchObject(
      {
        repository: 'web',
        tag: 'v1',
      },
    );
  });
});

describe('images in use', () => {
  const lambda = new LambdaClient({ region: 'us-west-2' });
  const ecs = new ECSClient({ region: 'us-west-2' });
  const lambdaMock = mockClient(lambda);
  const ecsMock = mockClient(ecs);
  const registry = '123456789012.dkr.ecr.us-west-2.amazonaws.com';
  const taskArn = (family: string, revision: number) =>
    `arn:aws:ecs:us-west-2:123456789012:task-definition/${family}:${revision}`;

  beforeEach(() => {
    lambdaMock.reset();
    ecsMock.reset();
    lambdaMock.on(ListFunctionsCommand).resolves({ Functions: [] });
    ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
  });

  it('groups by repository what image functions run, by their image and their resolved image, zip functions not asked', async () => {
    lambdaMock.on(ListFunctionsCommand).resolves({
      Functions: [
        { FunctionName: 'api', PackageType: 'Image' },
        { FunctionName: 'zip', PackageType: 'Zip' },
        { PackageType: 'Image' },
      ],
    });
    lambdaMock.on(GetFunctionCommand, { FunctionName: 'api' }).resolves({
      Code: {
        ImageUri: `${registry}/web:v1`,
        ResolvedImageUri: `${registry}/web@${digest}`,
      },
    });
    const used = await findImagesInUse({ lambda, ecs, concurrency: 2 });
    expect([...used.entries()]).toEqual([
      [
        'web',
        [
          { registry: '123456789012', repository: 'web', tag: 'v1', digest: undefined, user: 'lambda:api' },
          { registry: '123456789012', repository: 'web', tag: undefined, digest, user: 'lambda:api' },
        ],
      ],
    ]);
    expect(lambdaMock).toHaveReceivedCommandTimes(GetFunctionCommand, 1);
    expect(lambdaMock).toHaveReceivedCommandWith(ListFunctionsCommand, { MaxItems: 50 });
  });

  it('skips a function whose code names no image', async () => {
    lambdaMock
      .on(ListFunctionsCommand)
      .resolves({ Functions: [{ FunctionName: 'api', PackageType: 'Image' }] });
    lambdaMock.on(GetFunctionCommand).resolves({ Code: {} });
    expect((await findImagesInUse({ lambda, ecs, concurrency: 1 })).size).toBe(0);
  });

  it('reads every ACTIVE task definition, naming its family and revision, and skips images outside private ECR', async () => {
    ecsMock
      .on(ListTaskDefinitionsCommand)
      .resolvesOnce({ taskDefinitionArns: [taskArn('web', 3)], nextToken: 'n2' })
      .resolvesOnce({ taskDefinitionArns: [taskArn('jobs', 1)] });
    ecsMock.on(DescribeTaskDefinitionCommand, { taskDefinition: taskArn('web', 3) }).resolves({
      taskDefinition: {
        family: 'web',
        revision: 3,
        containerDefinitions: [
          { name: 'app', image: `${registry}/web:v2` },
          { name: 'proxy', image: 'nginx:latest' },
          { name: 'sidecar' },
        ],
      },
    });
    ecsMock.on(DescribeTaskDefinitionCommand, { taskDefinition: taskArn('jobs', 1) }).resolves({
      taskDefinition: { containerDefinitions: [{ name: 'job', image: `${registry}/jobs:v1` }] },
    });
    const used = await findImagesInUse({ lambda, ecs, concurrency: 1 });
    expect(used.get('web')).toEqual([
      { registry: '123456789012', repository: 'web', tag: 'v2', digest: undefined, user: 'ecs:web:3' },
    ]);
    expect(used.get('jobs')?.map((ref) => ref.user)).toEqual([`ecs:${taskArn('jobs', 1)}:?`]);
    expect(used.has('nginx')).toBe(false);
    expect(ecsMock).toHaveReceivedNthCommandWith(ListTaskDefinitionsCommand, 1, {
      status: 'ACTIVE',
      maxResults: 100,
    });
    expect(ecsMock).toHaveReceivedNthCommandWith(ListTaskDefinitionsCommand, 2, { nextToken: 'n2' });
  });

  it('keeps every reference to one repository, from functions and task definitions alike', async () => {
    lambdaMock
      .on(ListFunctionsCommand)
      .resolves({ Functions: [{ FunctionName: 'api', PackageType: 'Image' }] });
    lambdaMock.on(GetFunctionCommand).resolves({ Code: { ImageUri: `${registry}/web:v1` } });
    ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [taskArn('web', 1)] });
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { family: 'web', revision: 1, containerDefinitions: [{ image: `${registry}/web:v2` }] },
    });
    const used = await findImagesInUse({ lambda, ecs, concurrency: 1 });
    expect(used.get('web')?.map((ref) => `${ref.user} ${ref.tag}`)).toEqual([
      'lambda:api v1',
      'ecs:web:1 v2',
    ]);
  });

  it('reads empty listings and descriptions without failing', async () => {
    lambdaMock.on(ListFunctionsCommand).resolves({});
    ecsMock.on(ListTaskDefinitionsCommand).resolves({});
    expect((await findImagesInUse({ lambda, ecs, concurrency: 1 })).size).toBe(0);
    expect(lambdaMock).not.toHaveReceivedCommand(GetFunctionCommand);
    expect(ecsMock).not.toHaveReceivedCommand(DescribeTaskDefinitionCommand);
  });

  it('reads a function without code and a task definition ECS does not describe', async () => {
    lambdaMock
      .on(ListFunctionsCommand)
      .resolves({ Functions: [{ FunctionName: 'api', PackageType: 'Image' }] });
    lambdaMock.on(GetFunctionCommand).resolves({});
    ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [taskArn('web', 1)] });
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({});
    expect((await findImagesInUse({ lambda, ecs, concurrency: 1 })).size).toBe(0);
    expect(ecsMock).toHaveReceivedCommandTimes(DescribeTaskDefinitionCommand, 1);
  });
});
