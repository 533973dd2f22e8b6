// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript templates
import { describe, expect, it } from 'vitest';
import {
  created,
  granted,
  holds,
  itLintsClean,
  list,
  packagedWith,
  readTemplate,
  resource,
  statement,
} from './template.ts';

const REGISTRY_RESOURCES = [
  'RegistryReplication',
  'RegistryScanning',
  'RegistrySettingsRole',
  'RegistrySettingsLambdaFunction',
  'RegistrySettingsLogGroup',
];

describe('registry-wide settings, off (the default)', () => {
  const template = readTemplate();

  it('creates neither the custom resources nor their function and role', () => {
    const deployed = created(template);
    for (const id of REGISTRY_RESOURCES) {
      expect(template.Resources[id], id).toBeDefined();
      expect(deployed[id], id).toBeUndefined();
    }
  });

  it('checks no replication: no schedule, no watch folder, no replication status', () => {
    expect(created(template).ReplicationCheckRule).toBeUndefined();
    const sids = granted(template, 'EcrEventsRole').map((s) => s.Sid);
    for (const sid of ['ReplicationWatches', 'ListReplicationWatches', 'ReadReplicationStatus']) {
      expect(sids).not.toContain(sid);
    }
  });

  it('publishes no version of the custom resource function', () => {
    expect(
      Object.keys(template.Resources).filter((id) => id.startsWith('RegistrySettingsLambdaVersion')),
    ).toEqual([]);
  });
});

describe('replication to another account and enhanced scanning', () => {
  const template = packagedWith({
    repositoryPattern: 'team-a/*',
    replicationRegions: 'eu-west-1,us-west-2',
    replicationAccountId: '210987654321',
    scanning: 'ENHANCED',
    scanFrequency: 'CONTINUOUS_SCAN',
  });

  it('merges our replication rule and scanning filter through the registry-settings function', () => {
    const deployed = created(template);
    for (const id of REGISTRY_RESOURCES) expect(deployed[id], id).toBeDefined();
    const service = { 'Fn::GetAtt': ['RegistrySettingsLambdaFunction', 'Arn'] };
    expect(resource(template, 'RegistryReplication').Properties).toEqual({
      ServiceToken: service,
      Setting: 'replication',
      RepositoryPattern: 'team-a/*',
      Regions: 'eu-west-1,us-west-2',
      DestinationAccountId: '210987654321',
    });
    expect(resource(template, 'RegistryScanning').Properties).toEqual({
      ServiceToken: service,
      Setting: 'scanning',
      RepositoryPattern: 'team-a/*',
      ScanFrequency: 'CONTINUOUS_SCAN',
    });
  });

  it('outputs the registry policy the destination account must apply', () => {
    expect(template.Outputs?.ReplicationDestinationRegistryPolicy).toMatchObject({
      Condition: 'ReplicatesToAnotherAccount',
      Value: { 'Fn::GetAtt': ['RegistryReplication', 'DestinationRegistryPolicy'] },
    });
    expect(holds(template, 'ReplicatesToAnotherAccount')).toBe(true);
  });

  it("grants the registry-level actions, and service-linked roles only ECR replication's and Inspector's", () => {
    const statements = granted(template, 'RegistrySettingsRole');
    expect(statement(statements, 'ReplicationConfiguration').Action).toEqual([
      'ecr:DescribeRegistry',
      'ecr:PutReplicationConfiguration',
    ]);
    expect(statement(statements, 'ScanningConfiguration').Action).toEqual([
      'ecr:GetRegistryScanningConfiguration',
      'ecr:PutRegistryScanningConfiguration',
    ]);
    expect(statement(statements, 'ReplicationServiceLinkedRole')).toMatchObject({
      Action: 'iam:CreateServiceLinkedRole',
      Resource: {
        'Fn::Sub':
          'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/replication.ecr.amazonaws.com/AWSServiceRoleForECRReplication',
      },
      Condition: { StringEquals: { 'iam:AWSServiceName': 'replication.ecr.amazonaws.com' } },
    });
    expect(statement(statements, 'InspectorServiceLinkedRole')).toMatchObject({
      Condition: { StringEquals: { 'iam:AWSServiceName': 'inspector2.amazonaws.com' } },
    });
    // Inspector is turned on, never off: other teams may depend on it.
    expect(JSON.stringify(statements)).not.toContain('inspector2:Disable');
  });

  it("checks the pushed images' replication on a schedule, with the constant input the function routes", () => {
    const rule = created(template).ReplicationCheckRule;
    expect(rule?.Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [expect.objectContaining({ Input: '{"action":"check-replication"}' })],
    });
    const env = resource(template, 'EcrEventsLambdaFunction').Properties?.Environment.Variables;
    expect(env.REPLICATION_REGIONS).toBe('eu-west-1,us-west-2');
  });

  it('lets ecr-events watch replication only under the stack prefix and of the managed repositories', () => {
    const statements = granted(template, 'EcrEventsRole');
    expect(statement(statements, 'ReplicationWatches')).toEqual({
      Sid: 'ReplicationWatches',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      Resource: {
        'Fn::Sub':
          'arn:${AWS::Partition}:s3:::ecr-pipeline-dev-contexts-${AWS::AccountId}-${AWS::Region}/.ecr-pipeline/replication/*',
      },
    });
    expect(statement(statements, 'ListReplicationWatches')).toMatchObject({
      Action: 's3:ListBucket',
      Condition: { StringEquals: { 's3:prefix': '.ecr-pipeline/replication/' } },
    });
    expect(statement(statements, 'ReadReplicationStatus')).toMatchObject({
      Action: 'ecr:DescribeImageReplicationStatus',
      Resource: {
        'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/team-a/*',
      },
    });
  });

  it("leaves the replicas alone: the sweeper deletes, tags and untags in the stack's own region only", () => {
    const changing = granted(template, 'EcrEventsRole').filter(
      (s) =>
        s.Effect === 'Allow' &&
        list(s.Action).some((a) =>
          ['ecr:DeleteRepository', 'ecr:TagResource', 'ecr:UntagResource', 'ecr:BatchDeleteImage'].includes(
            a,
          ),
        ),
    );
    expect(changing.map((s) => s.Sid)).toEqual(['MarkManagedRepositories', 'DeleteManagedRepositories']);
    for (const s of changing) {
      expect(s.Resource).toEqual({
        'Fn::Sub': 'arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/team-a/*',
      });
    }
  });

  itLintsClean(template);
});

