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
      'submit ./app -r team-a/api -t v1.2.3 -f docker/Dockerfile --build-arg A=1 --build-arg B=x=y --target prod --platform linux/amd64,linux/arm64 --async --bucket b --prefix in/ --region eu-west-1 --profile p --max-size 1000 --max-files 10',
    );
    expect(args).toEqual({
      command: 'submit',
      dir: './app',
      repository: 'team-a/api',
      tag: 'v1.2.3',
      dockerfile: 'docker/Dockerfile',
      buildArgs: { A: '1', B: 'x=y' },
      target: 'prod',
      platforms: ['linux/amd64', 'linux/arm64'],
      async: true,
      maxBytes: 1000,
      maxFiles: 10,
      quiet: false,
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
    expect(classifySubject('team/api:v1', 'in/')).toEqual({ key: 'in/team/api/v1.tar.gz' });
    expect(() => classifySubject('team/API:v1', '')).toThrow(/upper-case/);
    expect(() => classifySubject('whatever', '')).toThrow(/neither/);
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
