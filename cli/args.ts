/**
 * Command-line parsing (node:util parseArgs): one spec per command, help texts, and the checks
 * that need no network. A bad repository name or tag is refused here, before anything is packed.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { checkRepositoryName, checkTag } from '../functions/shared/naming.ts';
import { PLATFORM } from '../functions/shared/platform.ts';
import type { DoctorArgs } from './doctor.ts';
import { UsageError } from './errors.ts';
import type { ReleaseArgs } from './release.ts';
import { parseSecrets } from './secrets.ts';
import { nearest } from './suggest.ts';
import type { TargetFlags } from './target.ts';
import type { VerifyArgs } from './verify.ts';

const targetOptions = {
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  project: { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  local: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const submitOptions = {
  ...targetOptions,
  repository: { type: 'string', short: 'r' },
  tag: { type: 'string', short: 't' },
  dockerfile: { type: 'string', short: 'f' },
  'build-arg': { type: 'string', multiple: true },
  secret: { type: 'string', multiple: true },
  target: { type: 'string' },
  platform: { type: 'string', multiple: true },
  'lambda-safe': { type: 'boolean' },
  async: { type: 'boolean' },
  'max-size': { type: 'string' },
  'max-files': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  output: { type: 'string', short: 'o' },
  'wait-scan': { type: 'boolean' },
  'fail-on': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

const listOptions = {
  ...targetOptions,
  limit: { type: 'string', short: 'n' },
  repository: { type: 'string', short: 'r' },
  output: { type: 'string', short: 'o' },
} as const;

const logsOptions = {
  ...targetOptions,
  follow: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

const statusOptions = { ...targetOptions, output: { type: 'string', short: 'o' } } as const;

const releaseOptions = {
  ...targetOptions,
  override: { type: 'boolean' },
  reason: { type: 'string' },
  function: { type: 'string' },
} as const;

const replayOptions = {
  ...targetOptions,
  queue: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

const TARGET_HELP = `Where:
  --bucket B         contexts bucket (env ECR_PIPELINE_BUCKET; default: the stack's output)
  --prefix P         key prefix the stack watches (env ECR_PIPELINE_PREFIX; default none)
  --project N        CodeBuild project (env ECR_PIPELINE_PROJECT; default: the stack's output)
  --stack S          stack to read outputs from (env ECR_PIPELINE_STACK; default ecr-pipeline-dev)
  --region R         AWS region (env AWS_REGION)
  --profile P        AWS profile (env AWS_PROFILE)
  --local            use the local cloud (npm start) instead of AWS`;

export const HELP = {
  main: `Usage: ecr-pipeline <command> [options]

Commands:
  submit [DIR]            pack DIR, upload it, follow the build, print the pushed image
  status <key|build-id>   what became of an upload or a build
  list                    recent uploads, newest first
  logs <key|build-id>     the build log of an upload or a build
  release <key|build-id>  release a held image anyway (--override --reason TEXT)
  replay                  re-drive what the functions could not handle (the failure queues)
  doctor                  check the deployed stack's wiring without building
  verify <image>          check the image's SBOM and provenance referrers

Run ecr-pipeline <command> --help for its options; ecr-pipeline --version for the version.`,
  submit: `Usage: ecr-pipeline submit [DIR] [--repository R] [--tag T] [options]

Packs DIR (default .) as a gzipped tarball, honouring .dockerignore, uploads it to the contexts
bucket as <prefix><repository>/<tag>.tar.gz, follows the build it starts and waits for the release
(the stack's gate moves the tag, or holds the image: exit 6). Prints the image reference with its
digest on stdout; exits 0 only when the image was released (exit codes: docs/cli.md).
Refuses, without uploading, a tag that already exists in an immutable repository.

Image:
  -r, --repository R   ECR repository name (lower case, namespaces with /); default: DIR's
                       package.json name, else DIR's name, mapped to ECR's grammar
  -t, --tag T          image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}); default: DIR's short git
                       commit (-dirty-<hash of the context> when DIR has uncommitted
                       changes: one tag per content), else the UTC time
Result:
  -o, --output F       text (default) or json: one JSON object on stdout (image, digest, build,
                       record key, phases with durations, scan counts) and nothing else
  --wait-scan          wait for the image's scan (basic or enhanced) and print its counts
  --fail-on SEVERITY   implies --wait-scan; exit 4 when a finding is at or above SEVERITY
                       (INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL)
Build:
  -f, --dockerfile P   Dockerfile inside DIR (default Dockerfile)
  --build-arg K=V      build argument; repeatable; K alone takes the value from the environment
  --secret ID=NAME     build secret: the SSM SecureString parameter or Secrets Manager secret NAME
                       (under the stack's buildSecretsPrefix), read by the build and mounted for
                       RUN --mount=type=secret,id=ID; never in the image; repeatable
  --target S           stage to build
  --platform P         target platform(s), e.g. linux/amd64,linux/arm64; repeatable (one native
                       build per platform, joined into one image index)
  --lambda-safe        a plain image manifest Lambda can run, never an index: one platform only
Upload:
  --async              return after the upload; follow later with status / logs
  --max-size BYTES     refuse contexts larger than this before compression (default 512 MiB,
                       the stack's maxContextBytes)
  --max-files N        refuse contexts with more files (default 50000)
  -q, --quiet          no progress bar and no build log, only phases and the result
  -v, --verbose        show CodeBuild's own log lines ([Container] ...) too
${TARGET_HELP}`,
  status: `Usage: ecr-pipeline status <key|repository:tag|build-id|build-arn> [options]

Shows the upload's record (accepted, or rejected and why) and its build: status, phase, log link
and, once pushed, the image with its digest and its replication per destination region
(DescribeImageReplicationStatus); a failed build's reason is the excerpt of its log.
repository:tag finds the upload whatever its extension (.tar.gz, .tgz, .tar).
Exit codes: 0 built or still on its way, 1 build failed or superseded, 3 upload rejected,
6 held by the release gate, 2 usage, 5 AWS refused.
  -o, --output F     text (default) or json: one JSON object (status, upload, build, image,
                     digest, phase, reason, scan, replication, exitCode)
${TARGET_HELP}`,
  logs: `Usage: ecr-pipeline logs <key|repository:tag|build-id|build-arn> [--follow] [options]

Prints the build log of an upload (its newest version) or of a build, without CodeBuild's own
lines ([Container] ...) unless --verbose.
Exit codes: 0 log printed (with --follow: the image was pushed), 1 build failed or no build,
3 upload rejected, 2 usage, 5 AWS refused.
  --follow           keep printing until the build ends
  -v, --verbose      show CodeBuild's own log lines too
${TARGET_HELP}`,
  list: `Usage: ecr-pipeline list [--limit N] [--repository R] [--output json] [options]

Recent uploads, newest first, from the upload records: key, image, status, age and build.
Exit codes: 0 listed (no uploads is not an error), 1 a record could not be read, 2 usage,
5 AWS refused.
  -n, --limit N        at most N uploads (default 20, at most 1000)
  -r, --repository R   only uploads to this repository
  -o, --output F       text (default) or json (one JSON object: {"uploads": [...]})
${TARGET_HELP}`,
  release: `Usage: ecr-pipeline release <key|repository:tag|build-id> --override --reason TEXT [options]

Releases an image the stack's gate held: the release function moves the tag to it anyway, and
records and notifies the override, its reason and who asked. Needs lambda:InvokeFunction on the
release function (attach the stack's ReleaseOperatorPolicy); uploaders do not have it.
Exit codes: 0 released, 1 not released (nothing held; the function failed or said no),
3 rejected (the tag names another image), 2 usage, 5 AWS refused (or no right to invoke).
  --override         required: release although the gate held the image
  --reason TEXT      required: why, recorded in the upload record and told to people
  --function NAME    the release function (env ECR_PIPELINE_RELEASE_FUNCTION; default <project>-release)
${TARGET_HELP}`,
  replay: `Usage: ecr-pipeline replay [--queue build-trigger|ecr-events] [--dry-run] [options]

Sends each event of a failure queue (what a function could not handle after Lambda's retries) to
the function again, asynchronously, and deletes the message once Lambda has accepted it.
Exit codes: 0 every message re-driven (with --dry-run: listed), 1 a message could not be
re-driven (it stays in the queue) or the stack names no queue, 2 usage, 5 AWS refused.
  --queue Q          build-trigger (default) or ecr-events
  --dry-run          list the uploads or events (and the error) that would be re-driven; change nothing
${TARGET_HELP}`,
  doctor: `Usage: ecr-pipeline doctor [--output json] [options]

Checks the stack without building: the contexts bucket (exists, versioned), its notifications
(every context extension, and .zip to refuse, sent to the build-trigger function), the build project
(exists, privileged for Docker), the functions, Slack and SNS (reach someone, or off), the registry's
scanning and the release gate (a scan gate needs scans), the rule that sends succeeded builds to the
release function, and the roles (IAM's policy simulator: each can do what it needs). Says what is
wrong and how to fix it.
Exit codes: 0 no problem found, 1 a check failed, 2 usage, 5 AWS refused.
  -o, --output F     text (default) or json: {"exitCode", "checks": [{name, status, detail, fix}]}
${TARGET_HELP}`,
  verify: `Usage: ecr-pipeline verify <image> [--output json] [options]

Checks what the build attached to an image (docs/supply-chain.md): an SBOM referrer of its digest (of
each platform's image of a multi-platform one) and a SLSA v1 provenance referrer of its digest, each
made for that digest, and a provenance whose source is an upload of this stack (its contexts bucket
and the upload record the stack wrote for the image). IMAGE is [registry/]repository:tag or
[registry/]repository@sha256:<digest>; without a registry, this account's ECR registry (the local
cloud's with --local). Exit codes: 0 verified, 7 not verified, 1 no such image, 2 usage, 5 AWS refused.
  -o, --output F     text (default) or json: {"image", "digest", "scheme", "sboms", "provenance", "problems"}
${TARGET_HELP}`,
} as const;

/** The commands, as `ecr-pipeline --help` lists them. */
export const COMMANDS = [
  'submit',
  'status',
  'logs',
  'list',
  'release',
  'replay',
  'doctor',
  'verify',
] as const;