describe('enhanced scanning alone', () => {
  const template = packagedWith({ scanning: 'ENHANCED' });

  it('creates the scanning resource only, and grants nothing for replication', () => {
    const deployed = created(template);
    expect(deployed.RegistryScanning).toBeDefined();
    expect(deployed.RegistryReplication).toBeUndefined();
    const sids = granted(template, 'RegistrySettingsRole').map((s) => s.Sid);
    expect(sids).toEqual(['Logs', 'ScanningConfiguration', 'EnableInspector', 'InspectorServiceLinkedRole']);
  });

  itLintsClean(template);
});

describe('blob mounting', () => {
  const template = packagedWith({ blobMounting: 'true' });

  it('enables it through the registry-settings function when the stack opts in, with PutAccountSetting only', () => {
    const deployed = created(template);
    expect(deployed.RegistryBlobMounting).toBeDefined();
    expect(deployed.RegistrySettingsLambdaFunction).toBeDefined();
    expect(deployed.RegistryReplication).toBeUndefined();
    expect(deployed.RegistryScanning).toBeUndefined();
    expect(resource(template, 'RegistryBlobMounting').Properties).toMatchObject({
      ServiceToken: { 'Fn::GetAtt': ['RegistrySettingsLambdaFunction', 'Arn'] },
      Setting: 'blob-mounting',
    });
    expect(granted(template, 'RegistrySettingsRole').map((s) => s.Sid)).toEqual([
      'Logs',
      'BlobMountingSetting',
    ]);
    expect(list(statement(granted(template, 'RegistrySettingsRole'), 'BlobMountingSetting').Action)).toEqual([
      'ecr:PutAccountSetting',
    ]);
  });

  it('is off by default: no resource, no grant', () => {
    const off = readTemplate();
    expect(off.Resources.RegistryBlobMounting).toBeDefined();
    expect(created(off).RegistryBlobMounting).toBeUndefined();
    expect(holds(off, 'MountsBlobs')).toBe(false);
  });

  itLintsClean(template);
});
