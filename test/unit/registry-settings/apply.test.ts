import { Logger } from '@aws-lambda-powertools/logger';
import {
  DescribeRegistryCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
  PutRegistryScanningConfigurationCommand,
  PutReplicationConfigurationCommand,
  type RegistryScanningRule,
  type ReplicationRule,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  applySetting,
  RefusedError,
  type SettingProperties,
  type SettingRequest,
} from '../../../functions/registry-settings/apply.ts';
import type { Deps } from '../../../functions/registry-settings/deps.ts';

const ecrMock = mockClient(ECRClient);
const ACCOUNT = '123456789012';
const OTHER_ACCOUNT = '210987654321';

const theirs: ReplicationRule = {
  destinations: [{ region: 'ap-southeast-2', registryId: OTHER_ACCOUNT }],
  repositoryFilters: [{ filter: 'payments/', filterType: 'PREFIX_MATCH' }],
};
const theirScanning: RegistryScanningRule = {
  scanFrequency: 'SCAN_ON_PUSH',
  repositoryFilters: [{ filter: 'payments-*', filterType: 'WILDCARD' }],
};

function makeDeps(): Deps {
  return {
    ecr: new ECRClient({ region: 'us-east-1' }),
    logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
    respond: async () => {},
  };
}

function request(
  properties: Partial<SettingProperties>,
  kind: SettingRequest['kind'] = 'Create',
  oldProperties?: Partial<SettingProperties>,
): SettingRequest {
  const setting = (p: Partial<SettingProperties>): SettingProperties => ({
    Setting: 'replication',
    RepositoryPattern: 'team-a/*',
    ...p,
  });
  return {
    kind,
    properties: setting(properties),
    oldProperties: oldProperties ? setting(oldProperties) : undefined,
    region: 'us-east-1',
    accountId: ACCOUNT,
    partition: 'aws',
  };
}

const ourRule = (regions: string[], registryId = ACCOUNT): ReplicationRule => ({
  destinations: regions.map((region) => ({ region, registryId })),
  repositoryFilters: [{ filter: 'team-a/', filterType: 'PREFIX_MATCH' }],
});

const scanning = (properties: Partial<SettingProperties>) => ({
  Setting: 'scanning' as const,
  ...properties,
});

beforeEach(() => {
  ecrMock.reset();
  ecrMock.on(PutReplicationConfigurationCommand).resolves({});
  ecrMock.on(PutRegistryScanningConfigurationCommand).resolves({});
});

