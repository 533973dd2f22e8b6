import { readFileSync } from 'node:fs';
import { vi } from 'vitest';
import type { Logger } from '../../../functions/ecr-events/logger.ts';

const root = new URL('../../events/', import.meta.url);

/** A fresh copy of a real event fixture (test/events/<path>), safe to mutate. */
export function event(path: string): Record<string, unknown> & { detail: Record<string, unknown> } {
  return JSON.parse(readFileSync(new URL(path, root), 'utf8'));
}

/** A logger whose calls can be asserted. */
export function stubLogger(): Logger & { [K in keyof Logger]: ReturnType<typeof vi.fn> } {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() } as never;
}

/**
 * An S3 bucket in memory that honours `If-None-Match: *` and `If-Match` as S3 does (412 otherwise),
 * for `mockClient(...).on(GetObjectCommand).callsFake(bucket.get)` and `.on(PutObjectCommand).callsFake(bucket.put)`.
 * Every call waits a tick first, so that calls made at once interleave as they would over the network.
 */
export function conditionalBucket() {
  const objects = new Map<string, { body: string; eTag: string }>();
  let version = 0;
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
  const status = (code: number, name: string) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });
  return {
    objects,
    get: async (input: { Key?: string }) => {
      await tick();
      const found = objects.get(String(input.Key));
      if (!found) throw status(404, 'NoSuchKey');
      return { Body: { transformToString: async () => found.body }, ETag: found.eTag };
    },
    put: async (input: { Key?: string; Body?: unknown; IfMatch?: string; IfNoneMatch?: string }) => {
      await tick();
      const key = String(input.Key);
      const found = objects.get(key);
      if (input.IfNoneMatch === '*' && found) throw status(412, 'PreconditionFailed');
      if (input.IfMatch !== undefined && found?.eTag !== input.IfMatch)
        throw status(412, 'PreconditionFailed');
      const eTag = `"e${++version}"`;
      objects.set(key, { body: String(input.Body), eTag });
      return { ETag: eTag };
    },
    delete: async (input: { Key?: string }) => {
      await tick();
      objects.delete(String(input.Key));
      return {};
    },
    list: async (input: { Prefix?: string }) => {
      await tick();
      const keys = [...objects.keys()].filter((key) => key.startsWith(input.Prefix ?? '')).sort();
      return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
    },
  };
}
