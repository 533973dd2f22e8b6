import { readFileSync } from 'node:fs';
import { Logger } from '@aws-lambda-powertools/logger';
import {
  DescribeRegistryCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
  PutRegistryScanningConfigurationCommand,
  PutReplicationConfigurationCommand,
} from '@aws-sdk/client-ecr';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../../functions/registry-settings/deps.ts';
import { handleCustomResource, REFUSED } from '../../../functions/registry-settings/respond.ts';

const ecrMock = mockClient(ECRClient);
const theirs = {
  destinations: [{ region: 'ap-southeast-2', registryId: '210987654321' }],
  repositoryFilters: [{ filter: 'payments/', filterType: 'PREFIX_MATCH' as const }],
};

function createEvent(): CloudFormationCustomResourceEvent {
  return JSON.parse(
    readFileSync(new URL('../../events/cloudformation/create-replication.json', import.meta.url), 'utf8'),
  ) as CloudFormationCustomResourceEvent;
}

function makeDeps() {
  const responses: Record<string, unknown>[] = [];
  const deps: Deps = {
    ecr: new ECRClient({ region: 'us-east-1' }),
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    respond: async (_url, body) => {
      responses.push(JSON.parse(body) as Record<string, unknown>);
    },
  };
  return { deps, responses };
}

beforeEach(() => {
  ecrMock.reset();
  ecrMock.on(PutReplicationConfigurationCommand).resolves({});
  ecrMock.on(PutRegistryScanningConfigurationCommand).resolves({});
});

describe('the replication custom resource', () => {
  it("adds our rule beside the registry's others and answers with the destination's registry policy", async () => {
    ecrMock.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [theirs] } });
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, createEvent());
    expect(ecrMock).toHaveReceivedCommandWith(PutReplicationConfigurationCommand, {
      replicationConfiguration: {
        rules: [
          theirs,
          {
            destinations: [
              { region: 'eu-west-1', registryId: '123456789012' },
              { region: 'us-west-2', registryId: '123456789012' },
            ],
            repositoryFilters: [{ filter: 'team-a/', filterType: 'PREFIX_MATCH' }],
          },
        ],
      },
    });
    expect(responses).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: 'RegistryReplication-123456789012-us-east-1',
        Data: expect.objectContaining({ RepositoryPrefix: 'team-a/' }),
      }),
    ]);
  });

  it('fails the deploy with the reason when repositoryPattern has no prefix, writing nothing', async () => {
    const event = createEvent();
    event.ResourceProperties.RepositoryPattern = '*';
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, event);
    expect(ecrMock).not.toHaveReceivedCommand(PutReplicationConfigurationCommand);
    expect(responses).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        PhysicalResourceId: REFUSED,
        Reason: expect.stringContaining("other teams' too"),
      }),
    ]);
  });

  it('takes out only our rule on delete', async () => {
    const event = createEvent();
    const ours = {
      destinations: [
        { region: 'us-west-2', registryId: '123456789012' },
        { region: 'eu-west-1', registryId: '123456789012' },
      ],
      repositoryFilters: [{ filter: 'team-a/', filterType: 'PREFIX_MATCH' as const }],
    };
    ecrMock.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [ours, theirs] } });
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, {
      ...event,
      RequestType: 'Delete',
      PhysicalResourceId: 'RegistryReplication-123456789012-us-east-1',
    } as CloudFormationCustomResourceEvent);
    expect(ecrMock).toHaveReceivedCommandWith(PutReplicationConfigurationCommand, {
      replicationConfiguration: { rules: [theirs] },
    });
    expect(responses[0]).toMatchObject({ Status: 'SUCCESS' });
  });

  it('deletes a refused creation without touching the registry', async () => {
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, {
      ...createEvent(),
      RequestType: 'Delete',
      PhysicalResourceId: REFUSED,
    } as CloudFormationCustomResourceEvent);
    expect(ecrMock.calls()).toHaveLength(0);
    expect(responses[0]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: REFUSED });
  });

  it('answers FAILED, with the error, when ECR fails', async () => {
    ecrMock
      .on(DescribeRegistryCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, createEvent());
    expect(responses[0]).toMatchObject({ Status: 'FAILED', Reason: 'AccessDeniedException: denied' });
  });
});