describe('applySetting: replication', () => {
  it("replicates into the destination account's registry and answers with that account's policy", async () => {
    ecrMock.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [theirs] } });
    const data = await applySetting(
      makeDeps(),
      request({ Regions: 'eu-west-1', DestinationAccountId: OTHER_ACCOUNT }),
    );
    expect(ecrMock).toHaveReceivedCommandWith(PutReplicationConfigurationCommand, {
      replicationConfiguration: { rules: [theirs, ourRule(['eu-west-1'], OTHER_ACCOUNT)] },
    });
    expect(data.RepositoryPrefix).toBe('team-a/');
    const policy = JSON.parse(data.DestinationRegistryPolicy ?? '{}');
    expect(policy.Statement[0]).toMatchObject({
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Resource: `arn:aws:ecr:*:${OTHER_ACCOUNT}:repository/team-a/*`,
    });
  });

  it('replicates into its own account when no destination account is given', async () => {
    ecrMock.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [] } });
    const data = await applySetting(makeDeps(), request({ Regions: 'eu-west-1' }));
    expect(ecrMock).toHaveReceivedCommandWith(PutReplicationConfigurationCommand, {
      replicationConfiguration: { rules: [ourRule(['eu-west-1'])] },
    });
    expect(JSON.parse(data.DestinationRegistryPolicy ?? '{}').Statement[0].Resource).toBe(
      `arn:aws:ecr:*:${ACCOUNT}:repository/team-a/*`,
    );
  });

  it('writes our rule alone to a registry that has no replication configuration yet', async () => {
    ecrMock.on(DescribeRegistryCommand).resolves({ registryId: ACCOUNT });
    await applySetting(makeDeps(), request({ Regions: 'eu-west-1' }));
    expect(ecrMock).toHaveReceivedCommandWith(PutReplicationConfigurationCommand, {
      replicationConfiguration: { rules: [ourRule(['eu-west-1'])] },
    });
  });

  it('refuses a replication that names no region, before reading the registry', async () => {
    await expect(applySetting(makeDeps(), request({}))).rejects.toThrow(
      new RefusedError('replicationRegions names no region'),
    );
    expect(ecrMock).not.toHaveReceivedAnyCommand();
  });

  it('names its refusals RefusedError, as the deploy shows them', async () => {
    await expect(applySetting(makeDeps(), request({ RepositoryPattern: '*' }))).rejects.toMatchObject({
      name: 'RefusedError',
    });
  });

  it("replaces our rule of the old properties on an update, keeping the others' rules", async () => {
    ecrMock
      .on(DescribeRegistryCommand)
      .resolves({ replicationConfiguration: { rules: [ourRule(['eu-west-1']), theirs] } });
    await applySetting(
      makeDeps(),
      request({ Regions: 'eu-west-1,us-west-2' }, 'Update', { Regions: 'eu-west-1' }),
    );
    expect(ecrMock).toHaveReceivedCommandWith(PutReplicationConfigurationCommand, {
      replicationConfiguration: { rules: [theirs, ourRule(['eu-west-1', 'us-west-2'])] },
    });
  });

  it.each([
    ["the registry's own region", { Regions: 'us-east-1' }],
    ['a pattern without a prefix', { RepositoryPattern: '*', Regions: 'eu-west-1' }],
  ])('adds our rule on an update from refused old properties (%s)', async (_, old) => {
    ecrMock.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [theirs] } });
    await applySetting(makeDeps(), request({ Regions: 'eu-west-1' }, 'Update', old));
    expect(ecrMock).toHaveReceivedCommandWith(PutReplicationConfigurationCommand, {
      replicationConfiguration: { rules: [theirs, ourRule(['eu-west-1'])] },
    });
  });

  it('logs the kind of request, the prefix and how many rules it wrote', async () => {
    ecrMock.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [theirs] } });
    const deps = makeDeps();
    const info = vi.spyOn(deps.logger, 'info');
    await applySetting(deps, request({ Regions: 'eu-west-1' }));
    expect(info).toHaveBeenCalledWith('replication configuration written', {
      kind: 'Create',
      prefix: 'team-a/',
      rules: 2,
    });
  });
});

