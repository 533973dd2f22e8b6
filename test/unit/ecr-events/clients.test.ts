import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../../functions/ecr-events/deps.ts';
import type { Notification } from '../../../functions/ecr-events/notify/notification.ts';

const snsMock = mockClient(SNSClient);
const ssmMock = mockClient(SSMClient);
const secretsMock = mockClient(SecretsManagerClient);
const HOOK = 'https://hooks.slack.example/services/T0/B0/x';
const TOPIC = 'arn:aws:sns:us-west-2:123456789012:ecr-pipeline-dev-events';
const push: Notification = {
  kind: 'image-push',
  outcome: 'success',
  title: 'Image pushed',
  region: 'us-west-2',
  account: '123456789012',
  time: '2026-11-20T10:00:00Z',
  repository: 'team/web',
  tag: 'v1',
  links: [],
};

/** Loads clients.ts as at a cold start, with `env` besides the required variables; returns its Deps and what it logged. */
const services: string[] = [];

async function coldStart(env: Record<string, string> = {}): Promise<{ deps: Deps; logged: string[] }> {
  vi.resetModules();
  for (const [name, value] of Object.entries({
    STACK_NAME: 'ecr-pipeline-dev',
    REPOSITORY_PATTERN: '*',
    AWS_REGION: 'us-west-2',
    ACCOUNT_ID: '123456789012',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    SLACK_WEBHOOK_PARAMETER: '',
    SNS_TOPIC_ARN: '',
    ...env,
  }))
    vi.stubEnv(name, value);
  const logged: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((line) => {
    const parsed = JSON.parse(String(line));
    logged.push(parsed.message);
    services.push(parsed.service);
    return true;
  });
  try {
    const { deps } = await import('../../../functions/ecr-events/clients.ts');
    return { deps, logged };
  } finally {
    write.mockRestore();
    vi.unstubAllEnvs();
  }
}

type Configured = { config: { maxAttempts: unknown; retryMode: unknown; requestHandler: unknown } };
const resolve = async (value: unknown) => (typeof value === 'function' ? value() : value);
async function settings(client: Configured) {
  const handler = client.config.requestHandler as { configProvider: Promise<Record<string, unknown>> };
  const { connectionTimeout, requestTimeout } = await handler.configProvider;
  return {
    maxAttempts: await resolve(client.config.maxAttempts),
    retryMode: await resolve(client.config.retryMode),
    connectionTimeout,
    requestTimeout,
  };
}

