#!/usr/bin/env node
// Bundles every function under functions/<name>/handler.ts into dist/<name>/: the entry index.mjs
// (minified ESM, with its source map, as Lambda runs it) and, beside it, the chunks of the code the
// function loads with a dynamic import() only when it needs it (clients of optional paths). The
// whole folder is the function's package (serverless.yml: dist/<name>/**).
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';
import { buildCli } from './build-cli.mjs';
import { ESBUILD_TARGET } from './node-runtime.mjs';

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
// An SDK client's schemas module (schemas/schemas_0.js) holds the schema of every operation and
// shape of its service; a bundle needs those of the commands it imports. Each schema is a
// side-effect-free array, but its traits are object literals with computed keys (`{ [_h]: [...] }`,
// `_h` a module constant "http"), and esbuild keeps every top-level statement holding a computed
// key it cannot prove harmless. Writing those keys as the string literals they stand for lets
// tree shaking drop the schemas no imported command reaches (most of S3's 64 KB), without changing
// one object: a constant is inlined only where it is a plain string, never "__proto__" (a literal
// `__proto__:` key would set the prototype instead of defining a property).
const schemaLiteralKeys = {
  name: 'schema-literal-keys',
  setup(b) {
    b.onLoad(
      {
        filter:
          /[\\/]node_modules[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/,
      },
      ({ path }) => {
        const source = readFileSync(path, 'utf8');
        const strings = new Map();
        for (const [, name, literal] of source.matchAll(/^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm))
          if (JSON.parse(literal) !== '__proto__') strings.set(name, literal);
        const contents = source.replace(/\[(_\w+)\]:/g, (key, name) => {
          const literal = strings.get(name);
          return literal === undefined ? key : `${literal}:`;
        });
        return { contents, loader: 'js' };
      },
    );
  },
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
const results = await Promise.all(
  names.map((name) =>
    build({
      entryPoints: [{ in: join(functionsDir, name, 'handler.ts'), out: 'index' }],
      outdir: join(root, 'dist', name),
      outExtension: { '.js': '.mjs' },
      // Each dynamic import() becomes a chunk loaded on first use; code shared with the entry is in
      // chunks the entry imports statically.
      splitting: true,
      chunkNames: '[name]-[hash]',
      bundle: true,
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      platform: 'node',
      target: ESBUILD_TARGET,
      format: 'esm',
      // The AWS SDK is bundled, not taken from the runtime, so that the versions we test are the ones that run.
      mainFields: ['module', 'main'],
      // Some CommonJS dependencies call require(); give every ESM file of the bundle one.
      banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
      legalComments: 'none',
      metafile: true,
      plugins: [lambdaCredentials, packageVersionsOnly, schemaLiteralKeys],
      logLevel: 'warning',
    }).then((result) => ({ name, result })),
  ),
);
/**
 * Sizes of one function's bundle: the entry, what a cold start loads (the entry and the chunks it
 * imports statically, transitively) and every JavaScript file together.
 */
function bundleSizes(metafile) {
  const outputs = Object.entries(metafile.outputs).filter(([file]) => file.endsWith('.mjs'));
  const byFile = new Map(outputs.map(([file, output]) => [file, output]));
  // Chunks of dynamic imports have an entryPoint too (the imported module): the entry is the handler's.
  const entry = outputs.find(([, output]) => output.entryPoint?.endsWith('handler.ts'));
  const loaded = new Set();
  const visit = (file) => {
    if (loaded.has(file) || !byFile.has(file)) return;
    loaded.add(file);
    for (const imported of byFile.get(file).imports)
      if (imported.kind === 'import-statement') visit(imported.path);
  };
  if (entry) visit(entry[0]);
  const sum = (files) => files.reduce((total, file) => total + (byFile.get(file)?.bytes ?? 0), 0);
  return {
    entry: entry?.[1].bytes ?? 0,
    coldStart: sum([...loaded]),
    total: sum([...byFile.keys()]),
    files: outputs.length,
    lazy: outputs
      .filter(([file]) => !loaded.has(file))
      .map(([file, output]) => ({ file: basename(file), bytes: output.bytes })),
  };
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
// The build reports go beside the function folders, not into them: dist/<name>/ is what is deployed.
for (const { name, result } of results) {
  writeFileSync(join(root, 'dist', `${name}.meta.json`), JSON.stringify(result.metafile));
  const sizes = bundleSizes(result.metafile);
  writeFileSync(join(root, 'dist', `${name}.sizes.json`), `${JSON.stringify(sizes, null, 2)}\n`);
  console.log(
    `dist/${name}/index.mjs  entry ${kb(sizes.entry)}, cold start ${kb(sizes.coldStart)}, total ${kb(sizes.total)} (${sizes.files} files)`,
  );
}

// The build's AWS calls (buildspec/session/): one ESM file, with the SDK's default credential chain
// (CodeBuild gives the build its role's credentials through the container credentials endpoint).
// resources/buildspec.cjs embeds it, compressed, in the project's buildspec.
const session = await build({
  entryPoints: [join(root, 'buildspec', 'session', 'main.ts')],
  outfile: join(root, 'dist', 'build-session', 'build-session.mjs'),
  bundle: true,
  minify: true,
  platform: 'node',
  target: ESBUILD_TARGET,
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  legalComments: 'none',
  metafile: true,
  plugins: [packageVersionsOnly, schemaLiteralKeys],
  logLevel: 'warning',
});
console.log(
  `dist/build-session/build-session.mjs  ${kb(Object.values(session.metafile.outputs)[0]?.bytes ?? 0)}`,
);

// The command-line tool: one ESM file that cli/bin/ecr-pipeline.mjs runs where tsx is not installed.
await buildCli();
