/**
 * Bounded retries with exponential backoff and full jitter (for the notification channels' HTTP
 * calls; AWS clients use the SDK's retry modes), and bounded concurrency.
 */
import { isTransient } from './transient.ts';

export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts: number;
  /** Backoff cap of the first retry, doubled each time up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Whether an error is worth another attempt; others are thrown at once. */
  retryable?: (error: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Called before each retry (for logs and counters). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn` until it succeeds, the error is not retryable, or the attempts are used up. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retryable = options.retryable ?? isTransient;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !retryable(error)) throw error;
      const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.round(random() * cap);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

/**
 * Maps `items` through `fn` with at most `limit` calls in flight; results keep the input order.
 * After a failure no new item is started, and the first error is thrown only once the calls in
 * flight have settled, so that none of them outlives the caller (and the invocation).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  // Stryker disable next-line ArrayDeclaration: every slot is set before the array is returned (a failure throws)
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker),
  );
  const rejected = settled.find((result) => result.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}