/** Severities `--fail-on` takes, lowest first (UNDEFINED is not ranked). */
export const SEVERITIES = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type FailOnSeverity = (typeof SEVERITIES)[number];

export type OutputFormat = 'text' | 'json';

export interface SubmitArgs {
  command: 'submit';
  dir: string;
  /** Undefined: derived from the folder (see defaults.ts). */
  repository?: string | undefined;
  /** Undefined: the folder's git commit, else the time (see defaults.ts). */
  tag?: string | undefined;
  dockerfile?: string | undefined;
  buildArgs: Record<string, string>;
  /** Build secrets: id -> SSM parameter or Secrets Manager secret name (names only, never values). */
  secrets: Record<string, string>;
  target?: string | undefined;
  platforms: string[];
  /** A plain image manifest for Lambda: several platforms are refused. */
  lambdaSafe: boolean;
  async: boolean;
  maxBytes?: number | undefined;
  maxFiles?: number | undefined;
  quiet: boolean;
  /** Show CodeBuild's own log lines too. */
  verbose: boolean;
  output: OutputFormat;
  /** Wait for the image's scan; true whenever `failOn` is set. */
  waitScan: boolean;
  failOn?: FailOnSeverity | undefined;
  flags: TargetFlags;
}

export interface ListArgs {
  command: 'list';
  limit: number;
  repository?: string | undefined;
  output: OutputFormat;
  flags: TargetFlags;
}

