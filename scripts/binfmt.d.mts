/** The `:name:type:offset:magic:mask:interpreter:flags` rules of qemu-user-static, by name. */
export function qemuRules(dir?: string): { name: string; rule: string }[];
/** Registers the emulators `wanted` that are not registered yet, or says why it cannot. */
export function registerBinfmt(
  wanted?: string[],
): { ok: true; registered: string[] } | { ok: false; why: string };
