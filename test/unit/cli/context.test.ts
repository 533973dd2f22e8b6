import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_CONTEXT_BYTES,
  DEFAULT_MAX_FILES,
  packContext,
  planContext,
} from '../../../cli/context.ts';
import { ContextError } from '../../../cli/errors.ts';

const dirs: string[] = [];

/** Creates a context folder from { path: content }; a content of null makes a folder. */
async function folder(files: Record<string, string | null>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ecr-pipeline-context-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    if (content === null) {
      await mkdir(full, { recursive: true });
    } else {
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, content);
    }
  }
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

const sent = async (files: Record<string, string | null>, dockerfile?: string) =>
  (await planContext({ dir: await folder(files), ...(dockerfile ? { dockerfile } : {}) })).entries;

/** Unpacks the gzipped stream in memory into { path: { mode, uid, gid, type, linkpath, body } }. */
async function unpack(stream: Readable) {
  const entries: Record<
    string,
    { mode: number; uid: number; gid: number; type: string; linkpath: string; body: string }
  > = {};
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => {
        entries[entry.path] = {
          mode: (entry.mode ?? 0) & 0o7777,
          uid: entry.uid ?? -1,
          gid: entry.gid ?? -1,
          type: entry.type,
          linkpath: entry.linkpath ?? '',
          body: Buffer.concat(chunks).toString(),
        };
      });
    },
  });
  await pipeline(stream, parser as unknown as NodeJS.WritableStream);
  return entries;
}

describe('.dockerignore', () => {
  it('sends everything when there is no .dockerignore', async () => {
    expect(await sent({ Dockerfile: 'FROM scratch', 'src/app.js': '1' })).toEqual([
      'Dockerfile',
      'src',
      'src/app.js',
    ]);
  });

  it('brings a file back with a ! exception after a wildcard', async () => {
    const entries = await sent({
      Dockerfile: 'FROM scratch',
      '.dockerignore': '*.log\n!keep.log\n',
      'a.log': 'a',
      'keep.log': 'k',
      'sub/b.log': 'b',
    });
    expect(entries).toContain('keep.log');
    expect(entries).not.toContain('a.log');
    // Docker's `*` matches in the top folder only, unlike .gitignore.
    expect(entries).toContain('sub/b.log');
  });

  it('excludes a directory and everything below it, with or without a trailing slash', async () => {
    const entries = await sent({
      Dockerfile: 'FROM scratch',
      '.dockerignore': 'node_modules\ndist/\n',
      'node_modules/x/index.js': 'x',
      'dist/app.js': 'd',
      'src/node_modules/kept.js': 'k',
    });
    expect(entries.filter((e) => e.startsWith('node_modules') || e.startsWith('dist'))).toEqual([]);
    // `node_modules` names ./node_modules only.
    expect(entries).toContain('src/node_modules/kept.js');
  });

  it('walks into an excluded directory for an exception inside it', async () => {
    const entries = await sent({
      Dockerfile: 'FROM scratch',
      '.dockerignore': 'build\n!build/keep/this.txt\n',
      'build/other.txt': 'o',
      'build/keep/this.txt': 't',
    });
    expect(entries).toContain('build/keep/this.txt');
    expect(entries).not.toContain('build/other.txt');
  });

  it('matches ** across folders', async () => {
    const entries = await sent({
      Dockerfile: 'FROM scratch',
      '.dockerignore': '**/*.tmp\n',
      'a.tmp': '1',
      'x/y/z.tmp': '2',
      'x/y/z.txt': '3',
    });
    expect(entries).not.toContain('a.tmp');
    expect(entries).not.toContain('x/y/z.tmp');
    expect(entries).toContain('x/y/z.txt');
  });

  it('treats # lines as comments and ignores blank lines', async () => {
    const entries = await sent({
      Dockerfile: 'FROM scratch',
      '.dockerignore': '# secrets\n\nsecret.txt\n',
      secrets: 's',
      'secret.txt': 'x',
    });
    expect(entries).toContain('secrets');
    expect(entries).not.toContain('secret.txt');
  });

  it('always sends the Dockerfile and .dockerignore, even when they are excluded', async () => {
    const entries = await sent({
      Dockerfile: 'FROM scratch',
      '.dockerignore': 'Dockerfile\n.dockerignore\n*\n',
      'other.txt': 'o',
    });
    expect(entries).toEqual(['.dockerignore', 'Dockerfile']);
  });

  it('sends a Dockerfile named with --dockerfile from an excluded folder', async () => {
    const dir = await folder({
      'docker/app.Dockerfile': 'FROM scratch',
      'docker/other': 'o',
      '.dockerignore': 'docker\n',
    });
    const plan = await planContext({ dir, dockerfile: 'docker/app.Dockerfile' });
    expect(plan.dockerfile).toBe('docker/app.Dockerfile');
    expect(plan.entries).toContain('docker/app.Dockerfile');
    expect(plan.entries).not.toContain('docker/other');
  });
});

