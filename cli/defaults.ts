/**
 * What `submit` uses when --repository or --tag is not given: a repository named after the
 * folder (or its package.json `name`), and a tag naming the folder's git commit (`-dirty-<fingerprint
 * of the context>` when the folder has changes not committed), else the UTC time. Both pass the pipeline's naming rules.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { checkRepositoryName, checkTag } from '../functions/shared/naming.ts';
import { UsageError } from './errors.ts';

/** Runs git in a folder; returns its trimmed output, or undefined when git fails (no repository, no git). */
export type Git = (dir: string, args: string[]) => string | undefined;

/** git through the installed binary. */
export const systemGit: Git = (dir, args) => {
  try {
    return execFileSync('git', ['-C', dir, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
};

/**
 * Maps a folder or package name to ECR's repository grammar: lower case, `@scope/name` becomes
 * `scope/name`, runs of other characters become one `-`, separators are trimmed from each part.
 * Undefined when nothing valid is left.
 */
export function repositoryFromName(name: string): string | undefined {
  const parts = name
    .trim()
    .toLowerCase()
    .replace(/^@/, '')
    .split('/')
    .map((part) =>
      part
        .replace(/[^a-z0-9._-]+/g, '-')
        .replace(/[._-]{2,}/g, (run) => run[0] ?? '-')
        .replace(/^[._-]+|[._-]+$/g, ''),
    )
    .filter(Boolean);
  const repository = parts.join('/');
  return checkRepositoryName(repository) ? undefined : repository;
}

function packageName(dir: string): string | undefined {
  try {
    const { name } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return typeof name === 'string' && name ? name : undefined;
  } catch {
    return undefined;
  }
}

/** The default repository of a context folder: its package.json `name`, else the folder's name. */
export function defaultRepository(dir: string): string {
  const folder = basename(resolve(dir));
  const candidates = [packageName(dir), folder].filter((name): name is string => Boolean(name));
  for (const candidate of candidates) {
    const repository = repositoryFromName(candidate);
    if (repository) return repository;
  }
  throw new UsageError(
    `cannot derive a repository name from ${candidates.map((c) => `"${c}"`).join(' or ')}`,
    'pass --repository (lower case, e.g. team-a/api)',
  );
}

/** `YYYYMMDDTHHMMSSZ`: a tag that sorts by time. */
export function timestampTag(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/**
 * The default tag of a context folder: the short commit of its git work tree; when the folder has
 * uncommitted changes (untracked files count), `<commit>-dirty-<fingerprint of the context>`, so
 * that each edit gets its own tag in an immutable repository and the same content the same tag; the
 * UTC time when it is not in git. `fingerprint` is asked only for a dirty folder.
 */
export function defaultTag(dir: string, git: Git, now: Date, fingerprint: () => string): string {
  const commit = git(dir, ['rev-parse', '--short', 'HEAD']);
  if (!commit || checkTag(commit)) return timestampTag(now);
  const changes = git(dir, ['status', '--porcelain', '--', '.']);
  return changes ? `${commit}-dirty-${fingerprint()}` : commit;
}

/** Repository and tag for `submit`: the ones given, else the defaults, and whether each was chosen. */
export function chooseImage(
  dir: string,
  given: { repository?: string | undefined; tag?: string | undefined },
  git: Git,
  now: Date,
  fingerprint: () => string,
): { repository: string; tag: string; chosen: Array<'repository' | 'tag'> } {
  const chosen: Array<'repository' | 'tag'> = [];
  if (given.repository === undefined) chosen.push('repository');
  if (given.tag === undefined) chosen.push('tag');
  return {
    repository: given.repository ?? defaultRepository(dir),
    tag: given.tag ?? defaultTag(dir, git, now, fingerprint),
    chosen,
  };
}
