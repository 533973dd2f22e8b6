/**
 * The build secrets of one build (docs/build-secrets.md): a session of their own whose policy names
 * exactly the parameters and secrets this upload asked for (extract.py checked the names and wrote
 * them to <work>/build-secrets), then each value into a file of <work>/secrets (mode 0600) and the
 * builder's `--secret` values into <work>/secret-args. Values are never printed.
 */
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { MAX_SESSION_POLICY_CHARS, ScopeError } from './policy.ts';
import type { AssumeRole, SessionCredentials } from './prepare.ts';
import { PrepareError } from './prepare.ts';

export interface SecretsInput {
  roleArn: string;
  region: string;
  buildId: string;
  sessionSeconds: number;
  workDir: string;
}

export interface SecretsDeps {
  assumeRole: AssumeRole;
  clients: (credentials: SessionCredentials) => { ssm: SSMClient; secrets: SecretsManagerClient };
  say: (line: string) => void;
}

/** A build secret that cannot be read: the upload is refused, the message names it (never a value). */
export class SecretRefused extends Error {
  override name = 'SecretRefused';
}

const LITERAL = /^\/[^*?$]+$/;

/** ID=NAME entries of <work>/build-secrets, NUL-separated, as extract.py wrote them. */
export async function secretNames(workDir: string): Promise<Map<string, string>> {
  const text = await readFile(join(workDir, 'build-secrets'), 'utf8').catch(() => '');
  const secrets = new Map<string, string>();
  for (const entry of text.split('\0')) {
    if (entry === '') continue;
    const at = entry.indexOf('=');
    const name = entry.slice(at + 1);
    if (at < 1 || !LITERAL.test(name))
      throw new ScopeError(`build-secrets holds "${entry.slice(0, 120)}", not ID=/NAME`);
    secrets.set(entry.slice(0, at), name);
  }
  return secrets;
}

/** The session policy of the secrets session: read exactly these names, decrypt only through the two services. */
export function secretsPolicy(roleArn: string, region: string, names: string[]): string {
  const role = /^arn:([a-z-]+):iam::(\d{12}):role\/.+$/.exec(roleArn);
  if (!role) throw new ScopeError(`"${roleArn}" is not a role ARN`);
  const [, partition, account] = role;
  const parameters = names.map((name) => `arn:${partition}:ssm:${region}:${account}:parameter${name}`);
  // A secret's ARN ends in six random characters after the name.
  const secrets = names.map(
    (name) => `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-??????`,
  );
  const text = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'TheseParameters', Effect: 'Allow', Action: 'ssm:GetParameters', Resource: parameters },
      { Sid: 'TheseSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secrets },
      {
        Sid: 'DecryptThroughTheServices',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: `arn:${partition}:kms:${region}:${account}:key/*`,
        Condition: {
          StringEquals: {
            'kms:ViaService': [`ssm.${region}.amazonaws.com`, `secretsmanager.${region}.amazonaws.com`],
          },
        },
      },
    ],
  });
  if (text.length > MAX_SESSION_POLICY_CHARS)
    throw new SecretRefused(
      `the build secrets' session policy is ${text.length} characters, over AWS's ${MAX_SESSION_POLICY_CHARS}: ask for fewer or shorter names`,
    );
  return text;
}

/** A new file only its owner may read; never one that exists. */
async function writeSecretFile(path: string, value: Uint8Array): Promise<void> {
  const file = await open(path, 'wx', 0o600);
  try {
    await file.writeFile(value);
  } finally {
    await file.close();
  }
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : 'Error');

/** SSM SecureString parameters first (one call), then Secrets Manager for the names SSM has not. */
export async function fetchSecrets(deps: SecretsDeps, input: SecretsInput): Promise<string[]> {
  const secrets = await secretNames(input.workDir);
  if (secrets.size === 0) return [];
  const names = [...new Set(secrets.values())].sort();
  const sessionName = `${input.buildId.replace(/[^\w+=,.@-]/g, '-').slice(-56)}-secrets`;
  const credentials = await deps
    .assumeRole({
      RoleArn: input.roleArn,
      RoleSessionName: sessionName,
      Policy: secretsPolicy(input.roleArn, input.region, names),
      DurationSeconds: input.sessionSeconds,
    })
    .catch((error: unknown) => {
      throw new PrepareError(`assuming ${input.roleArn} for the build secrets failed (${errorName(error)})`);
    });
  const { ssm, secrets: secretsManager } = deps.clients(credentials);
  const found = new Map<string, Uint8Array>();
  const answer = await ssm
    .send(new GetParametersCommand({ Names: names, WithDecryption: true }))
    .catch((error: unknown) => {
      throw new SecretRefused(`reading the build secrets from SSM failed (${errorName(error)})`);
    });
  for (const parameter of answer.Parameters ?? []) {
    if (parameter.Type !== 'SecureString')
      throw new SecretRefused(
        `build secret parameter ${parameter.Name} is a ${parameter.Type} parameter: store build secrets as SecureString`,
      );
    if (parameter.Name) found.set(parameter.Name, Buffer.from(parameter.Value ?? '', 'utf8'));
  }
  const folder = join(input.workDir, 'secrets');
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const args: string[] = [];
  let number = 0;
  for (const [id, name] of secrets) {
    let value = found.get(name);
    if (value === undefined) {
      const out = await secretsManager
        .send(new GetSecretValueCommand({ SecretId: name }))
        .catch((error: unknown) => {
          if (errorName(error) === 'ResourceNotFoundException')
            throw new SecretRefused(
              `build secret ${id}: no SSM parameter or Secrets Manager secret is named ${name}`,
            );
          throw new SecretRefused(`build secret ${id}: reading ${name} failed (${errorName(error)})`);
        });
      if (out.SecretString !== undefined) value = Buffer.from(out.SecretString, 'utf8');
      else if (out.SecretBinary !== undefined) value = out.SecretBinary;
      else throw new SecretRefused(`build secret ${id}: the secret ${name} has no value`);
      found.set(name, value);
    }
    const path = join(folder, String(number++));
    await writeSecretFile(path, value);
    args.push(`id=${id},src=${path}`);
  }
  await writeFile(join(input.workDir, 'secret-args'), args.map((arg) => `${arg}\0`).join(''), {
    mode: 0o600,
  });
  deps.say(`build secrets ${[...secrets.keys()].join(', ')} mounted for the build (values not shown)`);
  return [...secrets.keys()];
}
