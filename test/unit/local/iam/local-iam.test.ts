/**
 * The local cloud's IAM as the gateway and the registry front use it: role credentials versus the
 * console's, AWS's denial message, `--iam off`, registry passwords that name their holder, and the
 * repository tags read once and forgotten when an ECR call changes them.
 */
import { describe, expect, it } from 'vitest';
import { LocalIam } from '../../../../local/iam/index.ts';
import type { IamModel } from '../../../../local/iam/model.ts';
import type { ApiRequest } from '../../../../local/iam/request.ts';

const scope = { region: 'us-east-1', account: '123456789012' };
const repo = 'arn:aws:ecr:us-east-1:123456789012:repository/team/app';
const roleArn = 'arn:aws:iam::123456789012:role/stack-BuildRole';

const model: IamModel = {
  roles: [
    {
      logicalId: 'BuildRole',
      arn: roleArn,
      name: 'stack-BuildRole',
      policies: [
        {
          name: 'BuildRole/build',
          kind: 'identity',
          document: {
            Statement: [
              {
                Sid: 'ManagedRepositories',
                Effect: 'Allow',
                Action: ['ecr:DescribeImages', 'ecr:PutImage'],
                Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/*',
                Condition: { StringEquals: { 'ecr:ResourceTag/ecr-pipeline:managed-by': 'stack' } },
              },
            ],
          },
        },
      ],
    },
  ],
  resourcePolicies: [],
  functionRoles: {},
  projectRoles: { project: roleArn },
};

function setUp(enforce = true) {
  let tags: Record<string, string> = { 'ecr-pipeline:managed-by': 'stack' };
  const reads: string[] = [];
  const iam = new LocalIam({
    scope,
    enforce,
    resourceTags: async (arn) => {
      reads.push(arn);
      return tags;
    },
  });
  iam.useModel(model);
  const principal = iam.credentialsOf('project', 'project', 'AWSCodeBuild-project');
  if (!principal) throw new Error('no principal');
  const describeImages = (accessKeyId: string): ApiRequest => ({
    method: 'POST',
    url: '/',
    headers: {
      'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeImages',
      authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20261201/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=x`,
    },
    body: Buffer.from(JSON.stringify({ repositoryName: 'team/app' })),
  });
  const retag = (value: Record<string, string>) => {
    tags = value;
  };
  return { iam, principal, describeImages, reads, retag };
}

describe('LocalIam', () => {
  it('allows a role what its policy grants on a repository tagged as the stack’s', async () => {
    const { iam, principal, describeImages } = setUp();
    expect(await iam.authorize(describeImages(principal.accessKeyId))).toBeUndefined();
    expect(iam.report()[0]?.used).toEqual([
      { action: 'ecr:DescribeImages', count: 1, allowedBy: ['BuildRole/build#ManagedRepositories'] },
    ]);
  });

  it('reads a repository’s tags once, and again after an ECR call changed them', async () => {
    const { iam, principal, describeImages, reads, retag } = setUp();
    await iam.authorize(describeImages(principal.accessKeyId));
    await iam.authorize(describeImages(principal.accessKeyId));
    expect(reads).toEqual([repo]);
    retag({ 'ecr-pipeline:managed-by': 'another-stack' });
    iam.ecrAnswered('TagResource', { resourceArn: repo });
    const denial = await iam.authorize(describeImages(principal.accessKeyId));
    expect(reads).toEqual([repo, repo]);
    expect(denial?.message).toBe(
      `User: arn:aws:sts::123456789012:assumed-role/stack-BuildRole/AWSCodeBuild-project is not authorized to perform: ecr:DescribeImages on resource: ${repo} because no identity-based policy allows the ecr:DescribeImages action`,
    );
  });

  it('lets the console’s credentials do anything, and everyone when enforcement is off', async () => {
    const { iam, describeImages, retag } = setUp();
    retag({});
    expect(await iam.authorize(describeImages('test'))).toBeUndefined();
    const off = setUp(false);
    off.retag({});
    expect(await off.iam.authorize(off.describeImages(off.principal.accessKeyId))).toBeUndefined();
  });

  it('gives registry passwords that name their holder, and refuses a forged one', async () => {
    const { iam, principal } = setUp();
    const answer = iam.registryToken(
      { authorizationData: [{ authorizationToken: 'moto' }] },
      principal.accessKeyId,
    ) as {
      authorizationData: Array<{ authorizationToken: string }>;
    };
    const password = Buffer.from(answer.authorizationData[0]?.authorizationToken ?? '', 'base64')
      .toString('utf8')
      .replace(/^AWS:/, '');
    expect(iam.registryCaller(password)).toEqual({ kind: 'role', principal });
    expect(iam.registryCaller(iam.consolePassword())).toEqual({ kind: 'console' });
    const forged = `${Buffer.from('test').toString('base64url')}.${password.split('.')[1]}`;
    expect(iam.registryCaller(forged)).toBeUndefined();
    const caller = iam.registryCaller(password);
    if (!caller) throw new Error('no caller');
    expect(await iam.authorizeRegistry(caller, 'PUT', '/v2/team/app/manifests/v1')).toBeUndefined();
    expect((await iam.authorizeRegistry(caller, 'DELETE', '/v2/team/app/manifests/v1'))?.action).toBe(
      'ecr:BatchDeleteImage',
    );
  });

  it('sends a failed invocation to its on-failure destination only when the function’s role may', async () => {
    const queue = 'arn:aws:sqs:us-east-1:123456789012:stack-failures';
    const functionRole = (actions: string[]): IamModel => ({
      ...model,
      roles: [
        {
          logicalId: 'TriggerRole',
          arn: 'arn:aws:iam::123456789012:role/stack-TriggerRole',
          name: 'stack-TriggerRole',
          policies: [
            {
              name: 'TriggerRole/trigger',
              kind: 'identity' as const,
              document: {
                Statement: [{ Sid: 'Failures', Effect: 'Allow' as const, Action: actions, Resource: queue }],
              },
            },
          ],
        },
      ],
      functionRoles: { trigger: 'arn:aws:iam::123456789012:role/stack-TriggerRole' },
    });
    const { iam } = setUp();
    iam.useModel(functionRole(['sqs:SendMessage']));
    expect(await iam.authorizeDestination('trigger', 'stack-trigger', queue)).toBeUndefined();
    const narrow = setUp();
    narrow.iam.useModel(functionRole(['sqs:GetQueueUrl']));
    const denial = await narrow.iam.authorizeDestination('trigger', 'stack-trigger', queue);
    expect(denial?.message).toBe(
      `User: arn:aws:sts::123456789012:assumed-role/stack-TriggerRole/stack-trigger is not authorized to perform: sqs:SendMessage on resource: ${queue} because no identity-based policy allows the sqs:SendMessage action`,
    );
    const off = setUp(false);
    off.iam.useModel(functionRole([]));
    expect(await off.iam.authorizeDestination('trigger', 'stack-trigger', queue)).toBeUndefined();
  });
});