describe('refusals', () => {
  it('refuses a context without a Dockerfile and says what to do', async () => {
    const dir = await folder({ 'app.js': '1' });
    const error = await planContext({ dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContextError);
    expect((error as ContextError).message).toContain('no Dockerfile');
    expect((error as ContextError).hint).toContain('--dockerfile');
  });

  it('packs a context without a Dockerfile when told to, for the function to refuse it', async () => {
    const dir = await folder({ 'app.js': '1' });
    expect((await planContext({ dir, dockerfileOptional: true })).entries).toEqual(['app.js']);
  });

  it('leaves out extra ignore patterns as if they ended .dockerignore', async () => {
    const dir = await folder({
      Dockerfile: 'FROM x',
      'example.json': '{}',
      '.dockerignore': '*.md\n',
      'a.md': '',
    });
    expect((await planContext({ dir, ignore: ['example.json'] })).entries).toEqual([
      '.dockerignore',
      'Dockerfile',
    ]);
  });

  it('refuses a Dockerfile outside the context folder', async () => {
    const outside = await folder({ Dockerfile: 'FROM scratch' });
    const dir = await folder({ 'app.js': '1' });
    await expect(planContext({ dir, dockerfile: join(outside, 'Dockerfile') })).rejects.toThrow(
      /outside the context folder/,
    );
  });

  it('refuses symbolic links that leave the context, relative or absolute', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', 'sub/x': 'x' });
    await symlink('../../etc/passwd', join(dir, 'sub/up'));
    await symlink('/etc/hostname', join(dir, 'abs'));
    const error = (await planContext({ dir }).catch((e: unknown) => e)) as ContextError;
    expect(error).toBeInstanceOf(ContextError);
    expect(error.message).toMatch(/2 symbolic links point outside/);
    expect(error.message).toContain('sub/up -> ../../etc/passwd');
    expect(error.hint).toContain('.dockerignore');
  });

  it('keeps links that stay inside, and accepts an excluded link that leaves', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', 'sub/x': 'x', '.dockerignore': 'escape\n' });
    await symlink('sub/x', join(dir, 'inside'));
    await symlink('../x', join(dir, 'sub/sibling'));
    await symlink('/etc/hostname', join(dir, 'escape'));
    const plan = await planContext({ dir });
    expect(plan.entries).toEqual(expect.arrayContaining(['inside', 'sub/sibling']));
    expect(plan.entries).not.toContain('escape');
  });

  it('refuses more files than the threshold', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', a: '1', b: '2', c: '3' });
    await expect(planContext({ dir, maxFiles: 3 })).rejects.toThrow(/4 files, more than the limit of 3/);
    await expect(planContext({ dir, maxFiles: 4 })).resolves.toMatchObject({ files: 4 });
  });

  it('refuses a context over the size limit, counting what is sent only', async () => {
    const dir = await folder({
      Dockerfile: 'FROM scratch',
      big: 'x'.repeat(100_000),
      '.dockerignore': 'ignored\n',
      ignored: 'y'.repeat(500_000),
    });
    const error = (await planContext({ dir, maxBytes: 50_000 }).catch((e: unknown) => e)) as ContextError;
    expect(error.message).toMatch(/over the limit/);
    expect(error.hint).toContain('--max-size');
    const plan = await planContext({ dir, maxBytes: 200_000 });
    expect(plan.bytes).toBe(100_000 + 'FROM scratch'.length + 'ignored\n'.length);
  });
});

