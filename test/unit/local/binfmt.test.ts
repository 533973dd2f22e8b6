import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { qemuRules } from '../../../scripts/binfmt.mjs';

let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

describe('scripts/binfmt.mjs', () => {
  it("reads qemu-user-static's binfmt rules by emulator name, skipping comments and other files", () => {
    const dir = mkdtempSync(join(tmpdir(), 'binfmt-'));
    dirs.push(dir);
    const aarch64 =
      ':qemu-aarch64:M::\\x7fELF\\x02\\x01\\x01:\\xff\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:POCF';
    writeFileSync(join(dir, 'qemu-aarch64.conf'), `# from qemu-user-static\n${aarch64}\n`);
    writeFileSync(join(dir, 'other.conf'), ':other:M::x::/bin/true:F\n');
    mkdirSync(join(dir, 'qemu-x.conf.d'));
    expect(qemuRules(dir)).toEqual([{ name: 'qemu-aarch64', rule: aarch64 }]);
  });

  it('finds no rule where the package is not installed', () => {
    expect(qemuRules('/nonexistent/binfmt.d')).toEqual([]);
  });
});
