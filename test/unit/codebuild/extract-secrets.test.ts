/**
 * buildspec/extract.py's build secrets: the `secrets` metadata checked against the stack's prefix,
 * and the values read (with a stand-in `aws` that answers as SSM and Secrets Manager do) into files
 * only the build may read, never printed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const extractPy = new URL('../../../buildspec/extract.py', import.meta.url).pathname;
const PREFIX = '/ecr-pipeline/dev/build-secrets/';
// The interpreter itself: a pyenv shim would put its own folder (with the real `aws`) first on PATH.
const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], {
  encoding: 'utf8',
}).stdout.trim();
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

/** A work folder with build-secrets, and a stand-in `aws` answering from `answers`. */
function fetchSetup(
  secrets: Record<string, string>,
  answers: { ssm: string; secrets?: Record<string, string> },
) {
  const dir = tempDir();
  const work = join(dir, 'work');
  const bin = join(dir, 'bin');
  mkdirSync(work);
  mkdirSync(bin);
  writeFileSync(
    join(work, 'build-secrets'),
    Object.entries(secrets)
      .map(([id, name]) => `${id}=${name}\0`)
      .join(''),
  );
  writeFileSync(join(dir, 'ssm.out'), answers.ssm);
  for (const [name, answer] of Object.entries(answers.secrets ?? {})) {
    writeFileSync(join(dir, `sm-${name.replaceAll('/', '_')}`), answer);
  }
  writeFileSync(
    join(bin, 'aws'),
    `#!/bin/bash
printf '%s\\n' "$*" >>"${dir}/calls"
if [ "$1" = ssm ]; then cat "${dir}/ssm.out"; exit 0; fi
name=$4
file="${dir}/sm-\${name//\\//_}"
if [ -f "$file" ]; then cat "$file"; exit 0; fi
echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret." >&2
exit 254
`,
  );
  chmodSync(join(bin, 'aws'), 0o755);
  const run = () =>
    spawnSync(python, [extractPy, '--fetch-secrets', work], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
  return { dir, work, run, calls: () => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') };
}

const ssmAnswer = (
  parameters: Array<{ Name: string; Value: string; Type?: string }>,
  invalid: string[] = [],
) =>
  JSON.stringify({
    Parameters: parameters.map((p) => ({ Type: 'SecureString', ...p })),
    InvalidParameters: invalid,
  });

describe('extract.py --fetch-secrets', () => {
  it('reads SSM first in one call, the rest from Secrets Manager, into 0600 files it mounts by id', () => {
    const setup = fetchSetup(
      { npm: `${PREFIX}npm`, pip: `${PREFIX}pip`, bin: `${PREFIX}bin` },
      {
        ssm: ssmAnswer([{ Name: `${PREFIX}npm`, Value: 'npm-value' }], [`${PREFIX}pip`, `${PREFIX}bin`]),
        secrets: {
          [`${PREFIX}pip`]: JSON.stringify({ Name: `${PREFIX}pip`, SecretString: 'pip-value' }),
          [`${PREFIX}bin`]: JSON.stringify({ SecretBinary: Buffer.from([0, 1, 2, 255]).toString('base64') }),
        },
      },
    );
    const out = setup.run();
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toBe(
      'ecr-pipeline: build secrets npm, pip, bin mounted for the build (values not shown)\n',
    );
    expect(setup.calls()).toEqual([
      `ssm get-parameters --with-decryption --names ${PREFIX}bin ${PREFIX}npm ${PREFIX}pip --output json`,
      `secretsmanager get-secret-value --secret-id ${PREFIX}pip --output json`,
      `secretsmanager get-secret-value --secret-id ${PREFIX}bin --output json`,
    ]);
    const folder = join(setup.work, 'secrets');
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    const mounts = readFileSync(join(setup.work, 'secret-args'), 'utf8').split('\0').filter(Boolean);
    expect(mounts).toEqual([`id=npm,src=${folder}/0`, `id=pip,src=${folder}/1`, `id=bin,src=${folder}/2`]);
    expect(readFileSync(join(folder, '0'), 'utf8')).toBe('npm-value');
    expect(readFileSync(join(folder, '1'), 'utf8')).toBe('pip-value');
    expect([...readFileSync(join(folder, '2'))]).toEqual([0, 1, 2, 255]);
    for (const file of ['0', '1', '2']) expect(statSync(join(folder, file)).mode & 0o777).toBe(0o600);
  });

  it('does nothing without build secrets', () => {
    const setup = fetchSetup({}, { ssm: '' });
    const out = setup.run();
    expect(out.status).toBe(0);
    expect(out.stdout).toBe('');
    expect(readFileSync(join(setup.work, 'secret-args'), 'utf8')).toBe('');
  });

  it('names a secret neither service has, in one line', () => {
    const setup = fetchSetup({ db: `${PREFIX}db` }, { ssm: ssmAnswer([], [`${PREFIX}db`]) });
    const out = setup.run();
    expect(out.status).toBe(2);
    expect(out.stderr).toBe(
      `ecr-pipeline: build secret db: no SSM parameter or Secrets Manager secret is named ${PREFIX}db\n`,
    );
  });

  it('refuses a String parameter without showing its value', () => {
    const setup = fetchSetup(
      { db: `${PREFIX}db` },
      { ssm: ssmAnswer([{ Name: `${PREFIX}db`, Value: 'plain-value', Type: 'String' }]) },
    );
    const out = setup.run();
    expect(out.status).toBe(2);
    expect(out.stderr).toBe(
      `ecr-pipeline: build secret parameter ${PREFIX}db is a String parameter: store build secrets as SecureString\n`,
    );
    expect(out.stdout + out.stderr).not.toContain('plain-value');
  });

  it('never writes through a file that is already there', () => {
    const setup = fetchSetup(
      { npm: `${PREFIX}npm` },
      { ssm: ssmAnswer([{ Name: `${PREFIX}npm`, Value: 'npm-value' }]) },
    );
    mkdirSync(join(setup.work, 'secrets'));
    writeFileSync(join(setup.dir, 'elsewhere'), 'untouched');
    spawnSync('ln', ['-s', join(setup.dir, 'elsewhere'), join(setup.work, 'secrets', '0')]);
    const out = setup.run();
    expect(out.status).toBe(1);
    expect(out.stderr).toBe('ecr-pipeline: the build secrets could not be read: FileExistsError\n');
    expect(readFileSync(join(setup.dir, 'elsewhere'), 'utf8')).toBe('untouched');
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
