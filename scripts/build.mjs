#!/usr/bin/env node
// Bundles every function under functions/<name>/handler.ts into dist/<name>/index.mjs:
// one self-contained, minified ESM file per function, with its source map, as Lambda runs it.
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const functionsDir = join(root, 'functions');
const names = readdirSync(functionsDir).filter((name) => existsSync(join(functionsDir, name, 'handler.ts')));

// Lambda gives functions their credentials in environment variables: bundle only that provider
// instead of the default chain (SSO, INI files, STS, instance metadata), about 80 KB per function.
const lambdaCredentials = {
  name: 'lambda-credentials',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: join(functionsDir, 'shared', 'env-credentials.ts'),
    }));
  },
};
// SDK clients import their whole package.json only to read the version for the user agent.
const packageVersionsOnly = {
  name: 'package-versions-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, ({ path }) => {
      const { name, version } = JSON.parse(readFileSync(path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

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
      plugins: [lambdaCredentials, packageVersionsOnly],
      logLevel: 'warning',
    }).then((result) => ({ name, result })),
  ),
);
for (const { name, result } of results) {
  writeFileSync(join(root, 'dist', name, 'meta.json'), JSON.stringify(result.metafile));
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  console.log(`dist/${name}/index.mjs  ${(bytes / 1024).toFixed(1)} KB`);
}

// The command-line tool: one ESM file that cli/bin/ecr-pipeline.mjs runs where tsx is not installed.
await build({
  entryPoints: [join(root, 'cli', 'main.ts')],
  outfile: join(root, 'dist', 'cli', 'index.mjs'),
  bundle: true,
  packages: 'external',
  sourcemap: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
});
console.log('dist/cli/index.mjs');