describe('the tarball', () => {
  it('carries the files, their modes and the links, owned by root', async () => {
    const dir = await folder({
      Dockerfile: 'FROM scratch',
      'bin/run.sh': '#!/bin/sh\n',
      'data.txt': 'hello',
    });
    await chmod(join(dir, 'bin/run.sh'), 0o755);
    await chmod(join(dir, 'data.txt'), 0o640);
    await symlink('bin/run.sh', join(dir, 'run'));
    const plan = await planContext({ dir });
    const progress = { tarBytes: 0, gzipBytes: 0 };
    const entries = await unpack(packContext(plan, progress));
    expect(Object.keys(entries).sort()).toEqual(['Dockerfile', 'bin/', 'bin/run.sh', 'data.txt', 'run']);
    expect(entries['bin/run.sh']).toMatchObject({ mode: 0o755, body: '#!/bin/sh\n', uid: 0, gid: 0 });
    expect(entries['data.txt']).toMatchObject({ mode: 0o640, body: 'hello' });
    expect(entries.run).toMatchObject({ type: 'SymbolicLink', linkpath: 'bin/run.sh' });
    expect(progress.gzipBytes).toBeGreaterThan(0);
    expect(progress.tarBytes).toBe(plan.tarBytes);
  });

  it('fails the stream when a file disappears while packing', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', 'gone.txt': 'x' });
    const plan = await planContext({ dir });
    await rm(join(dir, 'gone.txt'));
    await expect(unpack(packContext(plan))).rejects.toThrow(/ENOENT/);
  });
});

it('refuses a DIR that is not a folder', async () => {
  await expect(planContext({ dir: join(tmpdir(), 'no-such-context-folder') })).rejects.toThrow(
    /does not exist/,
  );
});

/** The ContextError a plan is refused with. */
async function refusal(options: Parameters<typeof planContext>[0]): Promise<ContextError> {
  const error = await planContext(options).catch((e: unknown) => e);
  if (error instanceof ContextError) return error;
  throw new Error(`expected a ContextError, got ${String(error)}`);
}

describe('the plan', () => {
  it('counts the files, their bytes and the tarball: a header per entry, contents padded to 512, two end blocks', async () => {
    const dir = await folder({
      Dockerfile: 'FROM scratch',
      'src/app.js': 'x'.repeat(600),
      'src/empty.js': '',
      'src/block.bin': 'b'.repeat(512),
    });
    await symlink('src/app.js', join(dir, 'app'));
    const plan = await planContext({ dir });
    expect(plan.entries).toEqual(['Dockerfile', 'app', 'src', 'src/app.js', 'src/block.bin', 'src/empty.js']);
    expect(plan.files).toBe(4);
    expect(plan.bytes).toBe(12 + 600 + 512);
    // end 2 blocks; Dockerfile 1+1; app (link) 1; src 1; app.js 1+2; block.bin 1+1; empty.js 1
    expect(plan.tarBytes).toBe(512 * (2 + 2 + 1 + 1 + 3 + 2 + 1));
    expect(plan.warnings).toEqual([]);
  });

  it('keeps the lstat of what is sent, not of what is ignored', async () => {
    const dir = await folder({
      Dockerfile: 'FROM scratch',
      '.dockerignore': 'secret\n',
      secret: 's',
      'a.txt': 'a',
    });
    const plan = await planContext({ dir });
    expect([...plan.stats.keys()].sort()).toEqual(
      ['.dockerignore', 'Dockerfile', 'a.txt'].map((name) => join(dir, name)).sort(),
    );
  });

  it('reads a .dockerignore written with CRLF line ends', async () => {
    const entries = await sent({
      Dockerfile: 'FROM scratch',
      '.dockerignore': 'secret.txt\r\nlogs\r\n',
      'secret.txt': 's',
      'logs/a': 'a',
      'b.txt': 'b',
    });
    expect(entries).toEqual(['.dockerignore', 'Dockerfile', 'b.txt']);
  });

  it('fails on a .dockerignore it cannot read, rather than sending what it would exclude', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', '.dockerignore/x': 'x' });
    await expect(planContext({ dir })).rejects.toThrow(/EISDIR/);
  });

  it('walks into an excluded folder for an exception written with leading spaces', async () => {
    const entries = await sent({
      Dockerfile: 'FROM scratch',
      '.dockerignore': 'build\n  !build/keep/this.txt\n',
      'build/keep/this.txt': 't',
    });
    expect(entries).toContain('build/keep/this.txt');
  });
});

