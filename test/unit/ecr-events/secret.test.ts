import { describe, expect, it, vi } from 'vitest';
import { WebhookSecretError, webhookSecret } from '../../../functions/ecr-events/secret.ts';
import { AwsApiError, type AwsCaller } from '../../../functions/shared/aws-json.ts';
import { stubLogger } from './fixtures.ts';

const hook = 'https://hooks.slack.com/services/T000/B000/XXXX';
const unused = caller(vi.fn());

/** The fake's `json` is a plain mock; the domain code sees the generic caller type. */
function caller(
  json: ReturnType<typeof vi.fn>,
): Pick<AwsCaller, 'json'> & { json: ReturnType<typeof vi.fn> } {
  return { json } as never;
}

describe('Slack webhook secret', () => {
  it('reads the SSM SecureString decrypted, and caches it until the TTL passes', async () => {
    let now = 1_000_000;
    const ssm = caller(vi.fn(async () => ({ Parameter: { Value: hook } })));
    const read = webhookSecret({
      source: 'ssm',
      name: '/ecr-pipeline/dev/slack-webhook-url',
      ssm,
      secretsManager: unused,
      ttlMs: 300_000,
      logger: stubLogger(),
      now: () => now,
    });
    await expect(read()).resolves.toBe(hook);
    await expect(read()).resolves.toBe(hook);
    expect(ssm.json).toHaveBeenCalledTimes(1);
    expect(ssm.json).toHaveBeenCalledWith('GetParameter', {
      Name: '/ecr-pipeline/dev/slack-webhook-url',
      WithDecryption: true,
    });
    now += 300_001;
    await read();
    expect(ssm.json).toHaveBeenCalledTimes(2);
  });

  it('turns Slack off when the parameter does not exist, and says so once', async () => {
    const logger = stubLogger();
    const ssm = caller(
      vi.fn(async () => {
        throw new AwsApiError('ParameterNotFound', 'not found', 400);
      }),
    );
    const read = webhookSecret({ source: 'ssm', name: '/x', ssm, secretsManager: unused, ttlMs: 0, logger });
    await expect(read()).resolves.toBeUndefined();
    await expect(read()).resolves.toBeUndefined();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain('hooks.slack.com');
  });

  it('reads a Secrets Manager secret holding the URL or a JSON object with url', async () => {
    const secretsManager = caller(vi.fn(async () => ({ SecretString: JSON.stringify({ url: hook }) })));
    const read = webhookSecret({
      source: 'secretsmanager',
      name: 'ecr-pipeline/slack',
      ssm: unused,
      secretsManager,
      ttlMs: 1000,
      logger: stubLogger(),
    });
    await expect(read()).resolves.toBe(hook);
    expect(secretsManager.json).toHaveBeenCalledWith('GetSecretValue', { SecretId: 'ecr-pipeline/slack' });
  });

  it('accepts http:// (local webhook sinks) and refuses what is not a URL, without echoing it', async () => {
    const values = ['http://127.0.0.1:4590/slack', 'not a url', 'ftp://example.com/x'];
    const ssm = caller(vi.fn(async () => ({ Parameter: { Value: values.shift() } })));
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ssm,
      secretsManager: unused,
      ttlMs: 0,
      logger: stubLogger(),
    });
    await expect(read()).resolves.toBe('http://127.0.0.1:4590/slack');
    await expect(read()).rejects.toThrow(WebhookSecretError);
    const error = await read().catch((e: Error) => e);
    expect(error).toBeInstanceOf(WebhookSecretError);
    expect(String(error)).not.toContain('ftp://');
  });

  it('lets a transient SSM error fail this delivery (and be retried), without caching it', async () => {
    const ssm = caller(
      vi
        .fn()
        .mockRejectedValueOnce(new AwsApiError('ThrottlingException', 'Rate exceeded', 400))
        .mockResolvedValueOnce({ Parameter: { Value: hook } }),
    );
    const read = webhookSecret({
      source: 'ssm',
      name: '/x',
      ssm,
      secretsManager: unused,
      ttlMs: 60_000,
      logger: stubLogger(),
    });
    await expect(read()).rejects.toThrow('Rate exceeded');
    await expect(read()).resolves.toBe(hook);
  });
});
