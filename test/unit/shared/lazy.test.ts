import { describe, expect, it, vi } from 'vitest';
import { endpointConfigured, lazy } from '../../../functions/shared/lazy.ts';

describe('lazy', () => {
  it('loads on the first call only and gives every caller the same value', async () => {
    const load = vi.fn(async () => ({ client: 1 }));
    const get = lazy(load);
    expect(load).not.toHaveBeenCalled();
    const [a, b] = await Promise.all([get(), get()]);
    expect(await get()).toBe(a);
    expect(b).toBe(a);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('loads again after a failed load, and keeps the value of the load that worked', async () => {
    const load = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new Error('chunk missing'))
      .mockResolvedValue('client');
    const get = lazy(load);
    await expect(get()).rejects.toThrow('chunk missing');
    await expect(get()).resolves.toBe('client');
    await expect(get()).resolves.toBe('client');
    expect(load).toHaveBeenCalledTimes(2);
  });
});

describe('endpointConfigured', () => {
  it("sees the service's own endpoint variable or the general one, not an empty one or another service's", () => {
    expect(endpointConfigured('S3', { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566' })).toBe(true);
    expect(endpointConfigured('S3', { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' })).toBe(true);
    expect(endpointConfigured('S3', { AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL: '' })).toBe(false);
    expect(endpointConfigured('S3', { AWS_ENDPOINT_URL_ECR: 'http://127.0.0.1:4566' })).toBe(false);
    expect(endpointConfigured('S3', {})).toBe(false);
  });
});
