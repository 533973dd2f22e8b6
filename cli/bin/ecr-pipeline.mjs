#!/usr/bin/env node
// Launcher for the `ecr-pipeline` command. In a clone (tsx installed) it runs the TypeScript source,
// so edits take effect at once; otherwise it runs the bundle that `npm run build` writes to dist/cli.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
