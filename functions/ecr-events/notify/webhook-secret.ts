/**
 * The Slack webhook URL, read from SSM Parameter Store (SecureString, decrypted) or Secrets Manager
 * through Powertools Parameters, and cached for a while across invocations of the same container, its
 * absence included. Never logged. The store's client and provider are loaded on the first read, and only
 * the configured store's.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { lazy } from '../../shared/lazy.ts';
import type { Logger } from '../logger.ts';

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
  /** The clock of the remembered absence (Powertools keeps the value's own expiry). */
  now?: () => number;
}

/** The SDK's names of a parameter or secret that does not exist. */
const MISSING = new Set(['ParameterNotFound', 'ResourceNotFoundException']);

/** A Powertools provider of the store `source` names, over the client clients.ts loads. */
async function providerOf(options: WebhookSecretOptions): Promise<Provider> {
  if (options.source === 'ssm') {
    const [{ SSMProvider }, ssm] = await Promise.all([import('../sdk/ssm.ts'), options.ssm()]);
    const provider = new SSMProvider({ awsSdkV3Client: ssm as SSMClient });
    return (name, maxAge, forceFetch) => provider.get(name, { decrypt: true, maxAge, forceFetch });
  }
  const [{ SecretsProvider }, secretsManager] = await Promise.all([
    import('../sdk/secrets-manager.ts'),
    options.secretsManager(),
  ]);
  const provider = new SecretsProvider({ awsSdkV3Client: secretsManager as SecretsManagerClient });
  return async (name, maxAge, forceFetch) => {
    const value = await provider.get(name, { maxAge, forceFetch });
    return typeof value === 'string' ? value : undefined;
  };
}

type Provider = (name: string, maxAgeSeconds: number, forceFetch: boolean) => Promise<string | undefined>;

/**
 * Returns a reader: the URL, or undefined when the parameter or secret does not exist (Slack off).
 * Powertools Parameters caches a value for the TTL (`maxAge`); it does not cache an absence, so the
 * reader remembers that one itself, for the same TTL, and says so once until the value appears.
 */
export function webhookSecret(options: WebhookSecretOptions): () => Promise<string | undefined> {
  const now = options.now ?? Date.now;
  const maxAge = Math.floor(options.ttlMs / 1000);
  const provider = lazy(() => providerOf(options));
  let missingUntil = Number.NEGATIVE_INFINITY;
  let reportedMissing = false;
  // A value that is not a URL is read again at once, not served from the cache until the TTL passes.
  // Stryker disable next-line BooleanLiteral: the first read has nothing cached to bypass
  let invalid = false;

  const fetchValue = async (): Promise<string | undefined> => {
    const get = await provider();
    try {
      return await get(options.name, maxAge, invalid);
    } catch (error) {
      // Powertools wraps the SDK's error (GetParameterError): the cause tells a missing one.
      const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
      // Stryker disable next-line StringLiteral: an error without a name is not a missing parameter, whatever stands in for the name
      if (MISSING.has((cause as { name?: string }).name ?? '')) return undefined;
      throw cause;
    }
  };

  return async () => {
    if (missingUntil > now()) return undefined;
    const raw = (await fetchValue())?.trim();
    invalid = true;
    const value = raw === undefined || raw === '' ? undefined : parseWebhook(raw);
    invalid = false;
    if (value !== undefined) {
      reportedMissing = false;
      return value;
    }
    missingUntil = now() + options.ttlMs;
    if (!reportedMissing) {
      reportedMissing = true;
      options.logger.warn('Slack is off: the webhook URL parameter does not exist or is empty', {
        source: options.source,
        parameter: options.name,
      });
    }
    return undefined;
  };
}

/** Accepts the URL itself, or a JSON secret with a `url` or `webhookUrl` key. */
function parseWebhook(raw: string): string {
  const candidate = raw.startsWith('{') ? urlOfJson(raw) : raw;
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

/** The `url` or `webhookUrl` of a JSON secret. */
function urlOfJson(raw: string): string {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new WebhookSecretError('the Slack webhook secret is not a URL');
  }
  const url = json.url ?? json.webhookUrl;
  if (typeof url !== 'string') throw new WebhookSecretError('the Slack webhook secret is not a URL');
  return url;
}
