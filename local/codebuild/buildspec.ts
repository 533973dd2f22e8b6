/**
 * Reads a buildspec (version 0.2) into what the local runner executes: the phases with their
 * commands, `on-failure` and `finally`, and the `env` section. Errors read like CodeBuild's
 * YAML_FILE_ERROR messages.
 */
import { parse } from 'yaml';

export const PHASES = ['install', 'pre_build', 'build', 'post_build'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface Phase {
  commands: string[];
  finally: string[];
  /** ABORT stops the build; CONTINUE goes on to the next phase; undefined = CodeBuild's default. */
  onFailure?: 'ABORT' | 'CONTINUE';
  runtimeVersions?: Record<string, string>;
}

export interface Buildspec {
  shell: 'bash' | 'sh';
  variables: Record<string, string>;
  parameterStore: Record<string, string>;
  secretsManager: Record<string, string>;
  exportedVariables: string[];
  phases: Partial<Record<PhaseName, Phase>>;
}

/** A buildspec CodeBuild would refuse; `message` says where. */
export class BuildspecError extends Error {
  override name = 'BuildspecError';
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function strings(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new BuildspecError(`${where} is not a list`);
  return value.map((item, i) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return String(item);
    throw new BuildspecError(`${where}[${i}] is not a string`);
  });
}

function map(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new BuildspecError(`${where} is not a map`);
  return Object.fromEntries(
    Object.entries(value).map(([name, v]) => {
      if (v !== null && typeof v === 'object') throw new BuildspecError(`${where}.${name} is not a scalar`);
      return [name, v === null || v === undefined ? '' : String(v)];
    }),
  );
}

/** Parses and checks a buildspec text. */
export function parseBuildspec(text: string): Buildspec {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new BuildspecError(`YAML_FILE_ERROR: ${(error as Error).message.split('\n')[0]}`, { cause: error });
  }
  if (!isRecord(doc)) throw new BuildspecError('YAML_FILE_ERROR: the buildspec is not a YAML map');
  if (String(doc.version) !== '0.2') {
    throw new BuildspecError(
      `YAML_FILE_ERROR: unsupported buildspec version "${String(doc.version)}"; use 0.2`,
    );
  }
  const env = doc.env === undefined ? {} : doc.env;
  if (!isRecord(env)) throw new BuildspecError('YAML_FILE_ERROR: env is not a map');
  const shell = env.shell === undefined ? 'bash' : env.shell;
  if (shell !== 'bash' && shell !== 'sh') {
    throw new BuildspecError(
      `YAML_FILE_ERROR: env.shell "${String(shell)}" is not supported locally (bash, sh)`,
    );
  }
  const phasesDoc = doc.phases === undefined ? {} : doc.phases;
  if (!isRecord(phasesDoc)) throw new BuildspecError('YAML_FILE_ERROR: phases is not a map');
  const phases: Buildspec['phases'] = {};
  for (const [name, body] of Object.entries(phasesDoc)) {
    if (!(PHASES as readonly string[]).includes(name)) {
      throw new BuildspecError(`YAML_FILE_ERROR: unknown phase "${name}"; phases are ${PHASES.join(', ')}`);
    }
    if (body === null) continue;
    if (!isRecord(body)) throw new BuildspecError(`YAML_FILE_ERROR: phases.${name} is not a map`);
    const onFailure = body['on-failure'];
    if (onFailure !== undefined && onFailure !== 'ABORT' && onFailure !== 'CONTINUE') {
      throw new BuildspecError(
        `YAML_FILE_ERROR: phases.${name}.on-failure "${String(onFailure)}" is not ABORT or CONTINUE`,
      );
    }
    phases[name as PhaseName] = {
      commands: strings(body.commands, `phases.${name}.commands`),
      finally: strings(body.finally, `phases.${name}.finally`),
      ...(onFailure ? { onFailure } : {}),
      ...(body['runtime-versions'] !== undefined
        ? { runtimeVersions: map(body['runtime-versions'], `phases.${name}.runtime-versions`) }
        : {}),
    };
  }
  return {
    shell,
    variables: map(env.variables, 'env.variables'),
    parameterStore: map(env['parameter-store'], 'env.parameter-store'),
    secretsManager: map(env['secrets-manager'], 'env.secrets-manager'),
    exportedVariables: strings(env['exported-variables'], 'env.exported-variables'),
    phases,
  };
}