describe('the replication custom resource: updates, failures and old stacks', () => {
  const ours = (regions: string[]) => ({
    destinations: regions.map((region) => ({ region, registryId: '123456789012' })),
    repositoryFilters: [{ filter: 'team-a/', filterType: 'PREFIX_MATCH' as const }],
  });

  function updateEvent(oldRegions: string): CloudFormationCustomResourceEvent {
    const event = createEvent();
    return {
      ...event,
      RequestType: 'Update',
      PhysicalResourceId: 'RegistryReplication-123456789012-us-east-1',
      OldResourceProperties: { ...event.ResourceProperties, Regions: oldRegions },
    } as CloudFormationCustomResourceEvent;
  }

  it('replaces the rule of the old properties on an update, keeping the physical id', async () => {
    ecrMock
      .on(DescribeRegistryCommand)
      .resolves({ replicationConfiguration: { rules: [ours(['eu-west-1']), theirs] } });
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, updateEvent('eu-west-1'));
    expect(ecrMock).toHaveReceivedCommandWith(PutReplicationConfigurationCommand, {
      replicationConfiguration: { rules: [theirs, ours(['eu-west-1', 'us-west-2'])] },
    });
    expect(responses).toEqual([
      expect.objectContaining({
        Status: 'SUCCESS',
        PhysicalResourceId: 'RegistryReplication-123456789012-us-east-1',
      }),
    ]);
  });

  it('keeps the physical id of a refused update, so that its rollback and deletion still find our rule', async () => {
    const event = updateEvent('eu-west-1');
    event.ResourceProperties.RepositoryPattern = '*';
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, event);
    expect(ecrMock).not.toHaveReceivedCommand(PutReplicationConfigurationCommand);
    expect(responses).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        PhysicalResourceId: 'RegistryReplication-123456789012-us-east-1',
      }),
    ]);
  });

  it('logs a failure with the request type and the reason it answers', async () => {
    ecrMock
      .on(DescribeRegistryCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { deps } = makeDeps();
    const error = vi.spyOn(deps.logger, 'error');
    await handleCustomResource(deps, createEvent());
    expect(error).toHaveBeenCalledWith('registry setting failed', {
      requestType: 'Create',
      reason: 'AccessDeniedException: denied',
    });
  });

  it('points to the function log in the reason of a success', async () => {
    ecrMock.on(DescribeRegistryCommand).resolves({});
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, createEvent());
    expect(responses[0]).toMatchObject({ Status: 'SUCCESS', Reason: 'see the function log' });
  });

  it("deletes a resource whose creation was refused by a deployed version (physical id 'refused') without touching the registry", async () => {
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, {
      ...createEvent(),
      RequestType: 'Delete',
      PhysicalResourceId: 'refused',
    } as CloudFormationCustomResourceEvent);
    expect(ecrMock.calls()).toHaveLength(0);
    expect(responses[0]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: 'refused' });
  });

  it('takes the aws partition, and no account or region, from a stack id that is not an ARN', async () => {
    ecrMock.on(DescribeRegistryCommand).resolves({});
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, { ...createEvent(), StackId: 'ecr-pipeline-dev' });
    expect(responses[0]).toMatchObject({
      Status: 'SUCCESS',
      PhysicalResourceId: 'RegistryReplication--',
      Data: {
        DestinationRegistryPolicy: expect.stringContaining(
          '"Resource":"arn:aws:ecr:*:123456789012:repository/team-a/*"',
        ),
      },
    });
  });
});

describe('the scanning custom resource', () => {
  it('refuses to switch a registry with basic rules of others to ENHANCED', async () => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: {
        scanType: 'BASIC',
        rules: [
          {
            scanFrequency: 'SCAN_ON_PUSH',
            repositoryFilters: [{ filter: 'payments-*', filterType: 'WILDCARD' }],
          },
        ],
      },
    });
    const event = createEvent();
    event.ResourceProperties = {
      ServiceToken: event.ServiceToken,
      Setting: 'scanning',
      RepositoryPattern: 'team-a/*',
      ScanFrequency: 'CONTINUOUS_SCAN',
    };
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, event);
    expect(ecrMock).not.toHaveReceivedCommand(PutRegistryScanningConfigurationCommand);
    expect(responses[0]).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('payments-*') });
  });
});

describe('the scanning custom resource and the registry it found', () => {
  const scanningEvent = (kind: 'Create' | 'Delete', physicalId?: string) => {
    const base = createEvent() as unknown as Record<string, unknown>;
    return {
      ...base,
      RequestType: kind,
      LogicalResourceId: 'RegistryScanning',
      ...(physicalId ? { PhysicalResourceId: physicalId } : {}),
      ResourceProperties: { ServiceToken: 'x', Setting: 'scanning', RepositoryPattern: '*' },
    } as unknown as CloudFormationCustomResourceEvent;
  };

  it("refuses, with the reason in the stack events, to take over another team's `*` continuous scan", async () => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: {
        scanType: 'ENHANCED',
        rules: [
          { scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] },
        ],
      },
    });
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, scanningEvent('Create'));
    expect(ecrMock).not.toHaveReceivedCommand(PutRegistryScanningConfigurationCommand);
    expect(responses).toEqual([
      expect.objectContaining({
        Status: 'FAILED',
        PhysicalResourceId: REFUSED,
        Reason: expect.stringContaining(
          'already has a CONTINUOUS_SCAN rule for "*", which this stack did not write',
        ),
      }),
    ]);
  });

  it('keeps the scan type before the stack in the physical id, and restores it on delete', async () => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: { scanType: 'ENHANCED', rules: [] },
    });
    const { deps, responses } = makeDeps();
    await handleCustomResource(deps, scanningEvent('Create'));
    const id = responses[0]?.PhysicalResourceId as string;
    expect(id).toBe('RegistryScanning-123456789012-us-east-1-before-ENHANCED');
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: {
        scanType: 'ENHANCED',
        rules: [
          { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: '*', filterType: 'WILDCARD' }] },
        ],
      },
    });
    await handleCustomResource(deps, scanningEvent('Delete', id));
    expect(ecrMock).toHaveReceivedCommandWith(PutRegistryScanningConfigurationCommand, {
      scanType: 'ENHANCED',
      rules: [],
    });
    expect(responses[1]).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: id });
  });
});
