import { Logger } from '@aws-lambda-powertools/logger';
import { ECRClient, PutAccountSettingCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { applySetting, type SettingRequest } from '../../../functions/registry-settings/apply.ts';
import type { Deps } from '../../../functions/registry-settings/deps.ts';

const ecrMock = mockClient(ECRClient);

const deps = (): Deps => ({
  ecr: new ECRClient({ region: 'us-east-1' }),
  logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
  respond: async () => {},
});

const request = (kind: SettingRequest['kind']): SettingRequest => ({
  kind,
  properties: { Setting: 'blob-mounting', RepositoryPattern: 'team-a/*' },
  region: 'us-east-1',
  accountId: '123456789012',
  partition: 'aws',
});

beforeEach(() => {
  ecrMock.reset();
  ecrMock.on(PutAccountSettingCommand).resolves({ name: 'BLOB_MOUNTING', value: 'ENABLED' });
});

describe('applySetting: blob mounting', () => {
  it.each(['Create', 'Update'] as const)(
    'enables BLOB_MOUNTING on %s and touches nothing else',
    async (kind) => {
      expect(await applySetting(deps(), request(kind))).toEqual({ BlobMounting: 'ENABLED' });
      expect(ecrMock).toHaveReceivedCommandExactlyOnceWith(PutAccountSettingCommand, {
        name: 'BLOB_MOUNTING',
        value: 'ENABLED',
      });
      // One call: no registry configuration is read or written.
      expect(ecrMock.calls()).toHaveLength(1);
    },
  );

  it('leaves the registry setting as it is on delete: other stacks or teams may rely on it', async () => {
    expect(await applySetting(deps(), request('Delete'))).toEqual({});
    expect(ecrMock.calls()).toHaveLength(0);
  });

  it('fails the request when ECR refuses the setting, so that the deploy says why', async () => {
    ecrMock
      .on(PutAccountSettingCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(applySetting(deps(), request('Create'))).rejects.toThrow('denied');
  });

  it('tells the operator in the log what it did, and on delete why the setting stays', async () => {
    const d = deps();
    const info = vi.spyOn(d.logger, 'info');
    await applySetting(d, request('Update'));
    expect(info).toHaveBeenCalledWith('blob mounting enabled', { kind: 'Update' });
    info.mockClear();
    await applySetting(d, request('Delete'));
    expect(info).toHaveBeenCalledWith('blob mounting left as it is: the registry setting may serve others');
  });
});