beforeEach(() => {
  snsMock.reset();
  ssmMock.reset();
  secretsMock.reset();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('clients.ts: the container-wide defaults', () => {
  it("gives the sweeper's clients adaptive retries with up to 10 attempts, and a connection and a request timeout", async () => {
    const { deps } = await coldStart();
    const sweeping = {
      maxAttempts: 10,
      retryMode: 'adaptive',
      connectionTimeout: 2000,
      requestTimeout: 5000,
    };
    for (const client of [
      deps.ecr,
      await deps.tagging(),
      await deps.lambda(),
      await deps.ecs(),
      await deps.codebuild(),
    ])
      expect(await settings(client as never)).toEqual(sweeping);
  });

  it('gives S3 three attempts and CloudWatch Logs two, with the standard retries and the same timeouts', async () => {
    const { deps } = await coldStart();
    const { s3 } = await deps.uploadRecords();
    expect(await settings(s3 as never)).toEqual({
      maxAttempts: 3,
      retryMode: 'standard',
      connectionTimeout: 2000,
      requestTimeout: 5000,
    });
    expect(await settings((await deps.logs()) as never)).toEqual({
      maxAttempts: 2,
      retryMode: 'standard',
      connectionTimeout: 2000,
      requestTimeout: 5000,
    });
  });

  it('loads each client once per container, and shares the S3 client between upload records and replication watches', async () => {
    const { deps } = await coldStart();
    expect(await deps.codebuild()).toBe(await deps.codebuild());
    const records = await deps.uploadRecords();
    expect(records.commands).toEqual({ GetObjectCommand, PutObjectCommand });
    const watches = await deps.replicationWatches();
    expect(watches.s3).toBe(records.s3);
    expect(watches.paginate).toBe(paginateListObjectsV2);
    expect(watches.commands).toEqual({ GetObjectCommand, PutObjectCommand, DeleteObjectCommand });
  });

  it("reads the configuration at load, and runs the clock ahead by the local cloud's offset", async () => {
    const { deps } = await coldStart({ LOCAL_CLOCK_OFFSET_MS: '3600000' });
    expect(deps.config.stackName).toBe('ecr-pipeline-dev');
    const ahead = deps.now().getTime() - Date.now();
    expect(ahead).toBeGreaterThan(3_590_000);
    expect(ahead).toBeLessThanOrEqual(3_600_000);
  });

  it('says at load that Slack and SNS are off when they are not configured, and both channels stay off', async () => {
    const { deps, logged } = await coldStart();
    expect(logged).toEqual([
      'Slack is off: SLACK_WEBHOOK_PARAMETER is empty',
      'SNS is off: SNS_TOPIC_ARN is empty',
    ]);
    expect(services.slice(-2)).toEqual(['ecr-events', 'ecr-events']);
    expect(deps.channels.map((c) => c.name)).toEqual(['slack', 'sns']);
    expect(await Promise.all(deps.channels.map((c) => c.deliver(push)))).toEqual(['off', 'off']);
    expect(snsMock).not.toHaveReceivedAnyCommand();
  });

  it('posts to the webhook the SSM parameter names and publishes to the topic, saying nothing at load', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: HOOK, Type: 'SecureString' } });
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const fetchStub = vi.fn(async () => new Response('ok', { status: 200 }));
    vi.stubGlobal('fetch', fetchStub);
    const { deps, logged } = await coldStart({
      SLACK_WEBHOOK_PARAMETER: '/ecr-pipeline/dev/slack-webhook-url',
      SNS_TOPIC_ARN: TOPIC,
    });
    expect(logged).toEqual([]);
    expect(await Promise.all(deps.channels.map((c) => c.deliver(push)))).toEqual(['sent', 'sent']);
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/ecr-pipeline/dev/slack-webhook-url',
      WithDecryption: true,
    });
    expect(fetchStub).toHaveBeenCalledWith(HOOK, expect.objectContaining({ method: 'POST' }));
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC });
  });

  it('reads the webhook from Secrets Manager when the source says so', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: HOOK });
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('ok', { status: 200 })),
    );
    const { deps } = await coldStart({
      SLACK_WEBHOOK_PARAMETER: 'ecr-pipeline/dev/slack-webhook-url',
      SLACK_WEBHOOK_SOURCE: 'secretsmanager',
    });
    expect(await deps.channels[0]?.deliver(push)).toBe('sent');
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: 'ecr-pipeline/dev/slack-webhook-url',
    });
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });
});

describe('clients.ts: the clients behind the channels', () => {
  const standard = { maxAttempts: 3, retryMode: 'standard', connectionTimeout: 2000, requestTimeout: 5000 };

  it('gives SSM and SNS three attempts with the standard retries and the timeouts', async () => {
    const used: Configured[] = [];
    ssmMock.on(GetParameterCommand).callsFake(async (_input, getClient) => {
      used.push(getClient() as never);
      return { Parameter: { Value: HOOK, Type: 'SecureString' } };
    });
    snsMock.on(PublishCommand).callsFake(async (_input, getClient) => {
      used.push(getClient() as never);
      return { MessageId: 'm-1' };
    });
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('ok', { status: 200 })),
    );
    const { deps } = await coldStart({
      SLACK_WEBHOOK_PARAMETER: '/ecr-pipeline/dev/hook',
      SNS_TOPIC_ARN: TOPIC,
    });
    await Promise.all(deps.channels.map((c) => c.deliver(push)));
    expect(used).toHaveLength(2);
    for (const client of used) expect(await settings(client)).toEqual(standard);
  });

  it('gives Secrets Manager three attempts with the standard retries and the timeouts', async () => {
    const used: Configured[] = [];
    secretsMock.on(GetSecretValueCommand).callsFake(async (_input, getClient) => {
      used.push(getClient() as never);
      return { SecretString: HOOK };
    });
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('ok', { status: 200 })),
    );
    const { deps } = await coldStart({
      SLACK_WEBHOOK_PARAMETER: 'hook',
      SLACK_WEBHOOK_SOURCE: 'secretsmanager',
    });
    await deps.channels[0]?.deliver(push);
    expect(used).toHaveLength(1);
    expect(await settings(used[0] as Configured)).toEqual(standard);
  });
});
