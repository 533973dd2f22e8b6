/**
 * buildspec/extract.py against hostile archives. The machine's python3 may be one whose tarfile
 * `data` filter is defeated by long symlink chains (CVE-2025-4517, before 3.12.11 / 3.13.4): the
 * script must be safe there too, so the first test is the published shape of that attack.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const extractPy = new URL('../../../buildspec/extract.py', import.meta.url).pathname;
let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

/** One archive entry: kind, name, link target, content, mode. */
type Entry = [
  kind: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'chr',
  name: string,
  linkOrData?: string,
  mode?: number,
];

// Writes a tar of the entries exactly as listed (no tar tool would write most of these).
const WRITE_TAR = `
import io, json, sys, tarfile
types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tar:
    for kind, name, *rest in json.load(sys.stdin):
        info = tarfile.TarInfo(name)
        info.type = types[kind]
        if len(rest) > 1: info.mode = rest[1]
        if kind in ("symlink", "hardlink"):
            info.linkname = rest[0]
            tar.addfile(info)
        elif kind == "file":
            data = (rest[0] if rest else "").encode()
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        else:
            tar.addfile(info)
`;

/** A folder that holds the build's scripts (as the buildspec used to) with the context inside it. */
function setup(entries: Entry[]) {
  const dir = mkdtempSync(join(tmpdir(), 'extract-test-'));
  dirs.push(dir);
  const archive = join(dir, 'context.tar');
  const made = spawnSync('python3', ['-c', WRITE_TAR, archive], { input: JSON.stringify(entries) });
  if (made.status !== 0) throw new Error(made.stderr.toString());
  writeFileSync(join(dir, 'object.json'), '{"Metadata":{}}');
  writeFileSync(join(dir, 'build-image.sh'), 'original\n');
  return { dir, archive };
}

function extract(entries: Entry[], env: Record<string, string> = {}) {
  const { dir, archive } = setup(entries);
  return run(dir, archive, env);
}

function run(dir: string, archive: string, env: Record<string, string> = {}) {
  const out = spawnSync(
    'python3',
    [extractPy, join(dir, 'object.json'), archive, join(dir, 'context'), dir],
    {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    },
  );
  return { ...out, dir };
}

/** Exit 2 and exactly one line on stderr, starting `ecr-pipeline:`. */
function expectRefused(out: ReturnType<typeof extract>, message: string | RegExp) {
  expect(out.status, out.stderr).toBe(2);
  const lines = out.stderr.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^ecr-pipeline: /);
  expect(lines[0]).toMatch(message);
  expect(readFileSync(join(out.dir, 'build-image.sh'), 'utf8')).toBe('original\n');
}

const dockerfile: Entry = ['file', 'Dockerfile', 'FROM busybox\n'];

/** l0 -> l1 -> ... -> l<n-1> -> d */
const chain = (n: number): Entry[] =>
  Array.from({ length: n }, (_, i): Entry => ['symlink', `l${n - 1 - i}`, i === 0 ? 'd' : `l${n - i}`]);

/** CVE-2025-4517: 16 nested directory symlinks, a link that climbs out through them, a file written through it. */
function symlinkChainAttack(component: string): Entry[] {
  const steps = 'abcdefghijklmnop'.split('');
  const entries: Entry[] = [dockerfile];
  let path = '';
  for (const step of steps) {
    entries.push(['dir', `${path}${component}`]);
    entries.push(['symlink', `${path}${step}`, component]);
    path = `${path}${component}/`;
  }
  const linkpath = `${steps.join('/')}/${'l'.repeat(254)}`;
  entries.push(['symlink', linkpath, '../'.repeat(steps.length)]);
  // The kernel lands one folder above the context; a realpath that gave up at PATH_MAX thinks it is deep inside.
  entries.push(['symlink', 'escape', `${linkpath}/..`]);
  entries.push(['file', 'escape/build-image.sh', '#!/bin/sh\necho owned\n']);
  return entries;
}

