import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebhookSecretError, webhookSecret } from '../../../../functions/ecr-events/notify/webhook-secret.ts';
import { stubLogger } from '../fixtures.ts';

const ssmMock = mockClient(SSMClient);
const secretsMock = mockClient(SecretsManagerClient);
const hook = 'https://hooks.slack.com/services/T000/B000/XXXX';

/** The loaders clients.ts passes, counted so a test can see which store was loaded. */
const loaders = () => ({
  ssm: vi.fn(async () => new SSMClient({ region: 'us-west-2' })),
  secretsManager: vi.fn(async () => new SecretsManagerClient({ region: 'us-west-2' })),
});

const awsError = (name: string, status: number) =>
  Object.assign(new Error(`${name} (test)`), { name, $metadata: { httpStatusCode: status } });

beforeEach(() => {
  ssmMock.reset();
  secretsMock.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Slack webhook secret', () => {
  it('reads the SSM SecureString decrypted, and caches it until the TTL passes', async () => {
    // Powertools Parameters keeps the value's expiry on the system clock.
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    let now = 1_000_000;
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: hook } });
    const clients = loaders();
    const read = webhookSecret({
      source: 'ssm',
      name: '/ecr-pipeline/dev/slack-webhook-url',
      ...clients,
      ttlMs: 300_000,
      logger: stubLogger(),
      now: () => now,
    });
    await expect(read()).resolves.toBe(hook);
    await expect(read()).resolves.toBe(hook);
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, {
      Name: '/ecr-pipeline/dev/slack-webhook-url',
      WithDecryption: true,
    });
    now += 300_001;
    vi.setSystemTime(now);
    await read();
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
    expect(clients.secretsManager).not.toHaveBeenCalled();
  });

  it('turns Slack off when the parameter does not exist, says so once, and remembers it until the TTL passes', async () => {
    const logger = stubLogger();
    let now = 0;
    ssmMock.on(GetParameterCommand).rejects(awsError('ParameterNotFound', 400));
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ...loaders(),
      ttlMs: 60_000,
      logger,
      now: () => now,
    });
    await expect(read()).resolves.toBeUndefined();
    await expect(read()).resolves.toBeUndefined();
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    now += 60_001;
    await expect(read()).resolves.toBeUndefined();
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain('hooks.slack.com');
  });

  it('reads a Secrets Manager secret holding the URL or a JSON object with url, loading only that client', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ url: hook }) });
    const clients = loaders();
    const read = webhookSecret({
      source: 'secretsmanager',
      name: 'ecr-pipeline/slack',
      ...clients,
      ttlMs: 1000,
      logger: stubLogger(),
    });
    await expect(read()).resolves.toBe(hook);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: 'ecr-pipeline/slack' });
    expect(clients.ssm).not.toHaveBeenCalled();
  });

  it('turns Slack off when the secret does not exist', async () => {
    secretsMock.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException', 400));
    const read = webhookSecret({
      source: 'secretsmanager',
      name: 'ecr-pipeline/slack',
      ...loaders(),
      ttlMs: 1000,
      logger: stubLogger(),
    });
    await expect(read()).resolves.toBeUndefined();
  });

  it('accepts http:// (local webhook sinks) and refuses what is not a URL, without echoing it', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Value: 'http://127.0.0.1:4590/slack' } })
      .resolvesOnce({ Parameter: { Value: 'not a url' } })
      .resolvesOnce({ Parameter: { Value: 'ftp://example.com/x' } });
    const read = webhookSecret({ source: 'ssm', name: '/x', ...loaders(), ttlMs: 0, logger: stubLogger() });
    await expect(read()).resolves.toBe('http://127.0.0.1:4590/slack');
    await expect(read()).rejects.toThrow(WebhookSecretError);
    const error = await read().catch((e: Error) => e);
    expect(error).toBeInstanceOf(WebhookSecretError);
    expect(String(error)).not.toContain('ftp://');
  });

  it('reads a value that is not a URL again at once, not from the cache', async () => {
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Value: 'not a url' } })
      .resolves({ Parameter: { Value: hook } });
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ...loaders(),
      ttlMs: 60_000,
      logger: stubLogger(),
    });
    await expect(read()).rejects.toThrow(WebhookSecretError);
    await expect(read()).resolves.toBe(hook);
    await expect(read()).resolves.toBe(hook);
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  it('lets a transient SSM error fail this delivery (and be retried), without caching it', async () => {
    ssmMock
      .on(GetParameterCommand)
      .rejectsOnce(awsError('ThrottlingException', 400))
      .resolves({ Parameter: { Value: hook } });
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ...loaders(),
      ttlMs: 60_000,
      logger: stubLogger(),
    });
    await expect(read()).rejects.toThrow('ThrottlingException');
    await expect(read()).resolves.toBe(hook);
  });

  it('throws the error of the store, not the wrapper of Powertools', async () => {
    ssmMock.on(GetParameterCommand).rejects(awsError('AccessDeniedException', 400));
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ...loaders(),
      ttlMs: 60_000,
      logger: stubLogger(),
    });
    await expect(read()).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('turns Slack off for an empty or blank value, and trims the URL', async () => {
    const logger = stubLogger();
    ssmMock
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Value: '   ' } })
      .resolves({ Parameter: { Value: ` ${hook}\n` } });
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ...loaders(),
      ttlMs: 0,
      logger,
    });
    await expect(read()).resolves.toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith(
      'Slack is off: the webhook URL parameter does not exist or is empty',
      {
        source: 'ssm',
        parameter: '/x',
      },
    );
    await expect(read()).resolves.toBe(hook);
  });

  it('reads again once the remembered absence has expired, not before', async () => {
    let now = 5000;
    ssmMock.on(GetParameterCommand).rejects(awsError('ParameterNotFound', 400));
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ...loaders(),
      ttlMs: 1000,
      logger: stubLogger(),
      now: () => now,
    });
    await read();
    now = 5999;
    await read();
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    now = 6000;
    await read();
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  it('says again that Slack is off when the value disappears after it was there', async () => {
    const logger = stubLogger();
    let now = 0;
    ssmMock
      .on(GetParameterCommand)
      .rejectsOnce(awsError('ParameterNotFound', 400))
      .resolvesOnce({ Parameter: { Value: hook } })
      .rejects(awsError('ParameterNotFound', 400));
    const read = webhookSecret({ source: 'ssm', name: '/x', ...loaders(), ttlMs: 0, logger, now: () => now });
    await expect(read()).resolves.toBeUndefined();
    now = 1;
    await expect(read()).resolves.toBe(hook);
    now = 2;
    await expect(read()).resolves.toBeUndefined();
    expect(logger.warn).toHaveBeenCalledTimes(2);
  });

  it('caches the value for the whole seconds of the TTL', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: hook } });
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ...loaders(),
      ttlMs: 1500,
      logger: stubLogger(),
    });
    await read();
    vi.setSystemTime(1_000_900);
    await read();
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    vi.setSystemTime(1_001_200);
    await read();
    expect(ssmMock).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  it('reads a JSON secret with a webhookUrl key, and refuses one without a URL in it', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ webhookUrl: hook }) })
      .resolvesOnce({ SecretString: JSON.stringify({ url: 42 }) })
      .resolvesOnce({ SecretString: '{not json' });
    const read = webhookSecret({
      source: 'secretsmanager',
      name: 'ecr-pipeline/slack',
      ...loaders(),
      ttlMs: 0,
      logger: stubLogger(),
    });
    await expect(read()).resolves.toBe(hook);
    await expect(read()).rejects.toThrow('the Slack webhook secret is not a URL');
    await expect(read()).rejects.toThrow('the Slack webhook secret is not a URL');
  });

  it('prefers the url key of a JSON secret that has both', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ url: hook, webhookUrl: 'https://example.com/other' }) });
    const read = webhookSecret({
      source: 'secretsmanager',
      name: 'ecr-pipeline/slack',
      ...loaders(),
      ttlMs: 0,
      logger: stubLogger(),
    });
    await expect(read()).resolves.toBe(hook);
  });

  it('turns Slack off for a binary secret', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([104, 116]) });
    const logger = stubLogger();
    const read = webhookSecret({
      source: 'secretsmanager',
      name: 'ecr-pipeline/slack',
      ...loaders(),
      ttlMs: 0,
      logger,
    });
    await expect(read()).resolves.toBeUndefined();
    expect(logger.warn).toHaveBeenCalledWith(expect.any(String), {
      source: 'secretsmanager',
      parameter: 'ecr-pipeline/slack',
    });
  });

  it('names the scheme a URL must have', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'ftp://example.com/x' } });
    const read = webhookSecret({ source: 'ssm', name: '/x', ...loaders(), ttlMs: 0, logger: stubLogger() });
    await expect(read()).rejects.toThrow('the Slack webhook secret is not an http(s) URL');
    expect(new WebhookSecretError('x').name).toBe('WebhookSecretError');
  });

  it('reads through the clients it is given, not clients of its own', async () => {
    const ssm = new SSMClient({ region: 'eu-west-1' });
    const secretsManager = new SecretsManagerClient({ region: 'eu-west-1' });
    mockClient(ssm)
      .on(GetParameterCommand)
      .resolves({ Parameter: { Value: hook } });
    mockClient(secretsManager).on(GetSecretValueCommand).resolves({ SecretString: hook });
    const given = { ssm: async () => ssm, secretsManager: async () => secretsManager };
    const options = { name: '/x', ...given, ttlMs: 0, logger: stubLogger() };
    await expect(webhookSecret({ ...options, source: 'ssm' })()).resolves.toBe(hook);
    await expect(webhookSecret({ ...options, source: 'secretsmanager' })()).resolves.toBe(hook);
  });

  it('refuses a JSON secret whose url is not text', async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ url: [hook] }) });
    const read = webhookSecret({
      source: 'secretsmanager',
      name: 'ecr-pipeline/slack',
      ...loaders(),
      ttlMs: 0,
      logger: stubLogger(),
    });
    await expect(read()).rejects.toThrow('the Slack webhook secret is not a URL');
  });

  it('says that a value that is not a URL is not one', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'not a url' } });
    const read = webhookSecret({ source: 'ssm', name: '/x', ...loaders(), ttlMs: 0, logger: stubLogger() });
    await expect(read()).rejects.toThrow('the Slack webhook secret is not a URL');
  });
});
