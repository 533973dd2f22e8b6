/** Custom resources in the local cloud: sent their Create request once the functions run, each outcome one line. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCustomResources } from '../../../local/custom-resources.ts';
import type { CustomResourceSpec } from '../../../local/deploy/deployment.ts';
import { awsClients, deploy } from '../../../local/deployer.ts';
import { motoGaps } from '../../../local/moto-gaps.ts';
import type { Template } from '../../../local/template.ts';

mockClient(EventBridgeClient);

const replication: CustomResourceSpec = {
  logicalId: 'RegistryReplication',
  type: 'Custom::RegistryReplication',
  functionKey: 'registrySettings',
  properties: { Setting: 'replication', RepositoryPattern: 'team-a/*', Regions: 'eu-west-1' },
};
const scanning: CustomResourceSpec = {
  logicalId: 'RegistryScanning',
  type: 'Custom::RegistryScanning',
  functionKey: 'registrySettings',
  properties: { Setting: 'scanning', RepositoryPattern: 'team-a/*', ScanFrequency: 'SCAN_ON_PUSH' },
};

/** A function that answers each request as the registry-settings function does: PUT to ResponseURL. */
const answering =
  (answer: (event: Record<string, string>) => Record<string, unknown> | undefined) =>
  async (_key: string, event: unknown) => {
    const e = event as Record<string, string>;
    const body = answer(e);
    if (body) await fetch(e.ResponseURL as string, { method: 'PUT', body: JSON.stringify(body) });
  };

describe('runCustomResources', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
  });

  it('sends each its Create request with the template properties, and logs SUCCESS or the FAILED reason', async () => {
    const events: Record<string, unknown>[] = [];
    const outcomes = await runCustomResources([replication, scanning], {
      stackName: 'ecr-pipeline-dev',
      region: 'us-east-1',
      invoke: answering((e) => {
        events.push(e);
        return e.LogicalResourceId === 'RegistryReplication'
          ? { Status: 'SUCCESS', Data: { DestinationRegistryPolicy: '{}' } }
          : { Status: 'FAILED', Reason: 'InternalFailure: inspector2 is not available' };
      }),
      log: (line) => lines.push(line),
    });
    expect(events[0]).toMatchObject({
      RequestType: 'Create',
      LogicalResourceId: 'RegistryReplication',
      ResourceType: 'Custom::RegistryReplication',
      ResourceProperties: { Setting: 'replication', RepositoryPattern: 'team-a/*', Regions: 'eu-west-1' },
      StackId: expect.stringMatching(
        /^arn:aws:cloudformation:us-east-1:123456789012:stack\/ecr-pipeline-dev\//,
      ),
    });
    expect(outcomes.map((o) => o.status)).toEqual(['SUCCESS', 'FAILED']);
    expect(lines).toEqual([
      'custom resource RegistryReplication (Custom::RegistryReplication): SUCCESS',
      'custom resource RegistryScanning (Custom::RegistryScanning): FAILED: InternalFailure: inspector2 is not available',
    ]);
  });

  it('says so in one line when the function never answers', async () => {
    await runCustomResources([replication], {
      stackName: 'ecr-pipeline-dev',
      region: 'us-east-1',
      invoke: answering(() => undefined),
      log: (line) => lines.push(line),
      timeoutMs: 100,
    });
    expect(lines).toEqual([
      'custom resource RegistryReplication (Custom::RegistryReplication): no response from function registrySettings',
    ]);
  });
});

describe('the deployer and custom resources', () => {
  const template = {
    Resources: {
      RegistrySettingsLambdaFunction: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          FunctionName: 'ecr-pipeline-dev-registrySettings',
          Handler: 'dist/registry-settings/index.handler',
        },
      },
      RegistryReplication: {
        Type: 'Custom::RegistryReplication',
        Properties: {
          ServiceToken: { 'Fn::GetAtt': ['RegistrySettingsLambdaFunction', 'Arn'] },
          Setting: 'replication',
          Regions: 'eu-west-1',
        },
      },
      Elsewhere: {
        Type: 'Custom::Thing',
        Properties: { ServiceToken: 'arn:aws:lambda:us-east-1:999999999999:function:other' },
      },
      InspectorFindingRule: {
        Type: 'AWS::Events::Rule',
        Properties: { EventPattern: { source: ['aws.inspector2'], 'detail-type': ['Inspector2 Finding'] } },
      },
    },
  } as unknown as Template;

  it('keeps the custom resources of template functions for start-up, and reports the others', async () => {
    const log: string[] = [];
    const deployment = await deploy({
      template,
      root: '/app',
      region: 'us-east-1',
      clients: awsClients('http://127.0.0.1:1', 'us-east-1'),
      baseEnv: {},
      log: (line) => log.push(line),
    });
    expect(deployment.customResources).toEqual([
      {
        logicalId: 'RegistryReplication',
        type: 'Custom::RegistryReplication',
        functionKey: 'registrySettings',
        properties: { Setting: 'replication', Regions: 'eu-west-1' },
      },
    ]);
    expect(log).toContain(
      "deploy: Elsewhere (Custom::Thing): its ServiceToken is not one of the template's functions; not created",
    );
    expect(motoGaps(template, deployment)).toEqual([
      'moto cannot: send Amazon Inspector events (it has no Inspector): InspectorFindingRule deployed, but no enhanced scanning result ever arrives',
      'moto cannot: replicate images: the replication configuration is kept (RegistryReplication), but no image reaches eu-west-1 and DescribeImageReplicationStatus is not implemented (status prints "replicas unknown"; the replication check finds nothing to tell)',
    ]);
  });
});

describe('motoGaps', () => {
  it('names the repository creation templates moto cannot keep, and only the deployed ones', () => {
    const template = {
      Resources: {
        PullThroughCacheTemplateQuay: { Type: 'AWS::ECR::RepositoryCreationTemplate', Properties: {} },
        NotDeployed: { Type: 'AWS::ECR::RepositoryCreationTemplate', Properties: {} },
        Other: { Type: 'AWS::ECR::Repository', Properties: {} },
      },
    } as unknown as Template;
    const deployment = {
      resources: { PullThroughCacheTemplateQuay: {}, Other: {} },
      customResources: [],
    } as unknown as Parameters<typeof motoGaps>[1];
    expect(motoGaps(template, deployment)).toEqual([
      'moto cannot: keep repository creation templates (it answers 500): PullThroughCacheTemplateQuay deployed; the local cloud applies them itself to the repositories its pull-through caches create',
    ]);
  });
});
