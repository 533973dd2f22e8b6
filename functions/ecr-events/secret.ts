/**
 * The Slack webhook URL, read from SSM Parameter Store (SecureString, decrypted) or Secrets Manager
 * and cached for a while across invocations of the same container, its absence included. Never logged.
 * The store's client and commands are loaded on the first read, and only the configured store's.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Logger } from './logger.ts';

export class WebhookSecretError extends Error {
  override name = 'WebhookSecretError';
}

export interface WebhookSecretOptions {
  source: 'ssm' | 'secretsmanager';
  name: string;
  /** Loaders of the clients (clients.ts); only the one `source` names is called. */
  ssm: () => Promise<Pick<SSMClient, 'send'>>;
  secretsManager: () => Promise<Pick<SecretsManagerClient, 'send'>>;
  ttlMs: number;
  logger: Logger;
  now?: () => number;
}

/** Returns a reader: the URL, or undefined when the parameter or secret does not exist (Slack off). */
export function webhookSecret(options: WebhookSecretOptions): () => Promise<string | undefined> {
  const now = options.now ?? Date.now;
  let cached: { value: string | undefined; expiresAt: number } | undefined;
  let reportedMissing = false;

  const fetchValue = async (): Promise<string | undefined> => {
    try {
      if (options.source === 'ssm') {
        const [{ GetParameterCommand }, ssm] = await Promise.all([import('./sdk/ssm.ts'), options.ssm()]);
        const out = await ssm.send(new GetParameterCommand({ Name: options.name, WithDecryption: true }));
        return out.Parameter?.Value;
      }
      const [{ GetSecretValueCommand }, secretsManager] = await Promise.all([
        import('./sdk/secrets-manager.ts'),
        options.secretsManager(),
      ]);
      const out = await secretsManager.send(new GetSecretValueCommand({ SecretId: options.name }));
      return out.SecretString;
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'ParameterNotFound' || name === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  };

  return async () => {
    if (cached && cached.expiresAt > now()) return cached.value;
    const raw = (await fetchValue())?.trim();
    const value = raw === undefined || raw === '' ? undefined : parseWebhook(raw);
    cached = { value, expiresAt: now() + options.ttlMs };
    if (value === undefined && !reportedMissing) {
      reportedMissing = true;
      options.logger.warn('Slack is off: the webhook URL parameter does not exist or is empty', {
        source: options.source,
        parameter: options.name,
      });
    }
    if (value !== undefined) reportedMissing = false;
    return value;
  };
}

/** Accepts the URL itself, or a JSON secret with a `url` or `webhookUrl` key. */
function parseWebhook(raw: string): string {
  let candidate = raw;
  if (raw.startsWith('{')) {
    try {
      const json = JSON.parse(raw) as Record<string, unknown>;
      const url = json.url ?? json.webhookUrl;
      candidate = typeof url === 'string' ? url : '';
    } catch {
      candidate = '';
    }
  }
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    throw new WebhookSecretError('the Slack webhook secret is not a URL');
  }
  // http:// is allowed for the local cloud's webhook sink.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new WebhookSecretError('the Slack webhook secret is not an http(s) URL');
  }
  return candidate;
}
