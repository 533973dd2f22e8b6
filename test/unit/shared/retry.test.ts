import { describe, expect, it, vi } from 'vitest';
import { mapLimit, withRetry } from '../../../functions/shared/retry.ts';

describe('mapLimit', () => {
  it('keeps the input order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([30, 10, 20, 0, 5], 2, async (ms, i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, ms));
      inFlight--;
      return i;
    });
    expect(results).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('throws only once the calls in flight have settled, and starts no new one after a failure', async () => {
    const started: number[] = [];
    let slowFinished = false;
    const run = mapLimit([0, 1, 2, 3], 2, async (item) => {
      started.push(item);
      if (item === 0) throw new Error('denied');
      await new Promise((resolve) => setTimeout(resolve, 20));
      slowFinished = true;
      return item;
    });
    await expect(run).rejects.toThrow('denied');
    expect(slowFinished).toBe(true);
    expect(started).toEqual([0, 1]);
  });
});

/** An error the default rule retries (a throttled SDK call) and one it does not. */
const throttled = () => Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
const denied = () => Object.assign(new Error('denied'), { name: 'AccessDeniedException' });

describe('withRetry', () => {
  it('retries a transient failure and answers the first success, numbering the attempts from 1', async () => {
    const attempts: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw throttled();
        return 'sent';
      },
      { attempts: 3, baseDelayMs: 10, maxDelayMs: 100, sleep: async () => {}, random: () => 0 },
    );
    expect(result).toBe('sent');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('doubles the backoff cap from the base up to the maximum, draws the delay under it and reports each retry', async () => {
    const slept: number[] = [];
    const retries: [unknown, number, number][] = [];
    const error = throttled();
    await expect(
      withRetry(
        async () => {
          throw error;
        },
        {
          attempts: 5,
          baseDelayMs: 100,
          maxDelayMs: 250,
          sleep: async (ms) => {
            slept.push(ms);
          },
          random: () => 0.5,
          onRetry: (e, attempt, delay) => retries.push([e, attempt, delay]),
        },
      ),
    ).rejects.toBe(error);
    expect(slept).toEqual([50, 100, 125, 125]);
    expect(retries).toEqual([
      [error, 1, 50],
      [error, 2, 100],
      [error, 3, 125],
      [error, 4, 125],
    ]);
  });

  it('throws an error that is not worth another attempt at once', async () => {
    const sleep = vi.fn(async () => {});
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw denied();
        },
        { attempts: 3, baseDelayMs: 10, maxDelayMs: 100, sleep },
      ),
    ).rejects.toThrow('denied');
    expect(calls).toBe(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('asks the given rule whether an error is worth another attempt', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          if (calls === 1) throw denied();
          return calls;
        },
        { attempts: 2, baseDelayMs: 1, maxDelayMs: 1, sleep: async () => {}, retryable: () => true },
      ),
    ).resolves.toBe(2);
  });

  it('waits the drawn delay on a timer, drawing with Math.random, when given no sleep or random', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      let calls = 0;
      const run = withRetry(
        async () => {
          calls++;
          if (calls === 1) throw throttled();
          return calls;
        },
        { attempts: 2, baseDelayMs: 1000, maxDelayMs: 1000 },
      );
      await vi.advanceTimersByTimeAsync(499);
      expect(calls).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      await expect(run).resolves.toBe(2);
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
    }
  });
});

describe('mapLimit: how many workers', () => {
  it('answers an empty list without calling fn', async () => {
    const fn = vi.fn(async (item: number) => item);
    await expect(mapLimit([], 3, fn)).resolves.toEqual([]);
    expect(fn).not.toHaveBeenCalled();
  });

  it('still works through the list, one at a time, with a limit below 1', async () => {
    let inFlight = 0;
    let most = 0;
    const results = await mapLimit([1, 2, 3], 0, async (item) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      return item * 2;
    });
    expect(results).toEqual([2, 4, 6]);
    expect(most).toBe(1);
  });

  it('starts every item at once when the limit is above their number', async () => {
    let inFlight = 0;
    let most = 0;
    await mapLimit([1, 2, 3], 10, async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
    });
    expect(most).toBe(3);
  });
});
