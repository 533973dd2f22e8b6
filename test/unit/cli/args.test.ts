import { describe, expect, it } from 'vitest';
import { parseBuildArgs, parseCommandLine } from '../../../cli/args.ts';
import { UsageError } from '../../../cli/errors.ts';
import { classifySubject } from '../../../cli/lookup.ts';
import { asciiJson, uploadMetadata } from '../../../cli/submit.ts';

const parse = (line: string, env: NodeJS.ProcessEnv = {}) =>
  parseCommandLine(line.split(' ').filter(Boolean), env);

describe('list arguments', () => {
  it('defaults to the 20 newest uploads of every repository, as text', () => {
    expect(parse('list')).toMatchObject({
      command: 'list',
      limit: 20,
      repository: undefined,
      output: 'text',
    });
  });

  it('takes --limit, --repository and --output json', () => {
    expect(parse('list -n 5 -r team/api --output json --local')).toMatchObject({
      limit: 5,
      repository: 'team/api',
      output: 'json',
      flags: { local: true },
    });
  });

  it('refuses a limit out of range, a bad repository and arguments', () => {
    expect(() => parse('list --limit 0')).toThrow(/positive whole number/);
    expect(() => parse('list --limit 1001')).toThrow(/at most 1000/);
    expect(() => parse('list -r Team')).toThrow(/upper-case/);
    expect(() => parse('list extra')).toThrow(/no arguments/);
  });
});

