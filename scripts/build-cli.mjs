#!/usr/bin/env node
// Bundles the command-line tool into one ESM file, dist/cli/index.mjs, that cli/bin/ecr-pipeline.mjs
// runs where tsx is not installed: an installed package (`npm pack` runs this as prepack) needs
// Node.js and the package's dependencies only, no TypeScript.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ESBUILD_TARGET } from './node-runtime.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Writes dist/cli/index.mjs (and its source map). */
export async function buildCli() {
  await build({
    entryPoints: [join(root, 'cli', 'main.ts')],
    outfile: join(root, 'dist', 'cli', 'index.mjs'),
    bundle: true,
    // The dependencies are the package's own (package.json "dependencies"), installed beside it.
    packages: 'external',
    sourcemap: true,
    platform: 'node',
    target: ESBUILD_TARGET,
    format: 'esm',
    logLevel: 'warning',
  });
  console.log('dist/cli/index.mjs');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildCli();