export interface LookupArgs {
  command: 'status' | 'logs';
  subject: string;
  follow: boolean;
  /** `logs`: show CodeBuild's own lines too. */
  verbose: boolean;
  /** `status`: text or one JSON object. */
  output: OutputFormat;
  flags: TargetFlags;
}

export interface ReplayArgs {
  command: 'replay';
  queue: 'build-trigger' | 'ecr-events';
  dryRun: boolean;
  flags: TargetFlags;
}

export type Args =
  | SubmitArgs
  | LookupArgs
  | ListArgs
  | ReplayArgs
  | DoctorArgs
  | ReleaseArgs
  | VerifyArgs
  | { command: 'help'; text: string };

function targetFlags(
  values: Partial<Record<keyof typeof targetOptions, string | boolean | undefined>>,
): TargetFlags {
  const pick = (name: keyof typeof targetOptions) => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    bucket: pick('bucket'),
    prefix: pick('prefix'),
    project: pick('project'),
    stack: pick('stack'),
    region: pick('region'),
    profile: pick('profile'),
    local: values.local === true,
  };
}

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0)
    throw new UsageError(`--${name} must be a positive whole number, not "${value}"`);
  return Number(value);
}

function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'text') return 'text';
  if (value === 'json') return 'json';
  throw new UsageError(`--output must be text or json, not "${value}"`);
}

