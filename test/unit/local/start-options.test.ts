/** `npm start`'s options: the stack parameters of `serverless deploy --param`, checked before anything starts. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseParams,
  parseStartOptions,
  StartUsageError,
  stackParameters,
  startHelp,
} from '../../../local/start-options.ts';

const parameters = stackParameters();
const known = Object.keys(parameters);
const work = mkdtempSync(join(tmpdir(), 'start-options-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the stack parameters', () => {
  it("are serverless.yml's params.default, with their defaults as text", () => {
    expect(parameters).toMatchObject({
      scanning: 'BASIC',
      scanOnPush: 'true',
      notifyLogLines: '20',
      contextPrefix: '',
    });
  });

  it('read a file with CloudFormation tags and without params', () => {
    const file = join(work, 'serverless.yml');
    writeFileSync(file, 'service: x\nresources:\n  A: !GetAtt B.Arn\n');
    expect(stackParameters(file)).toEqual({});
    writeFileSync(file, 'params:\n  default:\n    a: 1\n    b: null\n');
    expect(stackParameters(file)).toEqual({ a: '1', b: '' });
  });
});

describe('--param', () => {
  it('takes name=value, repeatable; the last of a name wins; a value may hold =', () => {
    expect(
      parseParams(['scanning=ENHANCED', 'notifyLogLines=5', 'notifyLogLines=7', 'contextPrefix=a=b'], known),
    ).toEqual({
      scanning: 'ENHANCED',
      notifyLogLines: '7',
      contextPrefix: 'a=b',
    });
    expect(parseParams(['contextPrefix='], known)).toEqual({ contextPrefix: '' });
  });

  it('refuses a name the stack does not have, suggesting the nearest', () => {
    expect(() => parseParams(['scaning=ENHANCED'], known)).toThrow(
      '--param scaning: the stack has no such parameter; did you mean scanning? (npm start -- --help lists them)',
    );
    expect(() => parseParams(['zzzzzz=1'], known)).toThrow(
      '--param zzzzzz: the stack has no such parameter (npm start -- --help lists them)',
    );
  });

  it('refuses an item that is not name=value', () => {
    expect(() => parseParams(['scanning'], known)).toThrow('--param "scanning" is not name=value');
    expect(() => parseParams(['=x'], known)).toThrow(StartUsageError);
  });
});

describe("npm start's options", () => {
  it('has defaults', () => {
    expect(parseStartOptions([], known)).toEqual({
      help: false,
      basePort: undefined,
      dataDir: undefined,
      region: undefined,
      scheduleInterval: undefined,
      skipSetup: false,
      iam: true,
      params: {},
    });
  });

  it('takes every option', () => {
    expect(
      parseStartOptions(
        [
          '--base-port',
          '5000',
          '--data-dir',
          'd',
          '--region',
          'eu-west-1',
          '--schedule-interval',
          '0',
          '--skip-setup',
          '--iam',
          'off',
          '--param',
          'scanning=ENHANCED',
          '-h',
        ],
        known,
      ),
    ).toEqual({
      help: true,
      basePort: '5000',
      dataDir: 'd',
      region: 'eu-west-1',
      scheduleInterval: '0',
      skipSetup: true,
      iam: false,
      params: { scanning: 'ENHANCED' },
    });
  });

  it('refuses unknown options, positionals and bad values with a message, not a stack trace', () => {
    expect(() => parseStartOptions(['--bogus'], known)).toThrow(StartUsageError);
    expect(() => parseStartOptions(['extra'], known)).toThrow(StartUsageError);
    expect(() => parseStartOptions(['--iam', 'maybe'], known)).toThrow('--iam takes on or off, not maybe');
    expect(() => parseStartOptions(['--base-port', 'x'], known)).toThrow(
      '--base-port takes a whole number, not "x"',
    );
    expect(() => parseStartOptions(['--schedule-interval', '-1'], known)).toThrow(StartUsageError);
    expect(() => parseStartOptions(['--param', 'nope=1'], known)).toThrow(/no such parameter/);
  });
});

describe('npm start -- --help', () => {
  it('lists the options and every stack parameter with its default', () => {
    const help = startHelp(parameters);
    for (const option of [
      '--base-port',
      '--data-dir',
      '--region',
      '--schedule-interval',
      '--iam',
      '--skip-setup',
      '--param',
    ])
      expect(help).toContain(option);
    for (const name of known) expect(help).toMatch(new RegExp(`\\n  ${name} +\\S`));
    expect(help).toMatch(/\n {2}scanning +BASIC\n/);
    expect(help).toMatch(/\n {2}contextPrefix +\(empty\)\n/);
  });
});
