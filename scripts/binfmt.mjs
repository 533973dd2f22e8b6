// Registers the QEMU emulators of Debian's qemu-user-static with the kernel (binfmt_misc), so that
// the local cloud's builds of a foreign platform (an arm64 leg on this amd64 machine) can run their
// RUN steps. Each registration uses the package's own rule (/usr/lib/binfmt.d/qemu-<arch>.conf,
// flag F: the kernel opens the emulator now, so it also serves containers). A kernel or container
// that does not allow it (no binfmt_misc, no CAP_SYS_ADMIN) is said plainly: the local cloud then
// builds only the host's platform natively, and a foreign leg with a RUN step fails naming its leg.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const BINFMT = '/proc/sys/fs/binfmt_misc';
const RULES = '/usr/lib/binfmt.d';

/** The `:name:type:offset:magic:mask:interpreter:flags` rules of qemu-user-static, by name. */
export function qemuRules(dir = RULES) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => /^qemu-[a-z0-9_]+\.conf$/.test(file))
    .map((file) =>
      readFileSync(`${dir}/${file}`, 'utf8')
        .split('\n')
        .find((line) => line.startsWith(':')),
    )
    .filter((rule) => rule !== undefined)
    .map((rule) => ({ name: rule.split(':')[1], rule }));
}

/**
 * Registers the rules not registered yet; returns what happened, for people. `wanted` names the
 * emulators the local builds need (the other architecture of this machine).
 */
export function registerBinfmt(wanted = ['qemu-aarch64', 'qemu-x86_64']) {
  const rules = qemuRules().filter(({ name }) => wanted.includes(name));
  if (rules.length === 0) return { ok: false, why: `no QEMU rules in ${RULES}: install qemu-user-static` };
  if (!existsSync(`${BINFMT}/register`)) {
    spawnSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT], { stdio: 'ignore' });
  }
  if (!existsSync(`${BINFMT}/register`)) {
    return { ok: false, why: `the kernel does not let this machine mount binfmt_misc at ${BINFMT}` };
  }
  const registered = [];
  for (const { name, rule } of rules) {
    if (existsSync(`${BINFMT}/${name}`)) continue;
    try {
      writeFileSync(`${BINFMT}/register`, rule);
      registered.push(name);
    } catch (error) {
      return { ok: false, why: `the kernel refused to register ${name} (${error.code ?? error.message})` };
    }
  }
  return { ok: true, registered };
}
