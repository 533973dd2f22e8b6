import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../cli/args.ts';
import { EXIT } from '../../../cli/exit-codes.ts';
import { credentialArgWarnings, credentialLike, parseSecrets, secretProblem } from '../../../cli/secrets.ts';
import { uploadMetadata } from '../../../cli/submit.ts';

const PREFIX = '/ecr-pipeline/dev/build-secrets/';

describe('submit --secret', () => {
  it('takes repeated ID=NAME flags, in order, and carries them as the secrets metadata', () => {
    const args = parseCommandLine(
      ['submit', '.', '--secret', `npm_token=${PREFIX}npm`, '--secret', `pip.conf-1=${PREFIX}team/pip`],
      {},
    );
    expect(args).toMatchObject({ secrets: { npm_token: `${PREFIX}npm`, 'pip.conf-1': `${PREFIX}team/pip` } });
    if (args.command !== 'submit') return;
    expect(uploadMetadata({ dockerfile: 'Dockerfile' }, args)).toEqual({
      dockerfile: 'Dockerfile',
      secrets: `{"npm_token":"${PREFIX}npm","pip.conf-1":"${PREFIX}team/pip"}`,
    });
  });

  it('sends no secrets metadata when no --secret is given', () => {
    const args = parseCommandLine(['submit', '.'], {});
    expect(args).toMatchObject({ secrets: {} });
    if (args.command !== 'submit') return;
    expect(uploadMetadata({ dockerfile: 'Dockerfile' }, args)).toEqual({ dockerfile: 'Dockerfile' });
  });

  it.each([
    ['npm', 'give ID=NAME'],
    [`=${PREFIX}npm`, 'the id "" must be'],
    [`a/b=${PREFIX}npm`, 'the id "a/b" must be'],
    [`..=${PREFIX}npm`, 'the id ".." must be'],
    [`${'x'.repeat(65)}=${PREFIX}npm`, 'must be 1 to 64'],
    [`id=${PREFIX}npm token`, 'is not an SSM parameter or Secrets Manager name'],
    ['id=', 'is not an SSM parameter or Secrets Manager name'],
    [`id=${PREFIX}${'x'.repeat(512)}`, 'is not an SSM parameter or Secrets Manager name'],
    ['id=npm-token', 'must be a full path'],
    [`id=${PREFIX}`, 'must be a full path'],
    [`id=${PREFIX}../../../other`, 'must be a full path'],
    [`id=${PREFIX}./npm`, 'must be a full path'],
    [`id=${PREFIX}a//b`, 'must be a full path'],
  ])('refuses --secret %s with the usage exit code', (flag, message) => {
    let thrown: unknown;
    try {
      parseCommandLine(['submit', '.', '--secret', flag], {});
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ exitCode: EXIT.usage, message: expect.stringContaining(message) });
  });

  it('refuses an id given twice and more than ten secrets', () => {
    expect(() => parseSecrets([`a=${PREFIX}x`, `a=${PREFIX}y`])).toThrow('the id a is given twice');
    const eleven = Array.from({ length: 11 }, (_, i) => `s${i}=${PREFIX}x${i}`);
    expect(() => parseSecrets(eleven)).toThrow('at most 10 --secret flags, got 11');
    expect(Object.keys(parseSecrets(eleven.slice(0, 10)))).toHaveLength(10);
  });

  it('accepts the longest id and name and a name with the characters both services allow', () => {
    expect(secretProblem('x'.repeat(64), `${PREFIX}a`)).toBeUndefined();
    expect(secretProblem('a', `/${'x'.repeat(511)}`)).toBeUndefined();
    expect(secretProblem('A-z_0.9', `${PREFIX}Team_1/npm.token-2`)).toBeUndefined();
    expect(secretProblem('.a', `${PREFIX}..a`)).toBeUndefined();
    expect(secretProblem('a.', `${PREFIX}a.`)).toBeUndefined();
    expect(secretProblem('a', `${PREFIX}a/..b/.c`)).toBeUndefined();
    expect(secretProblem('a', `${PREFIX}a/..`)).toContain('must be a full path');
    expect(secretProblem('a', `${PREFIX}a/.`)).toContain('must be a full path');
  });
});

describe('build args that look like credentials', () => {
  it.each([
    'NPM_TOKEN',
    'GITHUB_TOKEN',
    'npmtoken',
    'DB_PASSWORD',
    'SECRET',
    'AWS_SECRET_ACCESS_KEY',
    'API_KEY',
    'KEY',
    'APIKEY',
    'PIP_CREDENTIALS',
    'BASIC_AUTH',
    'FTP_PWD',
    'PASSWD',
  ])('flags %s', (name) => {
    expect(credentialLike(name)).toBe(true);
  });

  it.each(['GREETING', 'MONKEY', 'KEYBOARD', 'AUTHOR', 'VERSION', 'NODE_ENV', 'PASSTHROUGH'])(
    'leaves %s alone',
    (name) => {
      expect(credentialLike(name)).toBe(false);
    },
  );

  it('warns once per such build arg, pointing to --secret, without its value', () => {
    const warnings = credentialArgWarnings({ NPM_TOKEN: 'hunter2', GREETING: 'hi', DB_PASSWORD: 'pw' });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^--build-arg NPM_TOKEN looks like a credential.*--secret ID=NAME/);
    expect(warnings[1]).toMatch(/^--build-arg DB_PASSWORD/);
    expect(warnings.join('\n')).not.toContain('hunter2');
  });
});
