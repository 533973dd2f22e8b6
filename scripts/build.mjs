#!/usr/bin/env node
// Bundles every function under functions/<name>/handler.ts into dist/<name>/index.mjs:
// one self-contained, minified ESM file per function, with its source map, as Lambda runs it.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const functionsDir = join(root, 'functions');
const names = readdirSync(functionsDir).filter((name) => existsSync(join(functionsDir, name, 'handler.ts')));

rmSync(join(root, 'dist'), { recursive: true, force: true });
const results = await Promise.all(
  names.map((name) =>
    build({
      entryPoints: [join(functionsDir, name, 'handler.ts')],
      outfile: join(root, 'dist', name, 'index.mjs'),
      bundle: true,
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      // The AWS SDK is bundled, not taken from the runtime, so that the versions we test are the ones that run.
      mainFields: ['module', 'main'],
      // Some CommonJS dependencies call require(); give the ESM bundle one.
      banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
      legalComments: 'none',
      metafile: true,
      logLevel: 'warning',
    }).then((result) => ({ name, result })),
  ),
);
for (const { name, result } of results) {
  writeFileSync(join(root, 'dist', name, 'meta.json'), JSON.stringify(result.metafile));
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`dist/${name}/index.mjs  ${(bytes / 1024).toFixed(1)} KB`);
}