function severity(value: string | undefined): FailOnSeverity | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  const found = SEVERITIES.find((s) => s === upper);
  if (!found) throw new UsageError(`--fail-on must be one of ${SEVERITIES.join(', ')}, not "${value}"`);
  return found;
}

/** Parses `--build-arg` values as Docker does: `K=V`, or `K` alone to take the value from `env`. */
export function parseBuildArgs(values: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const args: Record<string, string> = {};
  for (const item of values) {
    const equals = item.indexOf('=');
    // Stryker disable next-line EqualityOperator: an item that starts with = has no valid name either way, refused with the same message
    const name = equals >= 0 ? item.slice(0, equals) : item;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(`--build-arg "${item}": the name must be letters, digits and _ (K=V)`);
    }
    // Stryker disable next-line EqualityOperator: an item that starts with = never gets here (its name is refused above)
    const value = equals >= 0 ? item.slice(equals + 1) : env[name];
    if (value === undefined) {
      throw new UsageError(
        `--build-arg ${name} has no value and ${name} is not set in the environment`,
        'pass it as K=V',
      );
    }
    args[name] = value;
  }
  return args;
}

/** The usage error for an option parseArgs refused, with the nearest known option when one is near. */
export function unknownOption(message: string, options: Readonly<Record<string, unknown>>): UsageError {
  const given = /^Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  const meant = given?.startsWith('--') ? nearest(given.slice(2), Object.keys(options)) : undefined;
  if (!given || !meant) return new UsageError(message);
  return new UsageError(`unknown option ${given}`, `did you mean --${meant}? (--help for the options)`);
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw unknownOption((error as Error).message, options);
  }
}

function oneSubject(command: string, positionals: string[]): string {
  const [subject, ...extra] = positionals;
  if (!subject || extra.length > 0) {
    throw new UsageError(`${command} takes one upload key, repository:tag or build id`);
  }
  return subject;
}

/** `release <subject> [--override --reason TEXT] [--function F]`. */
function parseRelease(rest: string[]): Args {
  const { values, positionals } = parse(rest, releaseOptions);
  if (values.help) return { command: 'help', text: HELP.release };
  const [subject, ...extra] = positionals;
  if (!subject || extra.length > 0) {
    throw new UsageError('release takes one upload key, repository:tag or build id');
  }
  return {
    command: 'release',
    subject,
    override: values.override === true,
    reason: values.reason,
    functionName: values.function,
    flags: targetFlags(values),
  };
}

/** `submit [dir] [options]`: the folder to pack and how to build, upload and wait for it. */
function parseSubmit(rest: string[], env: NodeJS.ProcessEnv): Args {
  const { values, positionals } = parse(rest, submitOptions);
  if (values.help) return { command: 'help', text: HELP.submit };
  if (positionals.length > 1) throw new UsageError(`submit takes one folder, got ${positionals.join(' ')}`);
  const badName =
    (values.repository !== undefined ? checkRepositoryName(values.repository) : undefined) ??
    (values.tag !== undefined ? checkTag(values.tag) : undefined);
  if (badName) throw new UsageError(badName.reason, 'nothing was uploaded; fix the name and run again');
  const failOn = severity(values['fail-on']);
  const output = outputFormat(values.output);
  const platforms = (values.platform ?? [])
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  const badPlatform = platforms.find((p) => !PLATFORM.test(p));
  if (badPlatform)
    throw new UsageError(`--platform "${badPlatform}" is not os/arch[/variant], e.g. linux/arm64`);
  const lambdaSafe = values['lambda-safe'] === true;
  if (lambdaSafe && new Set(platforms).size > 1) {
    throw new UsageError(
      `--lambda-safe builds one platform (Lambda refuses an image index), got ${platforms.join(', ')}`,
      'nothing was uploaded; submit once per platform, or drop --lambda-safe',
    );
  }
  return {
    command: 'submit',
    dir: positionals[0] ?? '.',
    repository: values.repository,
    tag: values.tag,
    dockerfile: values.dockerfile,
    buildArgs: parseBuildArgs(values['build-arg'] ?? [], env),
    secrets: parseSecrets(values.secret ?? []),
    target: values.target,
    platforms,
    lambdaSafe,
    async: values.async === true,
    maxBytes: positiveInteger('max-size', values['max-size']),
    maxFiles: positiveInteger('max-files', values['max-files']),
    quiet: values.quiet === true,
    verbose: values.verbose === true,
    output,
    waitScan: values['wait-scan'] === true || failOn !== undefined,
    failOn,
    flags: targetFlags(values),
  };
}

