/**
 * The build context on the client: which files go (Docker's .dockerignore semantics), what must be
 * refused before anything is uploaded, and the gzipped tarball as a stream whose memory does not
 * grow with the context.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import dockerignore from '@balena/dockerignore';
import { create as createTar } from 'tar';
import { ContextError } from './errors.ts';
import { type ParallelGzipOptions, parallelGzip } from './gzip.ts';

/** Same default as the build-trigger function's maximum context size (serverless.yml params). */
export const DEFAULT_MAX_CONTEXT_BYTES = 512 * 1024 * 1024;
/** A context with more files than this usually holds node_modules or .git by mistake. */
export const DEFAULT_MAX_FILES = 50_000;

export interface ContextOptions {
  /** The context folder. */
  dir: string;
  /** The Dockerfile, relative to `dir` (or to the working directory when it is not found there). */
  dockerfile?: string;
  maxBytes?: number;
  maxFiles?: number;
  /** Patterns left out as if they ended `.dockerignore` (the local cloud's examples leave out example.json). */
  ignore?: string[];
  /**
   * Pack a context without a Dockerfile instead of refusing it: for the local cloud's examples,
   * which show the build-trigger function's own refusal. The command never sets it.
   */
  dockerfileOptional?: boolean;
}

/** What will be sent: paths relative to the context, in tar order, and their sizes. */
export interface ContextPlan {
  dir: string;
  /** The Dockerfile's path inside the context, with `/` separators. */
  dockerfile: string;
  /** Entries to archive (files, directories, symbolic links), relative, `/`-separated. */
  entries: string[];
  files: number;
  /** Sum of the regular files' sizes. */
  bytes: number;
  /** Size of the uncompressed tarball (headers and padding included): an upper bound for the upload. */
  tarBytes: number;
  /** Things left out, said once each (sockets, devices...). */
  warnings: string[];
  /** The walk's lstat results by absolute path: the packer reuses them instead of asking again. */
  stats: Map<string, Stats>;
}

const BLOCK = 512;
const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

function toPosix(path: string): string {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: on POSIX, where the tests run, both branches give the path as it is
  return sep === '/' ? path : path.split(sep).join('/');
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function resolveDockerfile(
  dir: string,
  dockerfile: string | undefined,
  optional = false,
): Promise<string> {
  const given = dockerfile ?? 'Dockerfile';
  const candidates = isAbsolute(given) ? [given] : [resolve(dir, given), resolve(given)];
  for (const candidate of candidates) {
    const stat = await lstat(candidate).catch(() => undefined);
    if (!stat) continue;
    const inside = relative(dir, candidate);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      throw new ContextError(
        `the Dockerfile ${candidate} is outside the context folder ${dir}`,
        'move the Dockerfile into the context folder (the build only sees what is uploaded), or choose a DIR that contains it',
      );
    }
    if (!stat.isFile()) {
      throw new ContextError(
        `the Dockerfile ${candidate} is not a regular file`,
        'pass the path of a file with --dockerfile',
      );
    }
    return toPosix(inside);
  }
  if (optional) return toPosix(given);
  throw new ContextError(
    `no Dockerfile at ${resolve(dir, given)}`,
    dockerfile
      ? 'check the --dockerfile path (relative to the context folder)'
      : 'create a Dockerfile in the context folder, or name another one with --dockerfile',
  );
}

async function readIgnoreLines(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, '.dockerignore'), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  return text.split(/\r?\n/);
}

/**
 * Walks `dir` and decides what is sent, as `docker build` does: `.dockerignore` patterns with `!`
 * exceptions, the Dockerfile and `.dockerignore` always included. Refuses (ContextError) a missing
 * Dockerfile, links that leave the context, and a context over the size or file-count limits.
 */
