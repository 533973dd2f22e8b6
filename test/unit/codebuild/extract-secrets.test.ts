/**
 * buildspec/extract.py's build secrets: the `secrets` metadata checked against the stack's prefix
 * (build-secrets-session.test.ts tests reading the values), and the credential-like build args.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const extractPy = new URL('../../../buildspec/extract.py', import.meta.url).pathname;
const PREFIX = '/ecr-pipeline/dev/build-secrets/';
let dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
});

const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'extract-secrets-'));
  dirs.push(dir);
  return dir;
};

/** Calls `check_secrets(value, prefix)`; the result as JSON, or the refusal's message. */
function checkSecrets(value: string, prefix: string | null = PREFIX) {
  const code = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("extract", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
try:
    print(json.dumps(module.check_secrets(sys.argv[2], json.loads(sys.argv[3]))))
except module.Refused as refused:
    print("refused: " + str(refused))
`;
  const out = spawnSync('python3', ['-c', code, extractPy, value, JSON.stringify(prefix)], {
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(out.stderr);
  const line = out.stdout.trim();
  return line.startsWith('refused: ') ? { refused: line.slice('refused: '.length) } : JSON.parse(line);
}

describe('the secrets metadata', () => {
  it('takes an object or a list of ID=NAME, in order', () => {
    expect(checkSecrets(`{"npm": "${PREFIX}npm", "pip.conf": "${PREFIX}team/pip"}`)).toEqual({
      npm: `${PREFIX}npm`,
      'pip.conf': `${PREFIX}team/pip`,
    });
    expect(checkSecrets(`["npm=${PREFIX}npm", "a-b_c=${PREFIX}x"]`)).toEqual({
      npm: `${PREFIX}npm`,
      'a-b_c': `${PREFIX}x`,
    });
    expect(checkSecrets('{}')).toEqual({});
  });

  it.each([
    ['not json', 'is not valid JSON'],
    ['"npm"', 'must be a JSON object like'],
    ['[1]', 'must be a JSON object like'],
    [`["npm"]`, 'build secret "npm" names no parameter or secret: give ID=NAME'],
    [`{"a/b": "${PREFIX}x"}`, 'build secret id "a/b" is not valid'],
    [`{"..": "${PREFIX}x"}`, 'build secret id ".." is not valid'],
    [`{"": "${PREFIX}x"}`, 'build secret id "" is not valid'],
    [`{"${'x'.repeat(65)}": "${PREFIX}x"}`, 'is not valid: 1 to 64'],
    [`{"a": 1}`, 'build secret a must name a parameter or secret as a string'],
    [`{"a": "${PREFIX}x y"}`, 'is not a parameter or secret name'],
    [`{"a": "${PREFIX}${'x'.repeat(512)}"}`, 'is not a parameter or secret name'],
    [`{"a": "${PREFIX}../../../etc/x"}`, 'is not a plain path'],
    [`{"a": "${PREFIX}./x"}`, 'is not a plain path'],
    [`{"a": "${PREFIX}x//y"}`, 'is not a plain path'],
    [`{"a": "${PREFIX}x/"}`, 'is not a plain path'],
    [`{"a": "/elsewhere/db-password"}`, `"/elsewhere/db-password" is outside ${PREFIX}, the only names`],
    [`{"a": "/ecr-pipeline/dev/build-secretsX/y"}`, 'is outside'],
    [`{"a": "${PREFIX.slice(0, -1)}"}`, 'is outside'],
    [`{"a": "${PREFIX}x", "a": "${PREFIX}y"}`, 'build secret id a is given twice'],
    [`["a=${PREFIX}x", "a=${PREFIX}y"]`, 'build secret id a is given twice'],
  ])('refuses %s', (value, message) => {
    expect(checkSecrets(value).refused).toContain(message);
  });

  it('refuses more than ten secrets', () => {
    const list = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => `s${i}=${PREFIX}x${i}`));
    expect(checkSecrets(list(11)).refused).toBe('an upload may ask for at most 10 build secrets, got 11');
    expect(Object.keys(checkSecrets(list(10)))).toHaveLength(10);
  });

  it.each([
    [null, 'this stack allows no build secrets'],
    ['', 'this stack allows no build secrets'],
    ['ecr-pipeline/dev/', 'BUILD_SECRETS_PREFIX must be a path like'],
    ['/ecr-pipeline/dev', 'BUILD_SECRETS_PREFIX must be a path like'],
    ['/a/../b/', 'BUILD_SECRETS_PREFIX must be a path like'],
    ['/', 'BUILD_SECRETS_PREFIX must be a path like'],
  ])('refuses secrets when the stack prefix is %j', (prefix, message) => {
    expect(checkSecrets(`{"a": "/a/b/c"}`, prefix).refused).toContain(message);
  });
});

describe('extract.py warns about credential-like build args', () => {
  it('prints one warning per such build arg in the build log, without its value', () => {
    const dir = tempDir();
    const context = join(dir, 'context');
    mkdirSync(join(dir, 'stage'));
    writeFileSync(join(dir, 'stage', 'Dockerfile'), 'FROM busybox\n');
    spawnSync('tar', ['-cf', join(dir, 'context.tar'), '-C', join(dir, 'stage'), 'Dockerfile']);
    writeFileSync(
      join(dir, 'object.json'),
      JSON.stringify({
        Metadata: {
          'build-args': JSON.stringify({ NPM_TOKEN: 'hunter2', GREETING: 'hi' }),
          secrets: JSON.stringify({ npm: `${PREFIX}npm` }),
        },
      }),
    );
    const out = spawnSync(
      'python3',
      [extractPy, join(dir, 'object.json'), join(dir, 'context.tar'), context, dir],
      { encoding: 'utf8', env: { ...process.env, BUILD_SECRETS_PREFIX: PREFIX } },
    );
    expect(out.stderr).toBe('');
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^ecr-pipeline: warning: build arg NPM_TOKEN looks like a credential.*submit --secret/,
    );
    expect(lines[1]).toBe(
      'ecr-pipeline: context extracted (dockerfile Dockerfile, build args NPM_TOKEN, GREETING, build secrets npm)',
    );
    expect(out.stdout).not.toContain('hunter2');
    expect(readFileSync(join(dir, 'build-secrets'), 'utf8')).toBe(`npm=${PREFIX}npm\0`);
  });
});
