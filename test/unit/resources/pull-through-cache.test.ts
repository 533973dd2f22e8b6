/**
 * resources/pull-through-cache.cjs, the packaging-time module behind `pullThroughCache`, called as
 * serverless calls it (`${file(...):name}` resolves each name of what it returns): the rules, their
 * creation templates, the build's mirror list and the IAM statements, and the refusals. The packaged
 * template is checked by test/template/build-speed.test.ts; these run in milliseconds.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

type Fragment = {
  resources: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  mirrors: string;
  buildPull: unknown;
  buildNoPush: unknown;
  endpointImport: unknown;
  triggerNoCreate: unknown;
};
const pullThroughCache = createRequire(import.meta.url)(
  '../../../resources/pull-through-cache.cjs',
) as (ctx: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<Fragment>;

const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCd';
const SELF = { 'self:service': 'ecr-pipeline', 'sls:stage': 'dev', 'param:untaggedExpiryDays': '7' };

/** The module's answer for these parameters (`param:<name>`), as serverless resolves them. */
const fragment = (params: Record<string, unknown>) =>
  pullThroughCache({
    resolveVariable: async (name) =>
      ({ ...SELF, ...Object.fromEntries(Object.entries(params).map(([k, v]) => [`param:${k}`, v])) })[name],
  });

