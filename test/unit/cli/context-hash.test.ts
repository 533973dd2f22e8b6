/** The fingerprint of a context that names a dirty work tree's image: one per content. */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planContext } from '../../../cli/context.ts';
import { CONTEXT_HASH_LENGTH, contextHash } from '../../../cli/context-hash.ts';
import { checkTag } from '../../../functions/shared/naming.ts';

const work = mkdtempSync(join(tmpdir(), 'context-hash-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let count = 0;

/** A fresh context folder holding `files` (path -> content). */
function context(files: Record<string, string>): string {
  const dir = join(work, `c${count++}`);
  for (const [path, content] of Object.entries({ Dockerfile: 'FROM busybox\n', ...files })) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const hashOf = async (dir: string) => contextHash(await planContext({ dir }));

describe('the fingerprint of a context', () => {
  it('is the same for the same content in another folder', async () => {
    const a = await hashOf(context({ 'site/index.html': 'hello' }));
    const b = await hashOf(context({ 'site/index.html': 'hello' }));
    expect(a).toBe(b);
    expect(a).toMatch(new RegExp(`^[0-9a-f]{${CONTEXT_HASH_LENGTH}}$`));
    expect(checkTag(`a1b2c3d-dirty-${a}`)).toBeUndefined();
  });

  it('changes when a file changes, one edit after another', async () => {
    const first = await hashOf(context({ 'site/index.html': 'hello' }));
    const second = await hashOf(context({ 'site/index.html': 'hello!' }));
    const third = await hashOf(context({ 'site/index.html': 'hello!!' }));
    expect(new Set([first, second, third]).size).toBe(3);
  });

  it('changes when a file is renamed, added or made executable', async () => {
    const base = await hashOf(context({ 'run.sh': 'echo' }));
    expect(await hashOf(context({ 'start.sh': 'echo' }))).not.toBe(base);
    expect(await hashOf(context({ 'run.sh': 'echo', 'b.txt': '' }))).not.toBe(base);
    const executable = context({ 'run.sh': 'echo' });
    chmodSync(join(executable, 'run.sh'), 0o755);
    expect(await hashOf(executable)).not.toBe(base);
  });

  it('tells a file from a folder, and a link from its target', async () => {
    const file = context({ x: '' });
    const folder = context({});
    mkdirSync(join(folder, 'x'));
    expect(await hashOf(file)).not.toBe(await hashOf(folder));
    const one = context({ a: '', b: '' });
    symlinkSync('a', join(one, 'link'));
    const other = context({ a: '', b: '' });
    symlinkSync('b', join(other, 'link'));
    expect(await hashOf(one)).not.toBe(await hashOf(other));
  });

  it('ignores what .dockerignore leaves out', async () => {
    const a = await hashOf(context({ '.dockerignore': 'tmp\n', 'tmp/x.log': 'one' }));
    const b = await hashOf(context({ '.dockerignore': 'tmp\n', 'tmp/x.log': 'two' }));
    expect(a).toBe(b);
  });

  it('reads a file larger than its read buffer whole', async () => {
    const big = 'a'.repeat(1024 * 1024 + 10);
    const a = await hashOf(context({ big }));
    const b = await hashOf(context({ big: `${big.slice(0, -1)}b` }));
    expect(a).not.toBe(b);
  });
});
