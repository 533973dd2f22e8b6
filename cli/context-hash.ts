/**
 * A short fingerprint of what a context sends: each entry's path, kind, mode and content (a link's
 * target), in the plan's order. Two contexts that would build the same image from the same files get
 * the same fingerprint; any edit to a sent file changes it. Files left out by .dockerignore do not count.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { ContextPlan } from './context.ts';

/** Hex characters of the fingerprint kept in a tag: 48 bits, enough to tell one edit from another. */
export const CONTEXT_HASH_LENGTH = 12;

const CHUNK = 1024 * 1024;

function hashFile(hash: ReturnType<typeof createHash>, path: string, buffer: Buffer): void {
  const fd = openSync(path, 'r');
  try {
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) {
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
}

/** The fingerprint of a planned context (sha-256, first CONTEXT_HASH_LENGTH hex characters). */
export function contextHash(plan: Pick<ContextPlan, 'dir' | 'entries' | 'stats'>): string {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(CHUNK);
  for (const entry of plan.entries) {
    const absolute = join(plan.dir, entry);
    const stat = plan.stats.get(absolute);
    const kind = stat?.isDirectory() ? 'dir' : stat?.isSymbolicLink() ? 'link' : 'file';
    // Modes go into the tarball (an executable script builds differently from a plain file).
    hash.update(`${kind}\0${entry}\0${((stat?.mode ?? 0) & 0o7777).toString(8)}\0`);
    if (kind === 'link') hash.update(readlinkSync(absolute));
    else if (kind === 'file') hashFile(hash, absolute, buffer);
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, CONTEXT_HASH_LENGTH);
}
