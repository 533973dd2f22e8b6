/**
 * Renders buildspec/buildspec.yml from buildspec.template.yml by embedding build-image.sh and
 * extract.py as here-documents: a NO_SOURCE build has no checkout to read them from, and the
 * deployed project's buildspec must be one self-contained text.
 * `npx tsx buildspec/render.ts` writes the file; `--check` exits 1 when it is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** The buildspec text made from the template and the scripts beside it. */
export function renderBuildspec(read: (name: string) => string = (name) => readFileSync(here(name), 'utf8')) {
  return read('buildspec.template.yml').replace(
    /^( *)\{\{([\w.-]+)\}\}$/gm,
    (_line, indent: string, name: string) => {
      const script = read(name).replace(/\n$/, '');
      if (/^ECR_PIPELINE_EOF$/m.test(script)) throw new Error(`${name} contains the here-document delimiter`);
      return script
        .split('\n')
        .map((line) => (line === '' ? '' : indent + line))
        .join('\n');
    },
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = here('buildspec.yml');
  const text = renderBuildspec();
  if (process.argv.includes('--check')) {
    const current = readFileSync(target, 'utf8');
    if (current !== text) {
      console.error('buildspec/buildspec.yml is out of date: run npx tsx buildspec/render.ts');
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
