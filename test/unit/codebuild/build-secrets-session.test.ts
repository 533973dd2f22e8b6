/**
 * buildspec/session/secrets.ts: the build secrets' own session (a policy naming exactly the names the
 * upload asked for), SSM first then Secrets Manager, one 0600 file per secret, values never printed.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ScopeError } from '../../../buildspec/session/policy.ts';
import {
  fetchSecrets,
  SecretRefused,
  type SecretsDeps,
  secretsPolicy,
} from '../../../buildspec/session/secrets.ts';

const ROLE = 'arn:aws:iam::123456789012:role/ecr-pipeline-dev-build-session';
const PREFIX = '/ecr-pipeline/dev/build-secrets/';
const ssm = mockClient(SSMClient);
const secretsManager = mockClient(SecretsManagerClient);
let work: string;
let lines: string[];
let assumed: { Policy: string; RoleSessionName: string }[];

beforeEach(() => {
  ssm.reset();
  secretsManager.reset();
  work = mkdtempSync(join(tmpdir(), 'secrets-session-'));
  lines = [];
  assumed = [];
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const deps: SecretsDeps = {
  assumeRole: async (input) => {
    assumed.push(input);
    return { accessKeyId: 'AKIA', secretAccessKey: 'secret', sessionToken: 'token' };
  },
  clients: () => ({ ssm: new SSMClient({}), secrets: new SecretsManagerClient({}) }),
  say: (line) => lines.push(line),
};
const input = () => ({
  roleArn: ROLE,
  region: 'eu-west-1',
  buildId: 'b:1',
  sessionSeconds: 900,
  workDir: work,
});
const names = (text: string) => writeFileSync(join(work, 'build-secrets'), text);

describe('secretsPolicy', () => {
  it('reads exactly the named parameters and secrets and decrypts only through SSM or Secrets Manager', () => {
    expect(JSON.parse(secretsPolicy(ROLE, 'eu-west-1', [`${PREFIX}npm`]))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'TheseParameters',
          Effect: 'Allow',
          Action: 'ssm:GetParameters',
          Resource: [`arn:aws:ssm:eu-west-1:123456789012:parameter${PREFIX}npm`],
        },
        {
          Sid: 'TheseSecrets',
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: [`arn:aws:secretsmanager:eu-west-1:123456789012:secret:${PREFIX}npm-??????`],
        },
        {
          Sid: 'DecryptThroughTheServices',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: 'arn:aws:kms:eu-west-1:123456789012:key/*',
          Condition: {
            StringEquals: {
              'kms:ViaService': ['ssm.eu-west-1.amazonaws.com', 'secretsmanager.eu-west-1.amazonaws.com'],
            },
          },
        },
      ],
    });
  });

  it("refuses a policy over AWS's 2,048 characters", () => {
    const many = Array.from({ length: 20 }, (_, i) => `${PREFIX}${'n'.repeat(40)}${i}`);
    expect(() => secretsPolicy(ROLE, 'eu-west-1', many)).toThrow(SecretRefused);
  });
});

describe('fetchSecrets', () => {
  it('assumes no session and writes nothing when the upload names no secret', async () => {
    expect(await fetchSecrets(deps, input())).toEqual([]);
    expect(assumed).toEqual([]);
    expect(() => statSync(join(work, 'secret-args'))).toThrow();
  });

  it('writes each value to a 0600 file, the --secret values, and never prints a value', async () => {
    names(`npm_token=${PREFIX}npm\0pip=${PREFIX}pip\0`);
    ssm.on(GetParametersCommand).resolves({
      Parameters: [{ Name: `${PREFIX}npm`, Type: 'SecureString', Value: 'npm-value' }],
      InvalidParameters: [`${PREFIX}pip`],
    });
    secretsManager
      .on(GetSecretValueCommand, { SecretId: `${PREFIX}pip` })
      .resolves({ SecretString: 'pip-value' });
    expect(await fetchSecrets(deps, input())).toEqual(['npm_token', 'pip']);
    expect(JSON.parse(assumed[0]?.Policy ?? '{}').Statement[0].Resource).toEqual([
      `arn:aws:ssm:eu-west-1:123456789012:parameter${PREFIX}npm`,
      `arn:aws:ssm:eu-west-1:123456789012:parameter${PREFIX}pip`,
    ]);
    expect(ssm.commandCalls(GetParametersCommand)[0]?.args[0].input).toEqual({
      Names: [`${PREFIX}npm`, `${PREFIX}pip`],
      WithDecryption: true,
    });
    expect(readFileSync(join(work, 'secrets', '0'), 'utf8')).toBe('npm-value');
    expect(readFileSync(join(work, 'secrets', '1'), 'utf8')).toBe('pip-value');
    expect(statSync(join(work, 'secrets', '0')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(work, 'secret-args'), 'utf8')).toBe(
      `id=npm_token,src=${work}/secrets/0\0id=pip,src=${work}/secrets/1\0`,
    );
    expect(lines.join('\n')).not.toMatch(/npm-value|pip-value/);
    expect(lines).toContain('build secrets npm_token, pip mounted for the build (values not shown)');
  });

  it('refuses a plain String parameter: build secrets are SecureString', async () => {
    names(`npm_token=${PREFIX}npm\0`);
    ssm.on(GetParametersCommand).resolves({
      Parameters: [{ Name: `${PREFIX}npm`, Type: 'String', Value: 'npm-value' }],
    });
    await expect(fetchSecrets(deps, input())).rejects.toThrow(
      /is a String parameter: store build secrets as SecureString/,
    );
  });

  it('refuses, naming the secret, a name neither service has', async () => {
    names(`npm_token=${PREFIX}npm\0`);
    ssm.on(GetParametersCommand).resolves({ Parameters: [], InvalidParameters: [`${PREFIX}npm`] });
    const missing = Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
    secretsManager.on(GetSecretValueCommand).rejects(missing);
    await expect(fetchSecrets(deps, input())).rejects.toThrow(
      new SecretRefused(
        `build secret npm_token: no SSM parameter or Secrets Manager secret is named ${PREFIX}npm`,
      ),
    );
  });

  it('refuses a build-secrets entry that is not ID=/NAME or holds an IAM wildcard', async () => {
    names(`npm_token=${PREFIX}*\0`);
    await expect(fetchSecrets(deps, input())).rejects.toThrow(ScopeError);
    expect(assumed).toEqual([]);
  });
});

describe('fetchSecrets and files already there', () => {
  it('never writes through a file or link that is already there', async () => {
    names(`npm_token=${PREFIX}npm\0`);
    ssm.on(GetParametersCommand).resolves({
      Parameters: [{ Name: `${PREFIX}npm`, Type: 'SecureString', Value: 'npm-value' }],
    });
    writeFileSync(join(work, 'elsewhere'), 'untouched');
    mkdirSync(join(work, 'secrets'));
    symlinkSync(join(work, 'elsewhere'), join(work, 'secrets', '0'));
    await expect(fetchSecrets(deps, input())).rejects.toThrow(/EEXIST/);
    expect(readFileSync(join(work, 'elsewhere'), 'utf8')).toBe('untouched');
  });
});
