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