describe('the Dockerfile', () => {
  it('takes an absolute path inside the context folder', async () => {
    const dir = await folder({ 'docker/Dockerfile': 'FROM scratch' });
    expect((await planContext({ dir, dockerfile: join(dir, 'docker/Dockerfile') })).dockerfile).toBe(
      'docker/Dockerfile',
    );
  });

  it('refuses a Dockerfile that is not a regular file, saying what to pass', async () => {
    const dir = await folder({ docker: null });
    const error = await refusal({ dir, dockerfile: 'docker' });
    expect(error.message).toBe(`the Dockerfile ${join(dir, 'docker')} is not a regular file`);
    expect(error.hint).toBe('pass the path of a file with --dockerfile');
  });

  it('says where it looked, and what to check, for a Dockerfile it cannot find', async () => {
    const dir = await folder({ 'app.js': '1' });
    const named = await refusal({ dir, dockerfile: 'docker/app.Dockerfile' });
    expect(named.message).toBe(`no Dockerfile at ${join(dir, 'docker/app.Dockerfile')}`);
    expect(named.hint).toBe('check the --dockerfile path (relative to the context folder)');
    const unnamed = await refusal({ dir });
    expect(unnamed.message).toBe(`no Dockerfile at ${join(dir, 'Dockerfile')}`);
    expect(unnamed.hint).toBe(
      'create a Dockerfile in the context folder, or name another one with --dockerfile',
    );
  });

  it('names a missing optional Dockerfile as given', async () => {
    const dir = await folder({ 'app.js': '1' });
    expect(
      (await planContext({ dir, dockerfile: 'docker/app.Dockerfile', dockerfileOptional: true })).dockerfile,
    ).toBe('docker/app.Dockerfile');
  });

  it('says why a Dockerfile outside the context cannot be used', async () => {
    const outside = await folder({ Dockerfile: 'FROM scratch' });
    const dir = await folder({ 'app.js': '1' });
    const error = await refusal({ dir, dockerfile: join(outside, 'Dockerfile') });
    expect(error.message).toBe(
      `the Dockerfile ${join(outside, 'Dockerfile')} is outside the context folder ${dir}`,
    );
    expect(error.hint).toBe(
      'move the Dockerfile into the context folder (the build only sees what is uploaded), or choose a DIR that contains it',
    );
  });

  it('refuses a DIR that is a file, saying what to pass', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch' });
    const error = await refusal({ dir: join(dir, 'Dockerfile') });
    expect(error.message).toBe(
      `the context folder ${resolve(dir, 'Dockerfile')} does not exist or is not a folder`,
    );
    expect(error.hint).toBe('pass the folder to build as DIR');
  });
});