/** Parses the command line (without `node` and the script). */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): Args {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    return { command: 'help', text: HELP.main };
  }
  if (command === 'submit') return parseSubmit(rest, env);
  if (command === 'list') {
    const { values, positionals } = parse(rest, listOptions);
    if (values.help) return { command: 'help', text: HELP.list };
    if (positionals.length > 0) throw new UsageError(`list takes no arguments, got ${positionals.join(' ')}`);
    const limit = positiveInteger('limit', values.limit) ?? 20;
    if (limit > 1000) throw new UsageError(`--limit is at most 1000, not ${limit}`);
    const badName = values.repository !== undefined ? checkRepositoryName(values.repository) : undefined;
    if (badName) throw new UsageError(badName.reason);
    return {
      command,
      limit,
      repository: values.repository,
      output: outputFormat(values.output),
      flags: targetFlags(values),
    };
  }
  if (command === 'status') {
    if (rest.includes('--follow'))
      throw new UsageError('--follow is for logs', 'ecr-pipeline logs <subject> --follow');
    const { values, positionals } = parse(rest, statusOptions);
    if (values.help) return { command: 'help', text: HELP.status };
    return {
      command,
      subject: oneSubject(command, positionals),
      follow: false,
      verbose: false,
      output: outputFormat(values.output),
      flags: targetFlags(values),
    };
  }
  if (command === 'logs') {
    const { values, positionals } = parse(rest, logsOptions);
    if (values.help) return { command: 'help', text: HELP.logs };
    return {
      command,
      subject: oneSubject(command, positionals),
      follow: values.follow === true,
      verbose: values.verbose === true,
      output: 'text',
      flags: targetFlags(values),
    };
  }
  if (command === 'release') return parseRelease(rest);
  if (command === 'replay') {
    const { values, positionals } = parse(rest, replayOptions);
    if (values.help) return { command: 'help', text: HELP.replay };
    if (positionals.length > 0)
      throw new UsageError(`replay takes no arguments, got ${positionals.join(' ')}`);
    const queue = values.queue ?? 'build-trigger';
    if (queue !== 'build-trigger' && queue !== 'ecr-events') {
      throw new UsageError(`--queue must be build-trigger or ecr-events, not "${queue}"`);
    }
    return { command, queue, dryRun: values['dry-run'] === true, flags: targetFlags(values) };
  }
  if (command === 'verify') {
    const { values, positionals } = parse(rest, statusOptions);
    if (values.help) return { command: 'help', text: HELP.verify };
    const [image, ...extra] = positionals;
    if (!image || extra.length > 0)
      throw new UsageError('verify takes one image: [registry/]repository:tag or @sha256:<digest>');
    return { command, image, output: outputFormat(values.output), flags: targetFlags(values) };
  }
  if (command === 'doctor') {
    const { values, positionals } = parse(rest, statusOptions);
    if (values.help) return { command: 'help', text: HELP.doctor };
    if (positionals.length > 0)
      throw new UsageError(`doctor takes no arguments, got ${positionals.join(' ')}`);
    return { command, output: outputFormat(values.output), flags: targetFlags(values) };
  }
  const meant = nearest(command, [...COMMANDS]);
  throw new UsageError(
    `unknown command "${command}"`,
    `${meant ? `did you mean ${meant}? ` : ''}commands: ${COMMANDS.join(', ')} (--help for more)`,
  );
}
