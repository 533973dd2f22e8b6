/**
 * The shape of the code, checked with the TypeScript compiler API:
 * - no function in `functions/`, `local/`, `cli/` or `follow/` is longer than about 120 lines
 *   (STYLE.md), nested ones included, measured from its first to its last line; none is left out;
 * - no import cycle among the modules of `local/` (type-only imports included);
 * - no module of `cli/` imports one of `local/` (dynamic imports included): what both need lives in
 *   `shared/` or `follow/`.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../..');
const LOCAL = join(ROOT, 'local');
const CLI = join(ROOT, 'cli');
/** The folders whose functions are held to the ceiling. */
const MEASURED = ['functions', 'local', 'cli', 'follow'].map((dir) => join(ROOT, dir));
const MAX_LINES = 120;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every function in the file longer than `max` lines: `file:line name (n lines)`. */
function longFunctions(path: string, max: number): string[] {
  const text = readFileSync(path, 'utf8');
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) found.push(`${relative(ROOT, path)}:${first + 1} ${nameOf(node)} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function nameOf(node: ts.Node): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText();
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)))
    return parent.name.getText();
  return '(anonymous)';
}

function importsOf(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    )
      specifiers.push(statement.moduleSpecifier.text);
  }
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => resolve(dirname(path), specifier))
    .filter((target) => existsSync(target));
}

/** Every relative module `path` imports, statically or with `import()`, resolved to a path. */
function allImportsOf(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const specifiers: string[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) specifiers.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [first] = node.arguments;
      if (first && ts.isStringLiteralLike(first)) specifiers.push(first.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => resolve(dirname(path), specifier));
}

/** `file -> target` for every import from a file of `files` into the folder `into`. */
function importsInto(files: string[], into: string): string[] {
  return files.flatMap((file) =>
    allImportsOf(file)
      .filter((target) => !relative(into, target).startsWith('..'))
      .map((target) => `${relative(ROOT, file)} -> ${relative(ROOT, target)}`),
  );
}

/** The cycles found, each as the list of files (relative to the repository) that close it. */
function cycles(files: string[]): string[][] {
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open')
        found.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(ROOT, f)));
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return found;
}

describe('functions in functions/, local/, cli/ and follow/', () => {
  it(`are at most ${MAX_LINES} lines long`, () => {
    const files = MEASURED.flatMap((dir) => sourceFiles(dir));
    expect(files.some((path) => relative(ROOT, path) === 'local/demo.ts')).toBe(true);
    expect(files.flatMap((path) => longFunctions(path, MAX_LINES))).toEqual([]);
  });

  it('are measured nested and as arrow functions too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'code-shape-'));
    try {
      const file = join(dir, 'long.ts');
      writeFileSync(
        file,
        `export function outer() {\n  const inner = () => {\n${'    1;\n'.repeat(5)}  };\n}\n`,
      );
      expect(longFunctions(file, 5).map((line) => line.replace(/^.*long\.ts/, 'long.ts'))).toEqual([
        'long.ts:1 outer (9 lines)',
        'long.ts:2 inner (7 lines)',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('imports in local/', () => {
  it('form no cycle', () => {
    expect(cycles(sourceFiles(LOCAL))).toEqual([]);
  });

  it('are read type-only imports included, so that a cycle through a type is found', () => {
    const dir = mkdtempSync(join(tmpdir(), 'code-shape-'));
    try {
      writeFileSync(join(dir, 'a.ts'), "import type { B } from './b.ts';\nexport type A = B;\n");
      writeFileSync(join(dir, 'b.ts'), "import { a } from './a.ts';\nexport type B = string;\n");
      expect(cycles(sourceFiles(dir)).map((cycle) => cycle.map((file) => file.replace(/^.*\//, '')))).toEqual(
        [['a.ts', 'b.ts', 'a.ts']],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('imports in cli/', () => {
  it('reach nothing in local/', () => {
    const files = sourceFiles(CLI);
    expect(files.some((path) => relative(ROOT, path) === 'cli/target.ts')).toBe(true);
    expect(importsInto(files, LOCAL)).toEqual([]);
  });

  it('are read static, re-exported and dynamic, so that any arrow into local/ is found', () => {
    const dir = mkdtempSync(join(tmpdir(), 'code-shape-'));
    try {
      const cli = join(dir, 'cli');
      const local = join(dir, 'local');
      mkdirSync(cli);
      mkdirSync(local);
      writeFileSync(
        join(cli, 'a.ts'),
        [
          "import { x } from '../local/x.ts';",
          "export { y } from '../local/y.ts';",
          "const z = () => import('../local/z.ts');",
          "import { own } from './own.ts';",
          '',
        ].join('\n'),
      );
      expect(
        importsInto(sourceFiles(cli), local).map((arrow) => arrow.replace(/[^ ]*\/(cli|local)\//g, '$1/')),
      ).toEqual(['cli/a.ts -> local/x.ts', 'cli/a.ts -> local/y.ts', 'cli/a.ts -> local/z.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
