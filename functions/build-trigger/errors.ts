/**
 * Errors of the build-trigger function, split by what Lambda should do with them:
 * a transient error is thrown so that the asynchronous invocation is retried (then sent to the
 * on-failure destination); a permanent one is reported and swallowed, since a retry cannot help.
 */

/** A failure a retry may cure (throttling, timeouts, account build limits, 5xx). */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** A failure a retry cannot cure (missing project, denied access, invalid input). */
export class PermanentError extends Error {
  override name = 'PermanentError';
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
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
]);

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** Whether an AWS SDK (or network) error is worth a retry. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const shape = error as SdkErrorShape;
  if (typeof shape.name === 'string' && TRANSIENT_NAMES.has(shape.name)) return true;
  if (typeof shape.code === 'string' && TRANSIENT_CODES.has(shape.code)) return true;
  if (shape.$retryable) return true;
  const status = shape.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status >= 500 || status === 429);
}

/** The error's name, for logs and records. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** Wraps an SDK error as transient or permanent, keeping it as the cause. */
export function classify(error: unknown, doing: string): TransientError | PermanentError {
  if (error instanceof TransientError || error instanceof PermanentError) return error;
  const message = `${doing} failed: ${errorName(error)}${error instanceof Error ? `: ${error.message}` : ''}`;
  return isTransient(error)
    ? new TransientError(message, { cause: error })
    : new PermanentError(message, { cause: error });
}
