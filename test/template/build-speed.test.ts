// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript templates
/**
 * The build start tiers (buildCompute) and the pull-through cache rules (pullThroughCache), on the
 * packaged template of each combination with the private-networking options.
 */
import { describe, expect, it } from 'vitest';
import {
  created,
  granted,
  itLintsClean,
  list,
  packagedWith,
  packageWith,
  readTemplate,
  resolve,
  resource,
  type Statement,
  statement,
  type Template,
} from './template.ts';

const IN_VPC = { vpcId: 'vpc-0123456789abcdef0', buildSubnetIds: 'subnet-0123456789abcdef0' };
const ENDPOINTS = { vpcEndpoints: 'true', routeTableIds: 'rtb-0123456789abcdef0' };
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf';
const ALL_UPSTREAMS = {
  pullThroughCache: 'ecr-public,quay,k8s,docker-hub',
  dockerHubCredentialSecret: SECRET,
};
const repo = (name: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ecr:\${AWS::Region}:\${AWS::AccountId}:repository/${name}`,
});

const environment = (template: Template) => resource(template, 'BuildProject').Properties?.Environment;
const projectVariable = (template: Template, name: string) =>
  (environment(template).EnvironmentVariables as { Name: string; Value: unknown }[]).find(
    (v) => v.Name === name,
  )?.Value;
const ofType = (template: Template, type: string) =>
  Object.entries(created(template)).filter(([, r]) => r.Type === type);

describe('on-demand builds and no pull-through cache (the defaults)', () => {
  const template = readTemplate();

  it('names neither a Docker server nor a fleet, and the build keeps its registry cache', () => {
    expect(resolve(template, environment(template).DockerServer)).toBeUndefined();
    expect(resolve(template, environment(template).Fleet)).toBeUndefined();
    expect(ofType(template, 'AWS::CodeBuild::Fleet')).toEqual([]);
    expect(projectVariable(template, 'BUILD_COMPUTE')).toBe('on-demand');
  });

  it('creates no pull-through cache rule and grants no import', () => {
    expect(ofType(template, 'AWS::ECR::PullThroughCacheRule')).toEqual([]);
    expect(projectVariable(template, 'PULL_THROUGH_CACHE')).toBe('');
    for (const role of ['BuildRole', 'BuildSessionRole'])
      expect(JSON.stringify(granted(template, role))).not.toContain('BatchImportUpstreamImage');
  });
});

describe('a Docker server in the VPC, with every pull-through cache rule', () => {
  const template = packagedWith({ buildCompute: 'docker-server', ...IN_VPC, ...ALL_UPSTREAMS });

  it("gives the project a Docker server whose group admits the build's group on port 9876 only", () => {
    expect(resolve(template, environment(template).DockerServer)).toEqual({
      ComputeType: 'BUILD_GENERAL1_SMALL',
      SecurityGroupIds: [
        {
          'Fn::If': [
            'UsesDockerServer',
            { 'Fn::GetAtt': ['DockerServerSecurityGroup', 'GroupId'] },
            { Ref: 'AWS::NoValue' },
          ],
        },
      ],
    });
    expect(resource(template, 'DockerServerSecurityGroup').Properties?.SecurityGroupIngress).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 9876,
        ToPort: 9876,
        SourceSecurityGroupId: { 'Fn::GetAtt': ['BuildSecurityGroup', 'GroupId'] },
      }),
    ]);
    expect(projectVariable(template, 'BUILD_COMPUTE')).toBe('docker-server');
  });

  it('creates one rule per upstream, Docker Hub with its ecr-pullthroughcache/ secret', () => {
    const rules = Object.fromEntries(
      ofType(template, 'AWS::ECR::PullThroughCacheRule').map(([, r]) => [
        r.Properties?.EcrRepositoryPrefix,
        r.Properties,
      ]),
    );
    expect(Object.keys(rules).sort()).toEqual(['docker-hub', 'ecr-public', 'k8s', 'quay']);
    expect(rules['docker-hub']).toEqual({
      EcrRepositoryPrefix: 'docker-hub',
      UpstreamRegistry: 'docker-hub',
      UpstreamRegistryUrl: 'registry-1.docker.io',
      CredentialArn: SECRET,
    });
    expect(rules.quay?.CredentialArn).toBeUndefined();
    expect(projectVariable(template, 'PULL_THROUGH_CACHE')).toBe(
      'public.ecr.aws=ecr-public,quay.io=quay,registry.k8s.io=k8s,docker.io=docker-hub',
    );
  });

  it('lets the build session pull and import through the rule prefixes only, and never push there', () => {
    // The build's ECR calls use its session's credentials: BuildSessionRole is their ceiling, and
    // CodeBuild's own role gets nothing of the cache.
    expect(JSON.stringify(granted(template, 'BuildRole'))).not.toContain('BatchImportUpstreamImage');
    const statements = granted(template, 'BuildSessionRole');
    const prefixes = ['ecr-public/*', 'quay/*', 'k8s/*', 'docker-hub/*'].map(repo);
    expect(statement(statements, 'PullThroughCache')).toEqual({
      Sid: 'PullThroughCache',
      Effect: 'Allow',
      Action: [
        'ecr:BatchCheckLayerAvailability',
        'ecr:BatchGetImage',
        'ecr:GetDownloadUrlForLayer',
        'ecr:BatchImportUpstreamImage',
        'ecr:CreateRepository',
      ],
      Resource: prefixes,
    });
    const deny = statement(statements, 'NeverPushIntoPullThroughCache');
    expect(deny.Effect).toBe('Deny');
    expect(list(deny.Action)).toEqual(expect.arrayContaining(['ecr:PutImage', 'ecr:InitiateLayerUpload']));
    expect(deny.Resource).toEqual(prefixes);
    expect(statement(granted(template, 'BuildTriggerRole'), 'NeverCreateInPullThroughCache')).toMatchObject({
      Effect: 'Deny',
      Action: 'ecr:CreateRepository',
      Resource: prefixes,
    });
  });

  it('gives the cached repositories settings of ours, tagged as a cache and never as managed', () => {
    const templates = ofType(template, 'AWS::ECR::RepositoryCreationTemplate').map(([, r]) => r.Properties);
    expect(templates.map((t) => t?.Prefix).sort()).toEqual(['docker-hub', 'ecr-public', 'k8s', 'quay']);
    for (const t of templates) {
      expect(t?.AppliedFor).toEqual(['PULL_THROUGH_CACHE']);
      expect(t?.EncryptionConfiguration).toEqual({ EncryptionType: 'AES256' });
      expect(JSON.stringify(t?.ResourceTags)).not.toContain('managed-by');
      expect(JSON.parse(t?.LifecyclePolicy).rules[0].selection.tagStatus).toBe('untagged');
    }
  });

  itLintsClean(template);
});

describe('fleets for both architectures, in the VPC with endpoints and a pull-through cache', () => {
  const template = packagedWith({
    buildCompute: 'fleet',
    fleetArchitectures: 'x86_64,arm64',
    fleetBaseCapacity: '2',
    ...IN_VPC,
    ...ENDPOINTS,
    pullThroughCache: 'quay',
  });

  it('creates a fleet per architecture with its base capacity and on-demand overflow', () => {
    const fleets = Object.fromEntries(ofType(template, 'AWS::CodeBuild::Fleet'));
    expect(Object.keys(fleets).sort()).toEqual(['BuildFleetArm64', 'BuildFleetX86']);
    expect(fleets.BuildFleetX86?.Properties).toMatchObject({
      EnvironmentType: 'LINUX_CONTAINER',
      BaseCapacity: 2,
      OverflowBehavior: 'ON_DEMAND',
    });
    expect(fleets.BuildFleetArm64?.Properties?.EnvironmentType).toBe('ARM_CONTAINER');
    // In the VPC: the build's subnets and groups, through a role of its own.
    expect(resolve(template, fleets.BuildFleetX86?.Properties?.FleetVpcConfig)).toMatchObject({
      Subnets: ['subnet-0123456789abcdef0'],
    });
    expect(resolve(template, fleets.BuildFleetX86?.Properties?.FleetServiceRole)).toEqual({
      'Fn::GetAtt': ['BuildFleetRole', 'Arn'],
    });
  });

  it("runs the project on its own architecture's fleet", () => {
    expect(resolve(template, environment(template).Fleet)).toEqual({
      FleetArn: { 'Fn::GetAtt': ['BuildFleetX86', 'Arn'] },
    });
    expect(resolve(template, environment(template).DockerServer)).toBeUndefined();
    expect(projectVariable(template, 'BUILD_COMPUTE')).toBe('fleet');
  });

  it("lets the ECR endpoints carry the build's imports through the rule's prefix only", () => {
    const policy = resource(template, 'EcrApiEndpoint').Properties?.PolicyDocument.Statement as unknown[];
    const imports = policy
      .map((s) => resolve(template, s) as Statement)
      .find((s) => s?.Sid === 'PullThroughCacheImport');
    expect(imports).toMatchObject({
      Principal: { AWS: [{ 'Fn::GetAtt': ['BuildSessionRole', 'Arn'] }] },
      Action: 'ecr:BatchImportUpstreamImage',
      Resource: [repo('quay/*')],
    });
  });

  itLintsClean(template);
});

describe('an arm64 fleet outside any VPC', () => {
  const template = packagedWith({
    buildCompute: 'fleet',
    fleetArchitectures: 'arm64',
    buildEnvironmentType: 'ARM_CONTAINER',
    buildImage: 'aws/codebuild/amazonlinux-aarch64-standard:3.0',
  });

  it('creates the arm64 fleet only, with no network role', () => {
    expect(ofType(template, 'AWS::CodeBuild::Fleet').map(([id]) => id)).toEqual(['BuildFleetArm64']);
    expect(created(template).BuildFleetRole).toBeUndefined();
    expect(resolve(template, environment(template).Fleet)).toEqual({
      FleetArn: { 'Fn::GetAtt': ['BuildFleetArm64', 'Arn'] },
    });
  });

  itLintsClean(template);
});

describe('combinations that cannot work fail the packaging with a message that names the parameter', () => {
  const refusal = (params: Record<string, string>) => {
    try {
      packageWith(params);
    } catch (error) {
      return String(error);
    }
    return 'packaged';
  };

  it.each([
    [{ buildCompute: 'docker-server' }, 'buildCompute=docker-server needs vpcId and buildSubnetIds'],
    [{ buildCompute: 'warm' }, 'buildCompute must be one of on-demand, docker-server, fleet'],
    [{ buildCompute: 'fleet', fleetArchitectures: 'arm64' }, 'fleetArchitectures must include x86_64'],
    [{ buildCompute: 'fleet', fleetBaseCapacity: '0' }, 'fleetBaseCapacity must be a whole number'],
    [{ pullThroughCache: 'ghcr' }, 'pullThroughCache: unknown upstream ghcr'],
    [{ pullThroughCache: 'docker-hub' }, 'pullThroughCache=docker-hub needs dockerHubCredentialSecret'],
    [
      {
        pullThroughCache: 'docker-hub',
        dockerHubCredentialSecret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:docker-hub-AbCdEf',
      },
      'whose name starts with ecr-pullthroughcache/',
    ],
    [
      { dockerHubCredentialSecret: SECRET },
      'dockerHubCredentialSecret is set but pullThroughCache does not list docker-hub',
    ],
  ])(
    'refuses %j',
    (params, message) => {
      expect(refusal(params)).toContain(message);
    },
    120_000,
  );
});
