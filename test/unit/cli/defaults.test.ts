import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chooseImage,
  defaultRepository,
  defaultTag,
  type Git,
  repositoryFromName,
  systemGit,
  timestampTag,
} from '../../../cli/defaults.ts';
import { UsageError } from '../../../cli/errors.ts';
import { checkRepositoryName, checkTag } from '../../../functions/shared/naming.ts';

const work = mkdtempSync(join(tmpdir(), 'cli-defaults-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function folder(name: string, files: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

/** A git that answers from a table of `args joined by space` -> output (undefined: git fails). */
const fakeGit =
  (answers: Record<string, string | undefined>): Git =>
  (_dir, args) =>
    answers[args.join(' ')];
const NOON = new Date('2026-12-01T12:34:56.789Z');

describe('the default repository', () => {
  it.each([
    ['my-app', 'my-app'],
    ['My App', 'my-app'],
    ['@team/api-server', 'team/api-server'],
    ['@Team/API_Server', 'team/api_server'],
    ['web..front--end', 'web.front-end'],
    ['_leading.and.trailing_', 'leading.and.trailing'],
  ])('maps "%s" to ECR’s grammar as "%s"', (name, expected) => {
    expect(repositoryFromName(name)).toBe(expected);
    expect(checkRepositoryName(expected)).toBeUndefined();
  });

  it('gives up on names with nothing valid left or too short', () => {
    expect(repositoryFromName('---')).toBeUndefined();
    expect(repositoryFromName('x')).toBeUndefined();
  });

  it('takes package.json name before the folder name', () => {
    const dir = folder('Web Site', { 'package.json': JSON.stringify({ name: '@acme/shop-front' }) });
    expect(defaultRepository(dir)).toBe('acme/shop-front');
  });

  it('takes the folder name when package.json has no usable name', () => {
    expect(defaultRepository(folder('Billing Service', { 'package.json': '{"name": "!!"}' }))).toBe(
      'billing-service',
    );
    expect(defaultRepository(folder('worker'))).toBe('worker');
  });

  it('refuses with a usage error when neither name can be mapped', () => {
    expect(() => defaultRepository(folder('x'))).toThrow(UsageError);
    expect(() => defaultRepository(folder('x'))).toThrow(/cannot derive a repository name from "x"/);
  });
});

describe('the default tag', () => {
  const unasked = () => {
    throw new Error('the fingerprint is only for a dirty folder');
  };

  it('is the short commit of a clean work tree, without reading the context', () => {
    const git = fakeGit({ 'rev-parse --short HEAD': 'a1b2c3d', 'status --porcelain -- .': '' });
    expect(defaultTag('.', git, NOON, unasked)).toBe('a1b2c3d');
  });

  it("ends in -dirty-<the context's fingerprint> when the folder has changes", () => {
    const git = fakeGit({ 'rev-parse --short HEAD': 'a1b2c3d', 'status --porcelain -- .': ' M Dockerfile' });
    expect(defaultTag('.', git, NOON, () => '0123456789ab')).toBe('a1b2c3d-dirty-0123456789ab');
  });

  it('is the UTC time, valid as a tag, outside git', () => {
    expect(defaultTag('.', fakeGit({}), NOON, unasked)).toBe('20261201T123456Z');
    expect(timestampTag(NOON)).toBe('20261201T123456Z');
    expect(checkTag(timestampTag(NOON))).toBeUndefined();
  });

  it('reads a real git work tree, and a folder outside one', () => {
    const repo = folder('repo', { Dockerfile: 'FROM busybox\n' });
    const git = (args: string[]) => systemGit(repo, args);
    if (git(['init', '-q']) === undefined) return; // no git on this machine
    git(['-c', 'user.email=a@b', '-c', 'user.name=a', 'add', '.']);
    git(['-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-qm', 'one']);
    const commit = git(['rev-parse', '--short', 'HEAD']);
    expect(defaultTag(repo, systemGit, NOON, unasked)).toBe(commit);
    writeFileSync(join(repo, 'Dockerfile'), 'FROM busybox:1\n');
    expect(defaultTag(repo, systemGit, NOON, () => 'fingerprint1')).toBe(`${commit}-dirty-fingerprint1`);
    expect(defaultTag(folder('outside'), systemGit, NOON, unasked)).toMatch(/^\d{8}T\d{6}Z$/);
  });
});

describe('choosing the image', () => {
  it('keeps what was given and says which parts were chosen', () => {
    const dir = folder('service-a');
    const git = fakeGit({ 'rev-parse --short HEAD': 'abc1234', 'status --porcelain -- .': '' });
    expect(chooseImage(dir, { repository: 'team/x', tag: 'v1' }, git, NOON, () => 'unused')).toEqual({
      repository: 'team/x',
      tag: 'v1',
      chosen: [],
    });
    expect(chooseImage(dir, {}, git, NOON, () => 'unused')).toEqual({
      repository: 'service-a',
      tag: 'abc1234',
      chosen: ['repository', 'tag'],
    });
  });
});