describe('what a tarball cannot carry', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => new Promise((done) => server.close(done))));
  });

  it('leaves out named pipes and sockets with one warning per kind, naming the first three', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch' });
    for (const name of ['p1', 'p2', 'p3', 'p4']) execFileSync('mkfifo', [join(dir, name)]);
    const server = createServer();
    servers.push(server);
    await new Promise<void>((done) => server.listen(join(dir, 's1'), done));
    const plan = await planContext({ dir });
    expect(plan.entries).toEqual(['Dockerfile']);
    expect(plan.warnings).toEqual([
      'left out 4 named pipes (p1, p2, p3, ...): a tarball cannot carry them; add them to .dockerignore to silence this',
      'left out 1 socket (s1): a tarball cannot carry them; add them to .dockerignore to silence this',
    ]);
  });

  it('names all of three things left out, without an ellipsis', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch' });
    for (const name of ['p1', 'p2', 'p3']) execFileSync('mkfifo', [join(dir, name)]);
    expect((await planContext({ dir })).warnings).toEqual([
      'left out 3 named pipes (p1, p2, p3): a tarball cannot carry them; add them to .dockerignore to silence this',
    ]);
  });

  it('names all of five links that leave the context, without an ellipsis', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch' });
    for (const name of ['a', 'b', 'c', 'd', 'e']) await symlink('/etc/hostname', join(dir, name));
    expect((await refusal({ dir })).message).toBe(
      '5 symbolic links point outside the context folder: a -> /etc/hostname, b -> /etc/hostname, c -> /etc/hostname, d -> /etc/hostname, e -> /etc/hostname',
    );
  });

  it('says nothing of a named pipe that is ignored', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', '.dockerignore': 'pipe\n' });
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    expect((await planContext({ dir })).warnings).toEqual([]);
  });

  it('names one link that leaves the context, and at most five of many', async () => {
    const one = await folder({ Dockerfile: 'FROM scratch' });
    await symlink('..', join(one, 'up'));
    const single = await refusal({ dir: one });
    expect(single.message).toBe('1 symbolic link points outside the context folder: up -> ..');
    expect(single.hint).toBe(
      'the build cannot follow a link out of its context: copy the target into the folder, make the link relative inside it, or add the link to .dockerignore',
    );
    const many = await folder({ Dockerfile: 'FROM scratch' });
    for (const name of ['a', 'b', 'c', 'd', 'e', 'f']) await symlink('/etc/hostname', join(many, name));
    expect((await refusal({ dir: many })).message).toBe(
      '6 symbolic links point outside the context folder: a -> /etc/hostname, b -> /etc/hostname, c -> /etc/hostname, d -> /etc/hostname, e -> /etc/hostname, ...',
    );
  });

  it('keeps a link to a name that only starts with two dots', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', '..data': 'd' });
    await symlink('..data', join(dir, 'data'));
    expect((await planContext({ dir })).entries).toContain('data');
  });
});

describe('owners', () => {
  it('writes every entry as owned by root, whoever owns the files', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', 'sub/a.txt': 'a' });
    // Run as root, the files are given to another user first, so that root in the tarball means rewritten.
    if (process.getuid?.() === 0)
      for (const path of ['Dockerfile', 'sub', 'sub/a.txt']) await chown(join(dir, path), 1000, 1000);
    const entries = await unpack(packContext(await planContext({ dir })));
    for (const path of ['Dockerfile', 'sub/', 'sub/a.txt'])
      expect(entries[path]).toMatchObject({ uid: 0, gid: 0 });
  });
});

describe('limits', () => {
  it('takes a context of exactly the limits', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch' });
    await expect(planContext({ dir, maxFiles: 1, maxBytes: 4 * 512 })).resolves.toMatchObject({
      files: 1,
      tarBytes: 2048,
    });
  });

  it('says how many files, how big and what the limits are', async () => {
    const dir = await folder({ Dockerfile: 'FROM scratch', a: '1' });
    const files = await refusal({ dir, maxFiles: 1 });
    expect(files.message).toBe('the context has 2 files, more than the limit of 1');
    expect(files.hint).toBe(
      'exclude what the build does not need in .dockerignore (node_modules, .git, build output), or raise the limit with --max-files',
    );
    const big = await folder({ Dockerfile: 'FROM scratch', big: 'x'.repeat(3 * 1024 * 1024) });
    const size = await refusal({ dir: big, maxBytes: 1024 * 1024 });
    expect(size.message).toBe('the context is 3.0 MiB before compression, over the limit of 1.0 MiB');
    expect(size.hint).toBe(
      'exclude large files in .dockerignore; if the stack allows more (its maxContextBytes parameter), pass --max-size with the same number of bytes',
    );
  });

  it('holds a context to 512 MiB and 50,000 files unless told otherwise', async () => {
    expect(DEFAULT_MAX_CONTEXT_BYTES).toBe(512 * 1024 * 1024);
    expect(DEFAULT_MAX_FILES).toBe(50_000);
  });
});
