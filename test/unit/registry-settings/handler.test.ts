import { readFileSync } from 'node:fs';
import { DescribeRegistryCommand, ECRClient, PutReplicationConfigurationCommand } from '@aws-sdk/client-ecr';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// The module-scope client of clients.ts is an instance of this class.
const ecrMock = mockClient(ECRClient);

function createEvent(): CloudFormationCustomResourceEvent {
  return JSON.parse(
    readFileSync(new URL('../../events/cloudformation/create-replication.json', import.meta.url), 'utf8'),
  ) as CloudFormationCustomResourceEvent;
}

const context = {
  functionName: 'ecr-pipeline-dev-registrySettings',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ecr-pipeline-dev-registrySettings',
  memoryLimitInMB: '128',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
} as Context;

const fetchMock = vi.fn<typeof fetch>();

beforeEach(() => {
  ecrMock.reset();
  ecrMock.on(DescribeRegistryCommand).resolves({});
  ecrMock.on(PutReplicationConfigurationCommand).resolves({});
  vi.resetModules();
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  fetchMock.mockReset();
  fetchMock.mockResolvedValue(new Response(null, { status: 200 }));
  vi.stubGlobal('fetch', fetchMock);
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('registry-settings handler', () => {
  it("PUTs the response to CloudFormation's pre-signed URL with no content type", async () => {
    const { handler } = await import('../../../functions/registry-settings/handler.ts');
    const event = createEvent();
    await handler(event, context);
    expect(ecrMock).toHaveReceivedCommand(PutReplicationConfigurationCommand);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe(event.ResponseURL);
    expect(init).toMatchObject({ method: 'PUT', headers: { 'content-type': '' } });
    expect(JSON.parse(String(init?.body))).toMatchObject({
      Status: 'SUCCESS',
      RequestId: event.RequestId,
      PhysicalResourceId: 'RegistryReplication-123456789012-us-east-1',
    });
  });

  it('runs without a Lambda context', async () => {
    const { handler } = await import('../../../functions/registry-settings/handler.ts');
    await expect(handler(createEvent())).resolves.toBeUndefined();
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('fails the invocation when CloudFormation refuses the response, naming the HTTP status', async () => {
    fetchMock.mockResolvedValue(new Response('AccessDenied', { status: 403 }));
    const { handler } = await import('../../../functions/registry-settings/handler.ts');
    await expect(handler(createEvent(), context)).rejects.toThrow(
      'CloudFormation response refused: HTTP 403',
    );
  });

  it("logs as the registry-settings service, with the invocation's request id", async () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const { handler } = await import('../../../functions/registry-settings/handler.ts');
    await handler(createEvent(), context);
    const written = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(written).toContainEqual(
      expect.objectContaining({
        message: 'replication configuration written',
        service: 'registry-settings',
        function_request_id: context.awsRequestId,
      }),
    );
  });

  it('gives its ECR client adaptive retries and connection and request timeouts', async () => {
    const { deps } = await import('../../../functions/registry-settings/clients.ts');
    const resolve = async (value: unknown) => (typeof value === 'function' ? value() : value);
    expect(await resolve(deps.ecr.config.retryMode)).toBe('adaptive');
    const requestHandler = deps.ecr.config.requestHandler as unknown as { configProvider: Promise<unknown> };
    expect(await requestHandler.configProvider).toMatchObject({
      connectionTimeout: 2000,
      requestTimeout: 10_000,
    });
  });
});
