/**
 * The options of `npm start` (local/start.ts), parsed and checked before anything starts: its own
 * (--base-port, --iam...) and `--param name=value`, the stack parameters `serverless deploy --param`
 * takes, with the same names (serverless.yml `params.default`). The values then go through
 * `serverless package --param`, as a deploy's do, so the template gets them as AWS would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { nearest } from '../cli/suggest.ts';
import { DEFAULT_BASE_PORT } from '../shared/local-cloud.ts';

const root = new URL('..', import.meta.url).pathname;

/** A wrong option or parameter: said in one line, exit code 2, before anything starts. */
export class StartUsageError extends Error {
  override name = 'StartUsageError';
}

export interface StartOptions {
  help: boolean;
  basePort?: string | undefined;
  dataDir?: string | undefined;
  region?: string | undefined;
  scheduleInterval?: string | undefined;
  skipSetup: boolean;
  iam: boolean;
  /** `--param` values, by name, in the order given (the last of a repeated name wins, as in serverless). */
  params: Record<string, string>;
}

/** The stack's parameters and their defaults (serverless.yml `params.default`). */
export function stackParameters(serverlessYml = join(root, 'serverless.yml')): Record<string, string> {
  // serverless.yml's own tags (!If, !GetAtt...) are CloudFormation's: kept as plain values here.
  const doc = parseYaml(readFileSync(serverlessYml, 'utf8'), {
    customTags: (tags) => tags,
    logLevel: 'silent',
  }) as { params?: { default?: Record<string, unknown> } };
  const defaults = doc.params?.default ?? {};
  return Object.fromEntries(Object.entries(defaults).map(([name, value]) => [name, String(value ?? '')]));
}

/** Checks `--param` items (`name=value`) against the stack's parameter names. */
export function parseParams(items: readonly string[], known: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const item of items) {
    const equals = item.indexOf('=');
    if (equals <= 0) throw new StartUsageError(`--param "${item}" is not name=value`);
    const name = item.slice(0, equals);
    if (!known.includes(name)) {
      const meant = nearest(name, known);
      throw new StartUsageError(
        `--param ${name}: the stack has no such parameter${meant ? `; did you mean ${meant}?` : ''} (npm start -- --help lists them)`,
      );
    }
    params[name] = item.slice(equals + 1);
  }
  return params;
}

/** The help text of `npm start -- --help`, with the stack's parameters and their defaults. */
export function startHelp(parameters: Record<string, string>): string {
  const width = Math.max(...Object.keys(parameters).map((name) => name.length));
  const list = Object.entries(parameters)
    .map(([name, value]) => `  ${name.padEnd(width)}  ${value === '' ? '(empty)' : value}`)
    .join('\n');
  return `Usage: npm start -- [options] [--param name=value ...]

Brings the local cloud up (moto, the registry, the stack's functions and build project, deployed
from the packaged template) and stays up until Ctrl-C.

Options:
  --base-port N            gateway port (default ${DEFAULT_BASE_PORT}, or LOCAL_CLOUD_BASE_PORT); the registry takes N+2
  --data-dir DIR           where the local cloud keeps its data (default .local/<start time>/)
  --region R               region (default us-east-1)
  --schedule-interval MS   scheduled rules fire every MS ms (0: only when asked)
  --iam on|off             authorize the stack's requests against the template's IAM (default on)
  --skip-setup             do not install what is missing (scripts/setup.mjs)
  --param name=value       a stack parameter, as \`serverless deploy --param\` takes it; repeatable
  -h, --help               this text

Stack parameters (serverless.yml, with their defaults):
${list}`;
}

/** Parses `npm start`'s arguments; throws StartUsageError with a message for people. */
export function parseStartOptions(argv: string[], known: readonly string[]): StartOptions {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean', short: 'h' },
        'base-port': { type: 'string' },
        'data-dir': { type: 'string' },
        region: { type: 'string' },
        'schedule-interval': { type: 'string' },
        'skip-setup': { type: 'boolean' },
        iam: { type: 'string' },
        param: { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new StartUsageError((error as Error).message);
  }
  const iam = (values.iam as string | undefined) ?? 'on';
  if (iam !== 'on' && iam !== 'off') throw new StartUsageError(`--iam takes on or off, not ${iam}`);
  for (const name of ['base-port', 'schedule-interval'] as const) {
    const value = values[name] as string | undefined;
    if (value !== undefined && !/^\d+$/.test(value))
      throw new StartUsageError(`--${name} takes a whole number, not "${value}"`);
  }
  return {
    help: values.help === true,
    basePort: values['base-port'] as string | undefined,
    dataDir: values['data-dir'] as string | undefined,
    region: values.region as string | undefined,
    scheduleInterval: values['schedule-interval'] as string | undefined,
    skipSetup: values['skip-setup'] === true,
    iam: iam === 'on',
    params: parseParams((values.param as string[] | undefined) ?? [], known),
  };
}
