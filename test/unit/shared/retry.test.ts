import { describe, expect, it } from 'vitest';
import { mapLimit } from '../../../functions/shared/retry.ts';

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
