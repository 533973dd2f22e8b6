/**
 * `npm start -- --param name=value`: the local cloud's stack packaged with the values a deploy would
 * take (through `serverless package --param`, the same tool and checks), and `--help` / a wrong
 * parameter answered before anything starts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { preparePackage } from '../../local/cloud.ts';
import { packageLocalStack } from '../../local/package.ts';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'start-params-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const start = (...args: string[]) =>
  spawnSync('npm', ['start', '--silent', '--', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('npm start', () => {
  it('--help lists its options and the stack parameters, and starts nothing', () => {
    const run = start('--help');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('Usage: npm start -- [options] [--param name=value ...]');
    expect(run.stdout).toMatch(/\n {2}scanning +BASIC\n/);
    expect(run.stdout).not.toContain('The local cloud is up');
  });

  it('refuses a parameter the stack does not have, in one line, with exit code 2', () => {
    const run = start('--param', 'scaning=ENHANCED', '--skip-setup');
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      'npm start: --param scaning: the stack has no such parameter; did you mean scanning? (npm start -- --help lists them)',
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('packages the stack with the parameters given, over its own', () => {
    preparePackage(() => undefined);
    const path = packageLocalStack(
      () => undefined,
      { notifyLogLines: '3', scanning: 'ENHANCED' },
      join(work, 't.json'),
    );
    const template = JSON.parse(readFileSync(path, 'utf8')) as {
      Resources: Record<
        string,
        { Type: string; Properties?: { Environment?: { Variables?: Record<string, unknown> } } }
      >;
    };
    const variables = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => r.Properties?.Environment?.Variables ?? {});
    expect(variables.some((v) => v.NOTIFY_LOG_LINES === '3' || v.NOTIFY_LOG_LINES === 3)).toBe(true);
    // The local cloud's own parameter stays (its base images' repository).
    expect(JSON.stringify(template)).toContain('library/');
  });
});