describe('buildspec/extract.py against hostile archives', () => {
  it('does not let a symlink chain longer than PATH_MAX overwrite the build script beside the context', () => {
    const out = extract(symlinkChainAttack('d'.repeat(247)));
    expectRefused(out, /unsafe entry/);
    expect(existsSync(join(out.dir, 'context', 'Dockerfile'))).toBe(false);
  });

  it('judges a link by where the links it climbs through really land, not by its text', () => {
    // The same shape with short names: the path text stays short, so only resolving the archive's
    // own links component by component (a/b/... are links) shows that `escape` leaves the context.
    const out = extract(symlinkChainAttack('x'));
    expectRefused(out, /symbolic link "escape" -> .* leads outside the context/);
  });

  it.each<[string, Entry[], RegExp]>([
    [
      'a link to a link that climbs out',
      [dockerfile, ['dir', 'x'], ['symlink', 'x/up', '..'], ['symlink', 'out', 'x/up/..']],
      /"out" -> .*leads outside/,
    ],
    [
      'a link made to climb out by a later link (l -> x/.., then x -> .)',
      [dockerfile, ['symlink', 'l', 'x/..'], ['symlink', 'x', '.']],
      /"l" -> .*leads outside/,
    ],
    ['an absolute link target', [dockerfile, ['symlink', 'passwd', '/etc/passwd']], /absolute path/],
    [
      'a file written over a symlink (it would open the target)',
      [dockerfile, ['dir', 'x'], ['symlink', 'l', 'x/f'], ['file', 'l', 'owned']],
      /twice/,
    ],
    [
      'a file written through a symlink to a folder under another name twice',
      [dockerfile, ['dir', 'x'], ['file', 'x/f', 'a'], ['symlink', 'l', 'x'], ['file', 'l/f', 'b']],
      /twice/,
    ],
    [
      'a hard link to a file outside the context',
      [dockerfile, ['hardlink', 'h', '../build-image.sh']],
      /hard link "h" -> .*leads outside/,
    ],
    [
      'a hard link through a symlink that climbs out',
      [dockerfile, ['symlink', 'up', '..'], ['hardlink', 'h', 'up/build-image.sh']],
      /leads outside/,
    ],
    ['a path with ..', [dockerfile, ['file', 'a/../../build-image.sh', 'owned']], /'\.\.'/],
    [
      'a symlink loop',
      [dockerfile, ['symlink', 'a', 'b'], ['symlink', 'b', 'a'], ['file', 'a/f', 'x']],
      /"b" points into itself/,
    ],
    [
      'a chain of more than 40 symbolic links',
      [dockerfile, ['dir', 'd'], ...chain(42)],
      /more than 40 symbolic links/,
    ],
    ['a FIFO', [dockerfile, ['fifo', 'pipe']], /device or a FIFO/],
    ['a character device', [dockerfile, ['chr', 'null']], /device or a FIFO/],
    ['a name over 1024 bytes', [dockerfile, ['file', `${'a/'.repeat(600)}f`, '']], /longer than 1024 bytes/],
    [
      'a path more than 64 levels deep',
      [dockerfile, ['file', `${'a/'.repeat(65)}f`, '']],
      /more than 64 levels deep/,
    ],
    [
      'a link target over 1024 bytes',
      [dockerfile, ['symlink', 'l', `${'./'.repeat(600)}Dockerfile`]],
      /target longer than 1024 bytes/,
    ],
    ['a component over 255 bytes', [dockerfile, ['file', 'x'.repeat(256), '']], /longer than 255 bytes/],
  ])('refuses %s', (_what, entries, message) => {
    const out = extract(entries);
    expectRefused(out, message);
  });

  it('keeps links that stay inside the context and drops setuid, setgid and sticky bits', () => {
    const out = extract([
      ['dir', 'app', undefined, 0o1777],
      ['file', 'app/run', '#!/bin/sh\n', 0o6755],
      ['symlink', 'Dockerfile', 'app/Dockerfile.real'],
      ['file', 'app/Dockerfile.real', 'FROM busybox\n'],
      ['symlink', 'current', 'app'],
      ['symlink', 'up-and-back', 'app/../app/run'],
      ['hardlink', 'run-again', 'current/run', 0o4755],
    ]);
    expect(out.status, out.stderr).toBe(0);
    const stat = spawnSync(
      'stat',
      ['-c', '%a', join(out.dir, 'context/app'), join(out.dir, 'context/app/run')],
      {
        encoding: 'utf8',
      },
    );
    expect(stat.stdout.trim().split('\n')).toEqual(['755', '755']);
    expect(readFileSync(join(out.dir, 'context/up-and-back'), 'utf8')).toBe('#!/bin/sh\n');
  });

  it('refuses a context of 100,000 empty files by count, at maxContextFiles', { timeout: 180_000 }, () => {
    const entries: Entry[] = [dockerfile];
    for (let i = 0; i < 100_000; i++) entries.push(['file', `f/${i}`, '']);
    const out = extract(entries);
    expectRefused(
      out,
      /more than 50000 files and links, the limit \(the stack's maxContextFiles parameter\)/,
    );
    expect(existsSync(join(out.dir, 'context', 'f'))).toBe(false);
  });

  it('stops reading at the file limit: damage past it is never reached', () => {
    const entries: Entry[] = [dockerfile];
    for (let i = 0; i < 200; i++) entries.push(['file', `f/${i}`, '']);
    const { dir, archive } = setup(entries);
    // Damage the headers of the last entries (before the end-of-archive blocks and padding).
    const bytes = readFileSync(archive);
    bytes.fill(0x41, bytes.length - 10_240 - 40 * 512, bytes.length - 10_240);
    writeFileSync(archive, bytes);

    expectRefused(run(dir, archive, { CONTEXT_MAX_FILES: '50' }), /more than 50 files and links/);
    // The control: read to the end, the damage is found.
    rmSync(join(dir, 'context'), { recursive: true, force: true });
    expectRefused(run(dir, archive, { CONTEXT_MAX_FILES: '1000' }), /damaged|not a readable/);
  });

  it('takes its limits from the project variables', () => {
    const entries: Entry[] = [dockerfile, ['file', 'a', '12345'], ['file', 'b', '']];
    expectRefused(extract(entries, { CONTEXT_MAX_FILES: '2' }), /more than 2 files and links/);
    expectRefused(
      extract(entries, { CONTEXT_MAX_EXTRACTED_BYTES: '16' }),
      /expands to more than 16 bytes, the limit \(the stack's maxExtractedContextBytes parameter\)/,
    );
    expectRefused(
      extract(entries, { CONTEXT_MAX_FILES: 'lots' }),
      /CONTEXT_MAX_FILES must be a positive whole number/,
    );
    expect(extract(entries, { CONTEXT_MAX_FILES: '3', CONTEXT_MAX_EXTRACTED_BYTES: '18' }).status).toBe(0);
  });
});

describe('buildspec/extract.py failures end in one line', () => {
  /** Runs main() with tarfile.open replaced by one that raises `raise`. */
  function failing(raise: string) {
    const { dir, archive } = setup([dockerfile]);
    const code = `
import importlib.util, sys, tarfile
spec = importlib.util.spec_from_file_location("extract", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
def boom(*args, **kwargs):
    raise ${raise}
module.tarfile.open = boom
sys.exit(module.main(["extract.py", *sys.argv[2:]]))
`;
    return spawnSync(
      'python3',
      ['-c', code, extractPy, join(dir, 'object.json'), archive, join(dir, 'context'), dir],
      {
        encoding: 'utf8',
      },
    );
  }

  it.each([
    ['MemoryError()', 2, 'ecr-pipeline: the build ran out of memory reading the context archive'],
    [
      'RuntimeError("odd\\nthing")',
      1,
      'ecr-pipeline: the context could not be extracted: RuntimeError: odd thing',
    ],
  ])('reports %s without a traceback', (raise, status, line) => {
    const out = failing(raise);
    expect(out.status).toBe(status);
    expect(out.stderr).toBe(`${line}\n`);
  });

  it('reports a truncated gzip stream as a damaged archive', () => {
    const dir = mkdtempSync(join(tmpdir(), 'extract-test-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'stage'));
    writeFileSync(join(dir, 'stage', 'Dockerfile'), 'FROM busybox\n'.repeat(5000));
    spawnSync('tar', ['-czf', join(dir, 'full.tgz'), '-C', join(dir, 'stage'), '.']);
    const bytes = readFileSync(join(dir, 'full.tgz'));
    writeFileSync(join(dir, 'cut.tgz'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    writeFileSync(join(dir, 'object.json'), '{}');
    const out = spawnSync(
      'python3',
      [extractPy, join(dir, 'object.json'), join(dir, 'cut.tgz'), join(dir, 'ctx'), dir],
      {
        encoding: 'utf8',
      },
    );
    expect(out.status).toBe(2);
    expect(out.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(out.stderr).toMatch(/^ecr-pipeline: the context (is not a readable|archive is damaged)/);
  });
});
