/**
 * Writes and deletes small S3 objects with two signed HTTP requests, for functions that need nothing
 * else from S3: the generated S3 client bundles ~130 KB (all of S3's schemas, endpoint rules and
 * checksum code) into every function that imports it. Signs with SigV4 like the SDK does for S3
 * (unsigned-path escaping, `x-amz-content-sha256`), honours `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`
 * (path-style, for emulators), times out every request and retries throttling and 5xx with backoff.
 */
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsApiError, type CallerOptions, Sha256, signedFetch } from './aws-json.ts';
import { withRetry } from './retry.ts';

/** Credentials, region, timeout, attempts (and, for tests, fetch, env and sleep), as for awsCaller. */
export type S3ObjectsOptions = CallerOptions;

export interface PutOptions {
  contentType?: string;
  /** `*`: write only if no object has the key; S3 answers 412 PreconditionFailed otherwise. */
  ifNoneMatch?: '*';
}

/** PutObject and DeleteObject, nothing more. Errors are AwsApiError with S3's error code as name. */
export interface S3Objects {
  put(bucket: string, key: string, body: string, options?: PutOptions): Promise<void>;
  delete(bucket: string, key: string): Promise<void>;
}

/** RFC 3986 escaping of each key segment, as S3 canonicalises paths; `/` stays. */
export function escapeKey(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}

/** Where a request for `bucket`/`key` goes: the configured endpoint path-style, else virtual-hosted. */
export function objectUrl(
  bucket: string,
  key: string,
  region: string,
  env: Record<string, string | undefined>,
): URL {
  const configured = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  const path = escapeKey(key);
  if (configured) {
    const base = new URL(configured);
    return new URL(`${base.protocol}//${base.host}${base.pathname.replace(/\/$/, '')}/${bucket}/${path}`);
  }
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  // Virtual-hosted style needs a bucket name that is a valid TLS host label (no dots).
  return bucket.includes('.')
    ? new URL(`https://s3.${region}.${suffix}/${bucket}/${path}`)
    : new URL(`https://${bucket}.s3.${region}.${suffix}/${path}`);
}

function errorCode(xml: string): { code?: string; message?: string } {
  return {
    code: xml.match(/<Code>([^<]*)<\/Code>/)?.[1],
    message: xml.match(/<Message>([^<]*)<\/Message>/)?.[1],
  };
}

/** A PutObject/DeleteObject caller. */
export function s3Objects(options: S3ObjectsOptions): S3Objects {
  const doFetch = options.fetch ?? fetch;
  const env = options.env ?? process.env;
  const signer = new SignatureV4({
    service: 's3',
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    // S3 canonicalises the path as sent, without the second escaping other services use.
    uriEscapePath: false,
  });

  async function send(
    method: 'PUT' | 'DELETE',
    bucket: string,
    key: string,
    headers: Record<string, string>,
    body?: string,
  ) {
    const url = objectUrl(bucket, key, options.region, env);
    const payloadHash = createHash('sha256')
      .update(body ?? '')
      .digest('hex');
    const response = await signedFetch(
      signer,
      url,
      method,
      { 'x-amz-content-sha256': payloadHash, ...headers },
      body,
      doFetch,
      options.timeoutMs,
    );
    const text = await response.text();
    if (!response.ok) {
      const { code, message } = errorCode(text);
      throw new AwsApiError(
        code || `Http${response.status}`,
        message || `HTTP ${response.status}`,
        response.status,
      );
    }
  }

  const retry = (fn: () => Promise<void>) =>
    withRetry(fn, {
      attempts: options.attempts ?? 3,
      baseDelayMs: 100,
      maxDelayMs: 2000,
      sleep: options.sleep,
    });

  return {
    put: (bucket, key, body, put = {}) =>
      retry(() =>
        send(
          'PUT',
          bucket,
          key,
          {
            'content-type': put.contentType ?? 'application/octet-stream',
            ...(put.ifNoneMatch ? { 'if-none-match': put.ifNoneMatch } : {}),
          },
          body,
        ),
      ),
    delete: (bucket, key) => retry(() => send('DELETE', bucket, key, {})),
  };
}
