#!/usr/bin/env node
// Launcher for the `ecr-pipeline` command. In a clone (tsx installed) it runs the TypeScript source,
// so edits take effect at once; otherwise it runs the bundle that `npm run build` writes to dist/cli.
// In a clone it runs on the Node.js the project pins (scripts/node-version.json) when the machine's
// is another major and the pinned one is installed (.local/node/, by scripts/setup.mjs).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const runtime = new URL('../../scripts/node-runtime.mjs', import.meta.url);
if (existsSync(fileURLToPath(runtime))) {
  const { onPinnedMajor, PINNED_NODE_DIR } = await import(runtime.href);
  const pinned = join(PINNED_NODE_DIR, 'bin', 'node');
  if (!onPinnedMajor() && existsSync(pinned)) {
    const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
    });
    // Ctrl-C reaches the child with the whole process group: this process waits for it.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    const [code, signal] = await new Promise((resolve) => child.on('exit', (...end) => resolve(end)));
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  }
}

const source = new URL('../main.ts', import.meta.url);
const bundle = new URL('../../dist/cli/index.mjs', import.meta.url);

async function load() {
  if (existsSync(fileURLToPath(source))) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return await import(source.href);
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !existsSync(fileURLToPath(bundle))) throw error;
    }
  }
  if (!existsSync(fileURLToPath(bundle))) {
    console.error(
      'ecr-pipeline: neither tsx nor dist/cli/index.mjs found: run `npm install` and `npm run build`',
    );
    process.exit(1);
  }
  return import(bundle.href);
}

const { run } = await load();
await run();
