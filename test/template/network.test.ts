// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript templates
import { describe, expect, it } from 'vitest';
import {
  created,
  deployedStatements,
  granted,
  holds,
  itLintsClean,
  list,
  packagedWith,
  packageWith,
  readTemplate,
  resource,
  type Statement,
  statement,
  type Template,
} from './template.ts';

const VPC = 'vpc-0123456789abcdef0';
const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'];
const IN_VPC = {
  vpcId: VPC,
  buildSubnetIds: SUBNETS.join(', '),
  buildSecurityGroupIds: 'sg-0aaaaaaaaaaaaaaaa',
};
const ENDPOINTS = { vpcEndpoints: 'true', routeTableIds: 'rtb-0123456789abcdef0' };
const subnetArn = (id: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:ec2:\${AWS::Region}:\${AWS::AccountId}:subnet/${id}`,
});
const BUILD_GROUP = { 'Fn::GetAtt': ['BuildSecurityGroup', 'GroupId'] };
const FUNCTION_GROUP = { 'Fn::GetAtt': ['FunctionSecurityGroup', 'GroupId'] };
const ROLES = ['BuildRole', 'BuildSessionRole', 'BuildTriggerRole', 'EcrEventsRole'];

const bucketPolicy = (template: Template) =>
  deployedStatements(
    template,
    resource(template, 'ContextBucketPolicy').Properties?.PolicyDocument.Statement,
  );

/** The VPC configuration a deployment gives the build (Fn::If resolved). */
function buildVpcConfig(template: Template) {
  const config = resource(template, 'BuildProject').Properties?.VpcConfig;
  const [condition, yes] = config['Fn::If'];
  return holds(template, condition) ? yes : undefined;
}

const endpoints = (template: Template) =>
  Object.entries(created(template)).filter(([, r]) => r.Type === 'AWS::EC2::VPCEndpoint');
const serviceOf = (endpoint: Template['Resources'][string]) =>
  (endpoint.Properties?.ServiceName['Fn::Sub'] ?? '').replace('com.amazonaws.${AWS::Region}.', '');

describe('private networking, off (the default)', () => {
  const template = readTemplate();

  it('creates no network resource and keeps the build and the functions out of any VPC', () => {
    expect(Object.values(created(template)).filter((r) => r.Type.startsWith('AWS::EC2::'))).toEqual([]);
    expect(buildVpcConfig(template)).toBeUndefined();
    for (const fn of ['BuildTriggerLambdaFunction', 'EcrEventsLambdaFunction'])
      expect(resource(template, fn).Properties?.VpcConfig).toBeUndefined();
  });

  it('grants no EC2 action and leaves uploads from anywhere (with TLS) alone', () => {
    for (const role of ROLES) expect(JSON.stringify(granted(template, role)), role).not.toContain('"ec2:');
    expect(bucketPolicy(template).map((s) => s.Sid)).toEqual([
      'DenyInsecureTransport',
      'StateWrittenOnlyByFunctions',
    ]);
  });

  itLintsClean(template);
});

describe('the build in a VPC (vpcId, buildSubnetIds, buildSecurityGroupIds)', () => {
  const template = packagedWith(IN_VPC);

  it("runs the build in the subnets with the stack's group and the given ones", () => {
    expect(buildVpcConfig(template)).toEqual({
      VpcId: VPC,
      Subnets: SUBNETS,
      SecurityGroupIds: [BUILD_GROUP, 'sg-0aaaaaaaaaaaaaaaa'],
    });
    expect(resource(template, 'BuildSecurityGroup').Properties?.VpcId).toBe(VPC);
  });

  it('lets the build role create network interfaces for CodeBuild only, only in those subnets', () => {
    const statements = granted(template, 'BuildRole');
    expect(statement(statements, 'VpcNetworkInterfacePermission')).toEqual({
      Sid: 'VpcNetworkInterfacePermission',
      Effect: 'Allow',
      Action: 'ec2:CreateNetworkInterfacePermission',
      Resource: {
        'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*',
      },
      Condition: {
        StringEquals: { 'ec2:AuthorizedService': 'codebuild.amazonaws.com' },
        ArnEquals: { 'ec2:Subnet': SUBNETS.map(subnetArn) },
      },
    });
    // The actions CodeBuild documents for a VPC build, none beyond.
    expect(list(statement(statements, 'VpcNetworkInterfaces').Action).sort()).toEqual([
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeDhcpOptions',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeSubnets',
      'ec2:DescribeVpcs',
    ]);
  });

  it('leaves the functions outside, with no EC2 permission, and creates no endpoint', () => {
    for (const fn of ['BuildTriggerLambdaFunction', 'EcrEventsLambdaFunction'])
      expect(resource(template, fn).Properties?.VpcConfig).toBeUndefined();
    for (const role of ['BuildTriggerRole', 'EcrEventsRole'])
      expect(JSON.stringify(granted(template, role))).not.toContain('"ec2:');
    expect(endpoints(template)).toEqual([]);
  });

  itLintsClean(template);
});

describe('everything private (functionsInVpc, vpcEndpoints, uploadsOnlyFromVpcEndpoint)', () => {
  const template = packagedWith({
    ...IN_VPC,
    ...ENDPOINTS,
    functionsInVpc: 'true',
    uploadsOnlyFromVpcEndpoint: 'true',
  });

  it("puts both functions in the build's subnets with the stack's function group", () => {
    for (const fn of ['BuildTriggerLambdaFunction', 'EcrEventsLambdaFunction']) {
      expect(resource(template, fn).Properties?.VpcConfig).toMatchObject({
        SubnetIds: SUBNETS,
        SecurityGroupIds: [{ 'Fn::If': ['FunctionsInVpc', FUNCTION_GROUP, { Ref: 'AWS::NoValue' }] }],
      });
    }
  });

  it("lets the functions' roles manage their interfaces only in their subnets, with their group", () => {
    for (const role of ['BuildTriggerRole', 'EcrEventsRole']) {
      const statements = granted(template, role);
      expect(statement(statements, 'VpcNetworkInterfaces').Resource).toEqual([
        { 'Fn::Sub': 'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*' },
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/${FunctionSecurityGroup.GroupId}',
        },
        ...SUBNETS.map(subnetArn),
      ]);
      // DescribeNetworkInterfaces works only on "*" (Lambda developer guide).
      expect(statement(statements, 'VpcDescribeNetworkInterfaces')).toMatchObject({
        Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        Resource: '*',
      });
    }
  });

  it('creates the endpoints the build and the functions call, and no other', () => {
    const services = endpoints(template).map(([, e]) => serviceOf(e));
    // ssm: the Slack webhook parameter (slackWebhookSource=ssm); lambda and ecs only with sweepCheckInUse.
    expect(services.sort()).toEqual(
      ['codebuild', 'ecr.api', 'ecr.dkr', 'events', 'logs', 's3', 'sns', 'ssm', 'sts', 'tagging'].sort(),
    );
  });

  it('gives every interface endpoint private DNS, the subnets, and a group admitting HTTPS from the stack only', () => {
    for (const [id, e] of endpoints(template).filter(
      ([, e]) => e.Properties?.VpcEndpointType === 'Interface',
    )) {
      expect(e.Properties, id).toMatchObject({
        VpcId: VPC,
        PrivateDnsEnabled: true,
        SubnetIds: SUBNETS,
        SecurityGroupIds: [{ 'Fn::GetAtt': ['VpcEndpointSecurityGroup', 'GroupId'] }],
      });
    }
    const group = resource(template, 'VpcEndpointSecurityGroup').Properties;
    const functions = created(template).VpcEndpointFromFunctions?.Properties;
    const ingress = [...(group?.SecurityGroupIngress ?? []), functions];
    expect(
      ingress.map((rule) => [rule.IpProtocol, rule.FromPort, rule.ToPort, rule.SourceSecurityGroupId]),
    ).toEqual([
      ['tcp', 443, 443, BUILD_GROUP],
      ['tcp', 443, 443, FUNCTION_GROUP],
    ]);
    // No CIDR anywhere: only the stack's groups get in.
    expect(JSON.stringify(ingress)).not.toContain('Cidr');
  });

  it("lets only the stack's roles use the interface endpoints", () => {
    const principals = endpoints(template)
      .filter(([, e]) => e.Properties?.VpcEndpointType === 'Interface')
      .flatMap(([id]) =>
        deployedStatements(template, resource(template, id).Properties?.PolicyDocument.Statement),
      )
      .flatMap((s) => list((s as unknown as { Principal: { AWS: unknown[] } }).Principal.AWS));
    expect(new Set(principals.map((p) => JSON.stringify(p)))).toEqual(
      new Set(ROLES.map((role) => JSON.stringify({ 'Fn::GetAtt': [role, 'Arn'] }))),
    );
  });

  it("opens the S3 gateway endpoint to the contexts bucket and ECR's layer bucket only, on the route tables", () => {
    const s3 = resource(template, 'S3GatewayEndpoint').Properties;
    expect(s3?.VpcEndpointType).toBe('Gateway');
    expect(s3?.RouteTableIds).toEqual(['rtb-0123456789abcdef0']);
    const resources = (s3?.PolicyDocument.Statement ?? ([] as Statement[])).flatMap((s: Statement) =>
      list(s.Resource),
    );
    expect(resources).toEqual([
      {
        'Fn::Sub': 'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/*',
      },
      { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::prod-${AWS::Region}-starport-layer-bucket/*' },
    ]);
    expect(statement(s3?.PolicyDocument.Statement, 'EcrImageLayers').Action).toBe('s3:GetObject');
  });

  it("refuses every upload not through the stack's S3 endpoint, the functions' records included (they come through it)", () => {
    expect(statement(bucketPolicy(template), 'UploadsOnlyThroughVpcEndpoint')).toEqual({
      Sid: 'UploadsOnlyThroughVpcEndpoint',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: {
        'Fn::Sub': 'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/*',
      },
      Condition: { StringNotEquals: { 'aws:SourceVpce': { Ref: 'S3GatewayEndpoint' } } },
    });
  });

  itLintsClean(template);
});

describe('endpoints for the build only, functions outside the VPC', () => {
  const template = packagedWith({
    ...IN_VPC,
    ...ENDPOINTS,
    uploadsOnlyFromVpcEndpoint: 'true',
    slackWebhookSource: 'secretsmanager',
    sweepCheckInUse: 'true',
  });

  it("creates only the build's endpoints", () => {
    expect(
      endpoints(template)
        .map(([, e]) => serviceOf(e))
        .sort(),
    ).toEqual(['ecr.api', 'ecr.dkr', 'logs', 's3', 'sts']);
    expect(created(template).FunctionSecurityGroup).toBeUndefined();
  });

  it("exempts the functions' roles, which write the upload records from outside the VPC, and no one else", () => {
    expect(statement(bucketPolicy(template), 'UploadsOnlyThroughVpcEndpoint').Condition).toEqual({
      StringNotEquals: { 'aws:SourceVpce': { Ref: 'S3GatewayEndpoint' } },
      ArnNotEquals: {
        'aws:PrincipalArn': [
          { 'Fn::GetAtt': ['BuildTriggerRole', 'Arn'] },
          { 'Fn::GetAtt': ['EcrEventsRole', 'Arn'] },
          { 'Fn::GetAtt': ['ReleaseRole', 'Arn'] },
        ],
      },
    });
    // The exemption is harmless: those roles may put nothing but upload records (and the release's
    // pending markers beside them).
    for (const role of ['BuildTriggerRole', 'EcrEventsRole']) {
      const puts = granted(template, role).filter((s) => list(s.Action).includes('s3:PutObject'));
      expect(puts.map((s) => s.Sid)).toEqual(['UploadRecords']);
    }
    const releasePuts = granted(template, 'ReleaseRole').filter((s) =>
      list(s.Action).includes('s3:PutObject'),
    );
    expect(releasePuts.map((s) => s.Sid)).toEqual(['UploadRecords', 'PendingReleases']);
  });

  itLintsClean(template);
});

describe('private networking parameters that cannot work', () => {
  it.each([
    [{ vpcId: VPC }, 'vpcId is set: buildSubnetIds must name'],
    [{ functionsInVpc: 'true' }, 'functionsInVpc=true needs vpcId'],
    [{ ...IN_VPC, vpcEndpoints: 'true' }, 'vpcEndpoints=true needs routeTableIds'],
    [
      { ...IN_VPC, uploadsOnlyFromVpcEndpoint: 'true' },
      'uploadsOnlyFromVpcEndpoint=true needs vpcEndpoints=true',
    ],
  ])(
    'refuses to package %j, saying what to set',
    (params, message) => {
      expect(() => packageWith(params)).toThrow(message);
    },
    120_000,
  );
});