export async function planContext(options: ContextOptions): Promise<ContextPlan> {
  const dir = resolve(options.dir);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CONTEXT_BYTES;
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  const root = await lstat(dir).catch(() => undefined);
  if (!root?.isDirectory()) {
    throw new ContextError(
      `the context folder ${dir} does not exist or is not a folder`,
      'pass the folder to build as DIR',
    );
  }
  const dockerfile = await resolveDockerfile(dir, options.dockerfile, options.dockerfileOptional);
  const lines = [...(await readIgnoreLines(dir)), ...(options.ignore ?? [])];
  const matcher = dockerignore.default().add(lines);
  // With an exception pattern, a file inside an excluded folder may come back: walk into such folders.
  const hasExceptions = lines.some((line) => line.trim().startsWith('!'));
  const alwaysSent = new Set([dockerfile, '.dockerignore']);
  const isAncestorOfAlwaysSent = (path: string) =>
    [...alwaysSent].some((sent) => sent.startsWith(`${path}/`));

  const plan: ContextPlan = {
    dir,
    dockerfile,
    entries: [],
    files: 0,
    bytes: 0,
    tarBytes: 2 * BLOCK,
    warnings: [],
    stats: new Map(),
  };
  const escaping: string[] = [];
  const skipped = new Map<string, string[]>();

  const walk = async (relativeDir: string): Promise<void> => {
    const names = (await readdir(join(dir, relativeDir))).sort();
    for (const name of names) {
      const path = relativeDir ? `${relativeDir}/${name}` : name;
      const absolute = join(dir, path);
      const stat = await lstat(absolute);
      const ignored = !alwaysSent.has(path) && matcher.ignores(path);
      if (!ignored) plan.stats.set(absolute, stat);
      if (stat.isDirectory()) {
        if (!ignored) {
          plan.entries.push(path);
          plan.tarBytes += BLOCK;
        }
        if (!ignored || hasExceptions || isAncestorOfAlwaysSent(path)) await walk(path);
        continue;
      }
      if (ignored) continue;
      if (stat.isFile()) {
        plan.entries.push(path);
        plan.files += 1;
        plan.bytes += stat.size;
        plan.tarBytes += BLOCK + padded(stat.size);
      } else if (stat.isSymbolicLink()) {
        const target = await readlink(absolute);
        const landing = posix.normalize(posix.join(posix.dirname(path), toPosix(target)));
        if (isAbsolute(target) || landing === '..' || landing.startsWith('../')) {
          escaping.push(`${path} -> ${target}`);
          continue;
        }
        plan.entries.push(path);
        plan.tarBytes += BLOCK;
      } else {
        const kind = stat.isSocket() ? 'socket' : stat.isFIFO() ? 'named pipe' : 'device';
        skipped.set(kind, [...(skipped.get(kind) ?? []), path]);
      }
    }
  };
  await walk('');

  for (const [kind, paths] of skipped) {
    plan.warnings.push(
      `left out ${paths.length} ${kind}${paths.length > 1 ? 's' : ''} (${paths.slice(0, 3).join(', ')}${paths.length > 3 ? ', ...' : ''}): a tarball cannot carry them; add them to .dockerignore to silence this`,
    );
  }
  if (escaping.length > 0) {
    throw new ContextError(
      `${escaping.length} symbolic link${escaping.length > 1 ? 's point' : ' points'} outside the context folder: ${escaping.slice(0, 5).join(', ')}${escaping.length > 5 ? ', ...' : ''}`,
      'the build cannot follow a link out of its context: copy the target into the folder, make the link relative inside it, or add the link to .dockerignore',
    );
  }
  if (plan.files > maxFiles) {
    throw new ContextError(
      `the context has ${plan.files} files, more than the limit of ${maxFiles}`,
      'exclude what the build does not need in .dockerignore (node_modules, .git, build output), or raise the limit with --max-files',
    );
  }
  if (plan.tarBytes > maxBytes) {
    throw new ContextError(
      `the context is ${mib(plan.tarBytes)} before compression, over the limit of ${mib(maxBytes)}`,
      'exclude large files in .dockerignore; if the stack allows more (its maxContextBytes parameter), pass --max-size with the same number of bytes',
    );
  }
  return plan;
}

/** Counters the packer updates as it reads files, for progress. */
export interface PackProgress {
  /** Uncompressed tar bytes compressed so far (out of about plan.tarBytes). */
  tarBytes: number;
  /** Compressed bytes produced so far. */
  gzipBytes: number;
}

/**
 * Streams the planned context as a gzipped tarball (tar -> parallel gzip, see gzip.ts). File modes
 * are kept, owners are written as root (uid/gid 0, as `docker build` sends them), so no local user
 * names leave the machine.
 */
export function packContext(
  plan: ContextPlan,
  // Stryker disable next-line ObjectLiteral: the default counters are seen by no one, so their start cannot matter
  progress: PackProgress = { tarBytes: 0, gzipBytes: 0 },
  gzip: ParallelGzipOptions = {},
): Readable {
  const compress = parallelGzip({ ...gzip, onInput: (bytes) => (progress.tarBytes += bytes) });
  const output = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      progress.gzipBytes += chunk.length;
      done(null, chunk);
    },
  });
  const pack = createTar(
    {
      cwd: plan.dir,
      statCache: plan.stats,
      noDirRecurse: true,
      follow: false,
      strict: true,
      onWriteEntry: (entry) => {
        if (entry.stat) {
          entry.stat.uid = 0;
          entry.stat.gid = 0;
        }
      },
    },
    plan.entries,
  );
  pack.on('error', (error: unknown) => {
    compress.destroy(error as Error);
  });
  pack.pipe(compress);
  pipeline(compress, output).catch(() => undefined); // errors surface on `output`
  return output;
}
