/**
 * Whether an error is worth another attempt: one list for every function (build-trigger's
 * transient/permanent split and the notification channels' retries).
 */

/** Error names of throttling, limits hit for a while, server-side failures and timeouts. */
const TRANSIENT_NAMES: ReadonlySet<unknown> = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'SlowDown',
  'AccountLimitExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalServerException',
  'InternalFailure',
  'ServerException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
]);

/** Network error codes of a connection that failed on the way (reset, timed out, refused, DNS). */
const TRANSIENT_CODES: ReadonlySet<unknown> = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The HTTP status an SDK error carries (`$metadata.httpStatusCode`), if any. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as ErrorShape).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True for throttling, timeouts, network failures and server-side (5xx, 429) errors of the SDK or fetch. */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const shape = error as ErrorShape;
  if (TRANSIENT_NAMES.has(shape.name) || TRANSIENT_CODES.has(shape.code)) return true;
  if (shape.$retryable) return true;
  const status = httpStatusOf(error) ?? 0;
  return status >= 500 || status === 429;
}
