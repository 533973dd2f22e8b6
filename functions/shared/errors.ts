/**
 * Errors of the functions, split by what Lambda should do with them: a transient error is thrown so
 * that the asynchronous invocation is retried (then sent to the on-failure destination); a permanent
 * one is reported and swallowed, since a retry cannot help.
 */
import { isTransient } from './transient.ts';

export { isTransient };

/** A failure a retry may cure (throttling, timeouts, account build limits, 5xx). */
export class TransientError extends Error {
  override name = 'TransientError';
}

/** A failure a retry cannot cure (missing project, denied access, invalid input). */
export class PermanentError extends Error {
  override name = 'PermanentError';
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