const repo = (name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ecr:\${AWS::Region}:\${AWS::AccountId}:repository/${name}`,
});
const PULL = ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];
const PUSH = ['ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage'];
const ABSENT = { Ref: 'AWS::NoValue' };
const only = (statement: unknown) => ({ 'Fn::If': ['PullsThroughCache', statement, ABSENT] });

describe('pull-through cache rules at packaging', () => {
  it('creates one rule per upstream with its registry, Docker Hub with its secret, listed once each', async () => {
    const found = await fragment({
      pullThroughCache: ' quay , docker-hub,,quay,ecr-public,k8s ',
      dockerHubCredentialSecret: SECRET,
    });
    const rules = Object.entries(found.resources.Resources).filter(
      ([, r]) => r.Type === 'AWS::ECR::PullThroughCacheRule',
    );
    expect(Object.fromEntries(rules.map(([id, r]) => [id, r.Properties]))).toEqual({
      PullThroughCacheQuay: {
        EcrRepositoryPrefix: 'quay',
        UpstreamRegistry: 'quay',
        UpstreamRegistryUrl: 'quay.io',
      },
      PullThroughCacheDockerHub: {
        EcrRepositoryPrefix: 'docker-hub',
        UpstreamRegistry: 'docker-hub',
        UpstreamRegistryUrl: 'registry-1.docker.io',
        CredentialArn: SECRET,
      },
      PullThroughCacheEcrPublic: {
        EcrRepositoryPrefix: 'ecr-public',
        UpstreamRegistry: 'ecr-public',
        UpstreamRegistryUrl: 'public.ecr.aws',
      },
      PullThroughCacheK8s: {
        EcrRepositoryPrefix: 'k8s',
        UpstreamRegistry: 'k8s',
        UpstreamRegistryUrl: 'registry.k8s.io',
      },
    });
    expect(found.mirrors).toBe(
      'quay.io=quay,docker.io=docker-hub,public.ecr.aws=ecr-public,registry.k8s.io=k8s',
    );
  });

  it("gives each rule's repositories a creation template of ours: mutable, AES256, untagged expire, tagged as a cache", async () => {
    const found = await fragment({ pullThroughCache: 'quay', untaggedExpiryDays: '3' });
    expect(found.resources.Resources.PullThroughCacheTemplateQuay).toEqual({
      Type: 'AWS::ECR::RepositoryCreationTemplate',
      Properties: {
        Prefix: 'quay',
        Description: 'ecr-pipeline-dev: repositories of the quay pull-through cache',
        AppliedFor: ['PULL_THROUGH_CACHE'],
        ImageTagMutability: 'MUTABLE',
        EncryptionConfiguration: { EncryptionType: 'AES256' },
        LifecyclePolicy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: 'Expire untagged cached layers',
              selection: {
                tagStatus: 'untagged',
                countType: 'sinceImagePushed',
                countUnit: 'days',
                countNumber: 3,
              },
              action: { type: 'expire' },
            },
          ],
        }),
        ResourceTags: [{ Key: 'ecr-pipeline:pull-through-cache', Value: 'ecr-pipeline-dev' }],
      },
    });
  });

  it('lets the build pull and import under the prefixes only, never push there, and build-trigger never create there', async () => {
    const found = await fragment({ pullThroughCache: 'quay,k8s' });
    const cached = [repo('quay/*'), repo('k8s/*')];
    expect(found.buildPull).toEqual(
      only({
        Sid: 'PullThroughCache',
        Effect: 'Allow',
        Action: [...PULL, 'ecr:BatchImportUpstreamImage', 'ecr:CreateRepository'],
        Resource: cached,
      }),
    );
    expect(found.buildNoPush).toEqual(
      only({ Sid: 'NeverPushIntoPullThroughCache', Effect: 'Deny', Action: PUSH, Resource: cached }),
    );
    expect(found.endpointImport).toEqual(
      only({
        Sid: 'PullThroughCacheImport',
        Effect: 'Allow',
        Principal: { AWS: [{ 'Fn::GetAtt': ['BuildSessionRole', 'Arn'] }] },
        Action: 'ecr:BatchImportUpstreamImage',
        Resource: cached,
      }),
    );
    expect(found.triggerNoCreate).toEqual(
      only({
        Sid: 'NeverCreateInPullThroughCache',
        Effect: 'Deny',
        Action: 'ecr:CreateRepository',
        Resource: cached,
      }),
    );
  });

  it('adds nothing without pullThroughCache: no resource, no mirror, every statement left out whole', async () => {
    for (const pullThroughCache of ['', ' , ', undefined]) {
      const found = await fragment({ pullThroughCache, dockerHubCredentialSecret: undefined });
      expect(found.resources).toEqual({ Resources: {} });
      expect(found.mirrors).toBe('');
      const none = { 'Fn::If': ['PullsThroughCache', ABSENT, ABSENT] };
      for (const statement of [
        found.buildPull,
        found.buildNoPush,
        found.endpointImport,
        found.triggerNoCreate,
      ])
        expect(statement).toEqual(none);
    }
  });

  it.each([
    [
      { pullThroughCache: 'constructor,toString' },
      'pullThroughCache: unknown upstream constructor, toString (use ecr-public, quay, k8s, docker-hub)',
    ],
    [
      { pullThroughCache: 'ghcr,quay,gcr' },
      'pullThroughCache: unknown upstream ghcr, gcr (use ecr-public, quay, k8s, docker-hub)',
    ],
    [
      { pullThroughCache: 'docker-hub' },
      'pullThroughCache=docker-hub needs dockerHubCredentialSecret: the ARN of a Secrets Manager secret whose name starts with ecr-pullthroughcache/, got ""',
    ],
    [
      {
        pullThroughCache: 'docker-hub',
        dockerHubCredentialSecret: SECRET.replace('ecr-pullthroughcache/', 'other/'),
      },
      'pullThroughCache=docker-hub needs dockerHubCredentialSecret',
    ],
    [
      { pullThroughCache: 'docker-hub', dockerHubCredentialSecret: `x${SECRET}` },
      'pullThroughCache=docker-hub needs dockerHubCredentialSecret',
    ],
    [
      { pullThroughCache: 'docker-hub', dockerHubCredentialSecret: `${SECRET}!` },
      'pullThroughCache=docker-hub needs dockerHubCredentialSecret',
    ],
    [
      {
        pullThroughCache: 'docker-hub',
        dockerHubCredentialSecret: SECRET.replace(':123456789012:', ':1234:'),
      },
      'pullThroughCache=docker-hub needs dockerHubCredentialSecret',
    ],
    [
      { pullThroughCache: 'quay', dockerHubCredentialSecret: SECRET },
      'dockerHubCredentialSecret is set but pullThroughCache does not list docker-hub',
    ],
  ])('refuses %j: %s', async (params, message) => {
    await expect(fragment(params)).rejects.toThrow(`pull-through cache parameters: ${message}`);
  });

  it('says every problem at once, and takes a secret of another partition and region', async () => {
    await expect(fragment({ pullThroughCache: 'ghcr,docker-hub' })).rejects.toThrow(
      /unknown upstream ghcr .*; pullThroughCache=docker-hub needs dockerHubCredentialSecret/,
    );
    const china = 'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:ecr-pullthroughcache/hub_1+=.@-x';
    const found = await fragment({ pullThroughCache: 'docker-hub', dockerHubCredentialSecret: ` ${china} ` });
    expect(found.resources.Resources.PullThroughCacheDockerHub?.Properties.CredentialArn).toBe(china);
  });
});