describe('applySetting: scanning', () => {
  it('scans our repositories on push when no frequency is given, and answers with the scan type', async () => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({ registryId: ACCOUNT });
    const data = await applySetting(makeDeps(), request(scanning({})));
    expect(ecrMock).toHaveReceivedCommandWith(PutRegistryScanningConfigurationCommand, {
      scanType: 'ENHANCED',
      rules: [
        {
          scanFrequency: 'SCAN_ON_PUSH',
          repositoryFilters: [{ filter: 'team-a/*', filterType: 'WILDCARD' }],
        },
      ],
    });
    // What the registry had before: the resource's physical id keeps it for the deletion.
    expect(data).toEqual({ ScanType: 'ENHANCED', ScanTypeBefore: 'BASIC' });
  });

  it('remembers a registry that was ENHANCED before the stack, and leaves it so on delete', async () => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: { scanType: 'ENHANCED', rules: [] },
    });
    expect(await applySetting(makeDeps(), request(scanning({})))).toEqual({
      ScanType: 'ENHANCED',
      ScanTypeBefore: 'ENHANCED',
    });
    ecrMock.reset();
    ecrMock.on(PutRegistryScanningConfigurationCommand).resolves({});
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: {
        scanType: 'ENHANCED',
        rules: [
          {
            scanFrequency: 'SCAN_ON_PUSH',
            repositoryFilters: [{ filter: 'team-a/*', filterType: 'WILDCARD' }],
          },
        ],
      },
    });
    const deletion = {
      ...request(scanning({}), 'Delete'),
      physicalId: 'RegistryScanning-123456789012-us-east-1-before-ENHANCED',
    };
    expect(await applySetting(makeDeps(), deletion)).toEqual({
      ScanType: 'ENHANCED',
      ScanTypeBefore: 'ENHANCED',
    });
    expect(ecrMock).toHaveReceivedCommandWith(PutRegistryScanningConfigurationCommand, {
      scanType: 'ENHANCED',
      rules: [],
    });
  });

  it.each(['SCAN_ON_PUSH', 'CONTINUOUS_SCAN'] as const)('takes the frequency %s', async (frequency) => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({});
    await applySetting(makeDeps(), request(scanning({ ScanFrequency: frequency })));
    expect(ecrMock).toHaveReceivedCommandWith(PutRegistryScanningConfigurationCommand, {
      rules: [
        { scanFrequency: frequency, repositoryFilters: [{ filter: 'team-a/*', filterType: 'WILDCARD' }] },
      ],
    });
  });

  it('refuses another frequency, naming it, before reading the registry', async () => {
    await expect(applySetting(makeDeps(), request(scanning({ ScanFrequency: 'MANUAL' })))).rejects.toThrow(
      new RefusedError('scanFrequency must be SCAN_ON_PUSH or CONTINUOUS_SCAN, got "MANUAL"'),
    );
    expect(ecrMock).not.toHaveReceivedAnyCommand();
  });

  it("takes only our filter out on delete, keeping the others' rules and the scan type", async () => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: {
        scanType: 'ENHANCED',
        rules: [
          {
            scanFrequency: 'SCAN_ON_PUSH',
            repositoryFilters: [
              ...(theirScanning.repositoryFilters ?? []),
              { filter: 'team-a/*', filterType: 'WILDCARD' },
            ],
          },
        ],
      },
    });
    const data = await applySetting(makeDeps(), request(scanning({}), 'Delete'));
    expect(ecrMock).toHaveReceivedCommandWith(PutRegistryScanningConfigurationCommand, {
      scanType: 'ENHANCED',
      rules: [theirScanning],
    });
    expect(data).toEqual({ ScanType: 'ENHANCED' });
  });

  it('moves our filter to the new pattern on an update, leaving no copy of the old one', async () => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: {
        scanType: 'ENHANCED',
        rules: [
          theirScanning,
          {
            scanFrequency: 'CONTINUOUS_SCAN',
            repositoryFilters: [{ filter: 'team-a/*', filterType: 'WILDCARD' }],
          },
        ],
      },
    });
    await applySetting(
      makeDeps(),
      request(
        scanning({ RepositoryPattern: 'team-b/*' }),
        'Update',
        scanning({ ScanFrequency: 'CONTINUOUS_SCAN' }),
      ),
    );
    expect(ecrMock).toHaveReceivedCommandWith(PutRegistryScanningConfigurationCommand, {
      scanType: 'ENHANCED',
      rules: [
        {
          scanFrequency: 'SCAN_ON_PUSH',
          repositoryFilters: [
            ...(theirScanning.repositoryFilters ?? []),
            { filter: 'team-b/*', filterType: 'WILDCARD' },
          ],
        },
      ],
    });
  });

  it('logs the kind of request and the scan type it wrote', async () => {
    ecrMock.on(GetRegistryScanningConfigurationCommand).resolves({});
    const deps = makeDeps();
    const info = vi.spyOn(deps.logger, 'info');
    await applySetting(deps, request(scanning({}), 'Delete'));
    expect(info).toHaveBeenCalledWith('registry scanning configuration written', {
      kind: 'Delete',
      scanType: 'BASIC',
    });
  });
});
