/**
 * A build's environment variables: the overrides StartBuild accepts, merged over the project's, and
 * their values resolved as CodeBuild resolves them (plain text, Parameter Store, Secrets Manager).
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Buildspec } from './buildspec.ts';
import { CodeBuildError, type EnvironmentVariable } from './model.ts';

const VARIABLE_TYPES = new Set(['PLAINTEXT', 'PARAMETER_STORE', 'SECRETS_MANAGER']);

/** StartBuild's `environmentVariablesOverride`, checked as CodeBuild checks it. */
export function parseOverrides(value: unknown): EnvironmentVariable[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new CodeBuildError('InvalidInputException', 'environmentVariablesOverride must be a list');
  }
  return value.map((item: unknown, i) => {
    const variable = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const name = variable.name;
    const type = variable.type ?? 'PLAINTEXT';
    if (typeof name !== 'string' || name === '' || typeof variable.value !== 'string') {
      throw new CodeBuildError(
        'InvalidInputException',
        `environmentVariablesOverride[${i}] needs a name and a value`,
      );
    }
    if (name.startsWith('CODEBUILD_')) {
      throw new CodeBuildError(
        'InvalidInputException',
        `Environment variable names cannot start with CODEBUILD_: ${name}`,
      );
    }
    if (typeof type !== 'string' || !VARIABLE_TYPES.has(type)) {
      throw new CodeBuildError(
        'InvalidInputException',
        `environmentVariablesOverride[${i}].type ${String(type)} is not valid`,
      );
    }
    return { name, value: variable.value, type: type as EnvironmentVariable['type'] };
  });
}

/** Project variables with the overrides applied, in project order then new names. */
export function mergeVariables(
  project: Array<{ name: string; value: string; type?: string }>,
  overrides: EnvironmentVariable[],
): EnvironmentVariable[] {
  const merged = new Map<string, EnvironmentVariable>();
  for (const variable of project) {
    const type = VARIABLE_TYPES.has(variable.type ?? 'PLAINTEXT')
      ? (variable.type ?? 'PLAINTEXT')
      : 'PLAINTEXT';
    merged.set(variable.name, {
      name: variable.name,
      value: variable.value,
      type: type as EnvironmentVariable['type'],
    });
  }
  for (const variable of overrides) merged.set(variable.name, variable);
  return [...merged.values()];
}

/** The variables a buildspec's `env` section declares, in the order CodeBuild applies them. */
export function buildspecVariables(buildspec: Buildspec): EnvironmentVariable[] {
  const typed = (values: Record<string, string>, type: EnvironmentVariable['type']) =>
    Object.entries(values).map(([name, value]) => ({ name, value, type }));
  return [
    ...typed(buildspec.variables, 'PLAINTEXT'),
    ...typed(buildspec.parameterStore, 'PARAMETER_STORE'),
    ...typed(buildspec.secretsManager, 'SECRETS_MANAGER'),
  ];
}

/** `secret-id:json-key:version-stage:version-id`, as CodeBuild reads a Secrets Manager reference. */
export function splitSecretReference(value: string): string[] {
  // An ARN has colons of its own: the reference parts follow its seventh field.
  if (value.startsWith('arn:')) {
    const parts = value.split(':');
    return [parts.slice(0, 7).join(':'), ...parts.slice(7)];
  }
  return value.split(':');
}

export interface AwsClientConfig {
  region: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Resolves variable values through SSM and Secrets Manager, with clients made on first use. */
export class VariableResolver {
  private ssm?: SSMClient;
  private secrets?: SecretsManagerClient;

  constructor(private readonly clientConfig: AwsClientConfig) {}

  /** Name to value for each variable, in order (a later name wins). */
  async resolve(variables: EnvironmentVariable[]): Promise<Record<string, string>> {
    const resolved: Record<string, string> = {};
    for (const variable of variables) {
      if (variable.type === 'PLAINTEXT') resolved[variable.name] = variable.value;
      else if (variable.type === 'PARAMETER_STORE')
        resolved[variable.name] = await this.parameter(variable.value);
      else resolved[variable.name] = await this.secret(variable.value);
    }
    return resolved;
  }

  destroy(): void {
    this.ssm?.destroy();
    this.secrets?.destroy();
  }

  private async parameter(name: string): Promise<string> {
    this.ssm ??= new SSMClient(this.clientConfig);
    const out = await this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return out.Parameter?.Value ?? '';
  }

  private async secret(reference: string): Promise<string> {
    const [secretId = '', jsonKey, stage, versionId] = splitSecretReference(reference);
    this.secrets ??= new SecretsManagerClient(this.clientConfig);
    const out = await this.secrets.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        ...(stage ? { VersionStage: stage } : {}),
        ...(versionId ? { VersionId: versionId } : {}),
      }),
    );
    const text = out.SecretString ?? '';
    return jsonKey ? String((JSON.parse(text) as Record<string, unknown>)[jsonKey] ?? '') : text;
  }
}
