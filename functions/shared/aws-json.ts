/**
 * A small signed caller for the few read-only AWS API operations a function needs from services
 * whose generated SDK clients are large (SSM alone bundles ~75 KB of error classes and schemas).
 * It signs with SigV4 using the credentials of an SDK client the function already has, honours
 * `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` like the SDK (so the local cloud can point it
 * at its emulator), times out every request and retries throttling and 5xx with backoff.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, HttpRequest, SourceData } from '@smithy/types';
import { withRetry } from './retry.ts';

/** An AWS API error, with the service's error name (`ParameterNotFound`, `ThrottlingException`...). */
export class AwsApiError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(name: string, message: string, status: number) {
    super(message);
    this.name = name;
    this.$metadata = { httpStatusCode: status };
  }
}

export interface ServiceSpec {
  /** SigV4 signing name and endpoint prefix (`ssm`, `secretsmanager`, `ecs`, `lambda`). */
  signingName: string;
  /** Suffix of the SDK's per-service endpoint variable: `AWS_ENDPOINT_URL_<envName>`. */
  envName: string;
  /** `X-Amz-Target` prefix for JSON-protocol services (`AmazonSSM`), absent for REST ones. */
  targetPrefix?: string;
}

export interface CallerOptions {
  credentials: () => Promise<AwsCredentialIdentity>;
  region: string;
  timeoutMs: number;
  attempts?: number;
  fetch?: typeof fetch;
  env?: Record<string, string | undefined>;
  sleep?: (ms: number) => Promise<void>;
}

export interface AwsCaller {
  /** awsJson1_1 operation: POST `/` with `X-Amz-Target: <prefix>.<action>`. */
  json<T = Record<string, unknown>>(action: string, input: object): Promise<T>;
  /** REST-JSON GET (for example Lambda's `/2015-03-31/functions/`). */
  get<T = Record<string, unknown>>(path: string, query?: Record<string, string | undefined>): Promise<T>;
}

const toBytes = (data: ArrayBuffer | ArrayBufferView): Uint8Array =>
  ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape the SigV4 signer expects. */
export class Sha256 {
  private hash: Hash | Hmac;
  private readonly secret: Uint8Array | string | undefined;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined || typeof secret === 'string' ? secret : toBytes(secret);
    this.hash = this.create();
  }
  private create(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  reset(): void {
    this.hash = this.create();
  }
  update(data: SourceData): void {
    this.hash.update(typeof data === 'string' ? data : toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** Signs a request for `url` (its query included) and sends it with a timeout. */
export async function signedFetch(
  signer: SignatureV4,
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  doFetch: typeof fetch,
  timeoutMs: number,
): Promise<Response> {
  const request: HttpRequest = {
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host, ...headers },
    body,
  };
  const signed = await signer.sign(request);
  const { host: _host, ...sendHeaders } = signed.headers;
  return doFetch(url, { method, headers: sendHeaders, body, signal: AbortSignal.timeout(timeoutMs) });
}

/** The endpoint the SDK would use for `service`. */
export function endpointFor(
  service: ServiceSpec,
  region: string,
  env: Record<string, string | undefined>,
): URL {
  const configured = env[`AWS_ENDPOINT_URL_${service.envName}`] || env.AWS_ENDPOINT_URL;
  if (configured) return new URL(configured);
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://${service.signingName}.${region}.${suffix}`);
}

/** A caller for one service. */
export function awsCaller(service: ServiceSpec, options: CallerOptions): AwsCaller {
  const doFetch = options.fetch ?? fetch;
  const endpoint = endpointFor(service, options.region, options.env ?? process.env);
  const signer = new SignatureV4({
    service: service.signingName,
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const basePath = endpoint.pathname.replace(/\/$/, '');

  async function send<T>(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    body?: string,
  ): Promise<T> {
    const url = new URL(`${endpoint.protocol}//${endpoint.host}${basePath}${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const response = await signedFetch(signer, url, method, headers, body, doFetch, options.timeoutMs);
    const text = await response.text();
    const parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    if (!response.ok) {
      const type = String(
        response.headers.get('x-amzn-errortype') ?? parsed.__type ?? parsed.Type ?? 'UnknownError',
      );
      const name = type.split(':')[0]?.split('#').pop() || 'UnknownError';
      const message = String(parsed.message ?? parsed.Message ?? `HTTP ${response.status}`);
      throw new AwsApiError(name, message, response.status);
    }
    return parsed as T;
  }

  const retry = <T>(fn: () => Promise<T>) =>
    withRetry(fn, {
      attempts: options.attempts ?? 3,
      baseDelayMs: 100,
      maxDelayMs: 2000,
      sleep: options.sleep,
    });

  return {
    json: (action, input) =>
      retry(() =>
        send(
          'POST',
          '/',
          {},
          {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': `${service.targetPrefix}.${action}`,
          },
          JSON.stringify(input),
        ),
      ),
    get: (path, query = {}) => {
      const defined: Record<string, string> = {};
      for (const [key, value] of Object.entries(query)) if (value !== undefined) defined[key] = value;
      return retry(() => send('GET', path, defined, { accept: 'application/json' }));
    },
  };
}

export const SERVICES = {
  ssm: { signingName: 'ssm', envName: 'SSM', targetPrefix: 'AmazonSSM' },
  secretsManager: {
    signingName: 'secretsmanager',
    envName: 'SECRETS_MANAGER',
    targetPrefix: 'secretsmanager',
  },
  ecs: { signingName: 'ecs', envName: 'ECS', targetPrefix: 'AmazonEC2ContainerServiceV20141113' },
  lambda: { signingName: 'lambda', envName: 'LAMBDA' },
} as const satisfies Record<string, ServiceSpec>;
