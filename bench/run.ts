/**
 * `npm run bench`: runs every bench/*.bench.ts module in turn (or those named on the command line,
 * e.g. `npm run bench -- build-trigger`) and prints one table of what they measured.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Row } from './types.ts';

const dir = new URL('.', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const modules = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => wanted.length === 0 || wanted.some((name) => file.startsWith(name)))
  .sort();

const rows: Row[] = [];
let failed = false;
for (const file of modules) {
  process.stderr.write(`bench: ${file}\n`);
  try {
    const bench = (await import(pathToFileURL(join(dir, file)).href)) as { default: () => Promise<Row[]> };
    rows.push(...(await bench.default()));
  } catch (error) {
    failed = true;
    rows.push({
      benchmark: file,
      metric: 'error',
      value: error instanceof Error ? error.message : String(error),
    });
  }
}

const header: Row = { benchmark: 'benchmark', metric: 'metric', value: 'value', goal: 'goal' };
const columns = ['benchmark', 'metric', 'value', 'goal'] as const;
const widths = columns.map((column) =>
  Math.max(...[header, ...rows].map((row) => (row[column] ?? '').length)),
);
const line = (row: Row) =>
  `| ${columns.map((column, i) => (row[column] ?? '').padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
for (const row of rows) console.log(line(row));
process.exit(failed ? 1 : 0);