describe('submit arguments', () => {
  it('parses every option', () => {
    const args = parse(
      'submit ./app -r team-a/api -t v1.2.3 -f docker/Dockerfile --build-arg A=1 --build-arg B=x=y --secret npm=/ecr-pipeline/dev/build-secrets/npm-token --target prod --platform linux/amd64,linux/arm64 --async --bucket b --prefix in/ --region eu-west-1 --profile p --max-size 1000 --max-files 10',
    );
    expect(args).toEqual({
      command: 'submit',
      dir: './app',
      repository: 'team-a/api',
      tag: 'v1.2.3',
      dockerfile: 'docker/Dockerfile',
      buildArgs: { A: '1', B: 'x=y' },
      secrets: { npm: '/ecr-pipeline/dev/build-secrets/npm-token' },
      target: 'prod',
      platforms: ['linux/amd64', 'linux/arm64'],
      lambdaSafe: false,
      async: true,
      maxBytes: 1000,
      maxFiles: 10,
      quiet: false,
      verbose: false,
      output: 'text',
      waitScan: false,
      failOn: undefined,
      flags: {
        bucket: 'b',
        prefix: 'in/',
        project: undefined,
        stack: undefined,
        region: 'eu-west-1',
        profile: 'p',
        local: false,
      },
    });
  });

  it('defaults DIR to the working directory', () => {
    expect(parse('submit -r api -t v1')).toMatchObject({
      dir: '.',
      buildArgs: {},
      platforms: [],
      async: false,
    });
  });

  it('refuses a bad repository name before anything else, with the shared rule', () => {
    expect(() => parse('submit -r Team/API -t v1')).toThrow(/upper-case/);
    expect(() => parse('submit -r team//api -t v1')).toThrow(UsageError);
  });

  it('refuses a bad tag', () => {
    expect(() => parse('submit -r api -t .hidden')).toThrow(/tag ".hidden"/);
    expect(() => parse(`submit -r api -t ${'x'.repeat(129)}`)).toThrow(/129 characters/);
  });

  it('leaves repository and tag to the folder defaults when they are not given', () => {
    expect(parse('submit -t v1')).toMatchObject({ repository: undefined, tag: 'v1' });
    expect(parse('submit -r api')).toMatchObject({ repository: 'api', tag: undefined });
  });

  it('takes --output json, and --fail-on (any case) implies --wait-scan', () => {
    expect(parse('submit -o json')).toMatchObject({ output: 'json', waitScan: false });
    expect(parse('submit --wait-scan')).toMatchObject({ waitScan: true, failOn: undefined });
    expect(parse('submit --fail-on high')).toMatchObject({ waitScan: true, failOn: 'HIGH' });
  });

  it('refuses an unknown output format or severity with the usage exit code', () => {
    expect(() => parse('submit --output yaml')).toThrow(/--output must be text or json/);
    expect(() => parse('submit --fail-on SEVERE')).toThrow(UsageError);
    expect(() => parse('submit --fail-on UNDEFINED')).toThrow(/INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL/);
  });

  it('refuses unknown options and malformed values with exit code 2', () => {
    const error = (() => {
      try {
        parse('submit -r api -t v1 --colour');
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error?.exitCode).toBe(2);
    expect(() => parse('submit -r api -t v1 --platform amd64')).toThrow(/os\/arch/);
    expect(() => parse('submit -r api -t v1 --max-size -5')).toThrow();
    expect(() => parse('submit -r api -t v1 --max-files ten')).toThrow(/positive whole number/);
    expect(() => parse('submit a b -r api -t v1')).toThrow(/one folder/);
  });

  it('takes a build argument without a value from the environment, as Docker does', () => {
    expect(parseBuildArgs(['HTTP_PROXY', 'X='], { HTTP_PROXY: 'http://p' })).toEqual({
      HTTP_PROXY: 'http://p',
      X: '',
    });
    expect(() => parseBuildArgs(['MISSING'], {})).toThrow(/not set in the environment/);
    expect(() => parseBuildArgs(['1BAD=x'], {})).toThrow(/letters, digits/);
  });
});

describe('help', () => {
  it('prints help for the command and per command', () => {
    expect(parse('')).toMatchObject({ command: 'help' });
    expect(parse('submit --help')).toMatchObject({
      command: 'help',
      text: expect.stringContaining('--build-arg'),
    });
    expect(parse('status -h')).toMatchObject({
      command: 'help',
      text: expect.stringContaining('status <key'),
    });
    expect(parse('logs --help')).toMatchObject({
      command: 'help',
      text: expect.stringContaining('--follow'),
    });
  });

  it('refuses an unknown command', () => {
    expect(() => parse('build .')).toThrow(/unknown command "build"/);
  });
});

describe('status and logs arguments', () => {
  it('takes one subject', () => {
    expect(parse('logs team/api/v1.tar.gz --follow --local')).toMatchObject({
      command: 'logs',
      subject: 'team/api/v1.tar.gz',
      follow: true,
      flags: { local: true },
    });
    expect(() => parse('status')).toThrow(/takes one/);
    expect(() => parse('status a b')).toThrow(/takes one/);
  });

  it('tells a build id from an upload key and a repository:tag', () => {
    expect(classifySubject('ecr-pipeline-dev:0b4f3c1e-2a6d-4e8f-9c1b-123456789abc', '')).toEqual({
      buildId: 'ecr-pipeline-dev:0b4f3c1e-2a6d-4e8f-9c1b-123456789abc',
    });
    expect(classifySubject('in/team/api/v1.tgz', 'in/')).toEqual({ key: 'in/team/api/v1.tgz' });
    // repository:tag names the upload whatever its extension, tried in this order.
    expect(classifySubject('team/api:v1', 'in/')).toEqual({
      keys: ['in/team/api/v1.tar.gz', 'in/team/api/v1.tgz', 'in/team/api/v1.tar'],
    });
    expect(() => classifySubject('team/API:v1', '')).toThrow(/upper-case/);
    expect(() => classifySubject('whatever', '')).toThrow(/neither/);
  });

  it('takes the build ARN a notification prints', () => {
    const id = 'ecr-pipeline-dev:0b4f3c1e-2a6d-4e8f-9c1b-123456789abc';
    expect(classifySubject(`arn:aws:codebuild:eu-west-1:123456789012:build/${id}`, '')).toEqual({
      buildId: id,
    });
    expect(classifySubject(`arn:aws-cn:codebuild:cn-north-1:123456789012:build/${id}`, '')).toEqual({
      buildId: id,
    });
    // An ARN of something else, or of a malformed id, is not a build.
    expect(() => classifySubject(`arn:aws:codebuild:eu-west-1:123456789012:project/${id}`, '')).toThrow(
      UsageError,
    );
    expect(() => classifySubject('arn:aws:codebuild:eu-west-1:123456789012:build/p:not-a-uuid', '')).toThrow(
      /is not the ARN of a build/,
    );
    expect(() => classifySubject(`arn:aws:codebuild:eu-west-1:12345:build/${id}`, '')).toThrow(UsageError);
  });

  it('takes --output for status and --verbose for logs', () => {
    expect(parse('status k.tar.gz -o json')).toMatchObject({ command: 'status', output: 'json' });
    expect(parse('status k.tar.gz')).toMatchObject({ command: 'status', output: 'text' });
    expect(() => parse('status k.tar.gz -o yaml')).toThrow(/--output must be text or json/);
    expect(parse('logs k.tar.gz --verbose')).toMatchObject({ command: 'logs', verbose: true });
    expect(parse('logs k.tar.gz -v')).toMatchObject({ command: 'logs', verbose: true });
    expect(parse('logs k.tar.gz')).toMatchObject({ command: 'logs', verbose: false });
    expect(parse('submit -v')).toMatchObject({ command: 'submit', verbose: true });
    expect(parse('submit')).toMatchObject({ command: 'submit', verbose: false });
  });
});

describe('upload metadata', () => {
  it('carries the Dockerfile, build args as JSON, target and platforms under the shared names', () => {
    expect(
      uploadMetadata(
        { dockerfile: 'docker/Dockerfile' },
        { buildArgs: { A: '1' }, target: 'prod', platforms: ['linux/amd64', 'linux/arm64'] },
      ),
    ).toEqual({
      dockerfile: 'docker/Dockerfile',
      'build-args': '{"A":"1"}',
      target: 'prod',
      platforms: 'linux/amd64,linux/arm64',
    });
    expect(uploadMetadata({ dockerfile: 'Dockerfile' }, { buildArgs: {}, platforms: [] })).toEqual({
      dockerfile: 'Dockerfile',
    });
  });

  it('escapes non-ASCII build argument values so that S3 can carry them', () => {
    const json = asciiJson({ GREETING: 'grüß 👋' });
    expect(json).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(json)).toEqual({ GREETING: 'grüß 👋' });
  });

  it('refuses build settings over the 2 KB S3 metadata limit', () => {
    expect(() =>
      uploadMetadata({ dockerfile: 'Dockerfile' }, { buildArgs: { BIG: 'x'.repeat(3000) }, platforms: [] }),
    ).toThrow(/S3 allows 2048/);
  });

  it('refuses a Dockerfile path S3 metadata cannot carry', () => {
    expect(() => uploadMetadata({ dockerfile: 'Dockerfile.été' }, { buildArgs: {}, platforms: [] })).toThrow(
      /printable ASCII/,
    );
  });
});

/** The UsageError a command line is refused with. */
function refusal(line: string, env: NodeJS.ProcessEnv = {}): UsageError {
  try {
    parse(line, env);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`"${line}" was accepted`);
}

describe('help texts', () => {
  it('prints the main help for no command, help, --help and -h', () => {
    for (const line of ['', 'help', '--help', '-h']) {
      const args = parse(line);
      expect(args).toEqual({ command: 'help', text: expect.stringContaining('Commands:') });
      expect(args).toEqual({ command: 'help', text: expect.stringContaining('replay ') });
    }
  });

  it("prints each command's own help, with the options that say where to look", () => {
    const help = (line: string) => {
      const args = parse(line);
      return args.command === 'help' ? args.text : '';
    };
    expect(help('list --help')).toContain('--limit N');
    expect(help('replay --help')).toContain('--queue Q');
    expect(help('status --help')).toContain('DescribeImageReplicationStatus');
    expect(help('submit --help')).toContain('--fail-on SEVERITY');
    for (const command of ['submit', 'status', 'logs', 'list', 'replay']) {
      expect(help(`${command} --help`)).toContain(`Usage: ecr-pipeline ${command}`);
      expect(help(`${command} --help`)).toContain('--bucket B');
    }
  });
});

describe('where to look', () => {
  it('takes every target flag of every command, and nothing for those not given', () => {
    const flags = {
      bucket: 'b',
      prefix: 'in/',
      project: 'proj',
      stack: 'st',
      region: 'eu-west-1',
      profile: 'p',
      local: true,
    };
    const line = '--bucket b --prefix in/ --project proj --stack st --region eu-west-1 --profile p --local';
    for (const command of ['submit', 'list', 'status key', 'logs key', 'replay'])
      expect(parse(`${command} ${line}`)).toMatchObject({ flags });
    expect(parse('list')).toMatchObject({
      flags: {
        bucket: undefined,
        prefix: undefined,
        project: undefined,
        stack: undefined,
        region: undefined,
        profile: undefined,
        local: false,
      },
    });
  });
});

describe('replay arguments', () => {
  it('re-drives the build-trigger queue by default, for real', () => {
    expect(parse('replay')).toMatchObject({ command: 'replay', queue: 'build-trigger', dryRun: false });
  });

  it('takes --queue ecr-events and --dry-run', () => {
    expect(parse('replay --queue ecr-events --dry-run')).toMatchObject({ queue: 'ecr-events', dryRun: true });
    expect(parse('replay --queue build-trigger')).toMatchObject({ queue: 'build-trigger' });
  });

  it('refuses another queue and arguments, naming them', () => {
    expect(refusal('replay --queue other').message).toBe(
      '--queue must be build-trigger or ecr-events, not "other"',
    );
    expect(refusal('replay a b').message).toBe('replay takes no arguments, got a b');
  });
});

describe('refusals say what was wrong', () => {
  it('names the value of a bad number, output format or severity', () => {
    expect(refusal('submit --max-files 0').message).toBe(
      '--max-files must be a positive whole number, not "0"',
    );
    expect(refusal('submit --max-size 1.5').message).toBe(
      '--max-size must be a positive whole number, not "1.5"',
    );
    expect(refusal('list --limit x').message).toBe('--limit must be a positive whole number, not "x"');
    expect(refusal('list --limit 1001').message).toBe('--limit is at most 1000, not 1001');
    expect(refusal('list -o yaml').message).toBe('--output must be text or json, not "yaml"');
    expect(refusal('submit --fail-on SEVERE').message).toBe(
      '--fail-on must be one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, not "SEVERE"',
    );
  });

  it('takes the largest list and every severity, in any case', () => {
    expect(parse('list --limit 1000')).toMatchObject({ limit: 1000 });
    expect(parse('list -o text')).toMatchObject({ output: 'text' });
    for (const severity of ['informational', 'Low', 'MEDIUM', 'high', 'critical'])
      expect(parse(`submit --fail-on ${severity}`)).toMatchObject({ failOn: severity.toUpperCase() });
  });

  it('tells the user that nothing was uploaded when a name is bad', () => {
    expect(refusal('submit -r Team/API -t v1').hint).toBe('nothing was uploaded; fix the name and run again');
    expect(refusal('submit -r api -t .hidden').hint).toBe('nothing was uploaded; fix the name and run again');
    expect(refusal('list -r Team').message).toContain('upper-case');
  });

  it('suggests the nearest option to a mistyped one', () => {
    expect(refusal('submit --tga v1')).toMatchObject({
      message: 'unknown option --tga',
      hint: 'did you mean --tag? (--help for the options)',
      exitCode: 2,
    });
    expect(refusal('submit --fial-on HIGH').hint).toContain('--fail-on');
    expect(refusal('submit --repo x').hint).toContain('--repository');
    expect(refusal('status k.tar.gz --regoin x').hint).toContain('--region');
    expect(refusal('logs k.tar.gz --folow').hint).toContain('--follow');
    expect(refusal('list --limt 3').hint).toContain('--limit');
    expect(refusal('replay --dryrun').hint).toContain('--dry-run');
  });

  it('passes the reason of an option the parser refuses', () => {
    expect(refusal('list --colour').message).toContain("Unknown option '--colour'");
    expect(refusal('replay --colour').message).toContain("Unknown option '--colour'");
    expect(refusal('logs key --colour').message).toContain("Unknown option '--colour'");
  });

  it('names the extra folders, the arguments and the command it does not know', () => {
    expect(refusal('submit a b').message).toBe('submit takes one folder, got a b');
    expect(refusal('list a b').message).toBe('list takes no arguments, got a b');
    expect(refusal('status').message).toBe('status takes one upload key, repository:tag or build id');
    expect(refusal('logs a b').message).toBe('logs takes one upload key, repository:tag or build id');
    expect(refusal('status key --follow').message).toBe('--follow is for logs');
    const unknown = refusal('build .');
    expect(unknown.message).toBe('unknown command "build"');
    expect(unknown.hint).toBe(
      'commands: submit, status, logs, list, release, replay, doctor, verify (--help for more)',
    );
    expect(refusal('stauts x').hint).toBe(
      'did you mean status? commands: submit, status, logs, list, release, replay, doctor, verify (--help for more)',
    );
    expect(refusal('release').message).toBe('release takes one upload key, repository:tag or build id');
  });

  it('reads release with its override, reason and function', () => {
    expect(
      parse('release team/web/v1.tar.gz --override --reason accepted --function f --local'),
    ).toMatchObject({
      command: 'release',
      subject: 'team/web/v1.tar.gz',
      override: true,
      reason: 'accepted',
      functionName: 'f',
      flags: { local: true },
    });
    expect(parse('release team/web:v1')).toMatchObject({ override: false, reason: undefined });
  });

  it('keeps the progress bar and the build log unless told to be quiet', () => {
    expect(parse('submit -q')).toMatchObject({ quiet: true });
    expect(parse('submit --quiet')).toMatchObject({ quiet: true });
    expect(parse('submit')).toMatchObject({ quiet: false });
  });

  it('refuses a count with anything but digits around it', () => {
    for (const value of ['x5', '5x'])
      expect(refusal(`list --limit ${value}`).message).toBe(
        `--limit must be a positive whole number, not "${value}"`,
      );
  });

  it('follows logs only when asked', () => {
    expect(parse('logs key')).toMatchObject({ command: 'logs', follow: false });
    expect(parse('status key')).toMatchObject({ command: 'status', subject: 'key', follow: false });
  });
});

describe('--lambda-safe', () => {
  it('asks for a plain image manifest in the upload metadata', () => {
    expect(parseCommandLine(['submit', '--lambda-safe', '--platform', 'linux/arm64'], {})).toMatchObject({
      lambdaSafe: true,
      platforms: ['linux/arm64'],
    });
    expect(
      uploadMetadata({ dockerfile: 'Dockerfile' }, { buildArgs: {}, platforms: [], lambdaSafe: true }),
    ).toEqual({ dockerfile: 'Dockerfile', 'lambda-safe': 'true' });
    expect(
      uploadMetadata({ dockerfile: 'Dockerfile' }, { buildArgs: {}, platforms: [], lambdaSafe: false }),
    ).toEqual({ dockerfile: 'Dockerfile' });
  });

  it('refuses several platforms before uploading anything', () => {
    expect(() =>
      parseCommandLine(['submit', '--lambda-safe', '--platform', 'linux/amd64,linux/arm64'], {}),
    ).toThrow(
      '--lambda-safe builds one platform (Lambda refuses an image index), got linux/amd64, linux/arm64',
    );
    expect(
      parseCommandLine(['submit', '--lambda-safe', '--platform', 'linux/arm64,linux/arm64'], {}),
    ).toMatchObject({ lambdaSafe: true });
  });
});

describe('platforms', () => {
  it('takes os/arch with an optional variant, split on commas and trimmed, skipping empty items', () => {
    expect(
      parseCommandLine(
        ['submit', '--platform', 'linux/arm64/v8, ,linux/amd64', '--platform', 'linux/riscv64'],
        {},
      ),
    ).toMatchObject({
      platforms: ['linux/arm64/v8', 'linux/amd64', 'linux/riscv64'],
    });
  });

  it('refuses a platform that is not os/arch[/variant], naming it', () => {
    for (const platform of [
      'Linux/amd64',
      'linux/amd64/',
      'linux',
      'x linux/amd64',
      'linux/amd64 x',
      'linux/amd64/v8/x',
    ]) {
      expect(() => parseCommandLine(['submit', '--platform', platform], {})).toThrow(
        new UsageError(`--platform "${platform}" is not os/arch[/variant], e.g. linux/arm64`),
      );
    }
  });
});

describe('build arguments', () => {
  it('names the item whose name is bad and the name without a value', () => {
    expect(() => parseBuildArgs(['=x'], {})).toThrow(
      '--build-arg "=x": the name must be letters, digits and _ (K=V)',
    );
    expect(() => parseBuildArgs(['A-B=x'], {})).toThrow(/letters, digits/);
    expect(() => parseBuildArgs(['x A=1'], {})).toThrow(/letters, digits/);
    let missing: UsageError | undefined;
    try {
      parseBuildArgs(['MISSING'], {});
    } catch (error) {
      missing = error as UsageError;
    }
    expect(missing?.message).toBe(
      '--build-arg MISSING has no value and MISSING is not set in the environment',
    );
    expect(missing?.hint).toBe('pass it as K=V');
  });

  it('takes names with underscores and digits after the first character, and a value with =', () => {
    expect(parseBuildArgs(['_A1=x=y', 'b_2='], {})).toEqual({ _A1: 'x=y', b_2: '' });
  });
});
