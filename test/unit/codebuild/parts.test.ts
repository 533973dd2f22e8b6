/** The parts of the local CodeBuild on their own: queue, idempotency tokens, variables, API. */
import { describe, expect, it, vi } from 'vitest';
import { type BuildRegistry, CodeBuildApi, type StartBuildRequest } from '../../../local/codebuild/api.ts';
import {
  IDEMPOTENCY_WINDOW_MS,
  IdempotencyTokens,
  parametersHash,
} from '../../../local/codebuild/idempotency.ts';
import { type Build, newBuild } from '../../../local/codebuild/model.ts';
import { BuildQueue } from '../../../local/codebuild/queue.ts';
import {
  buildspecVariables,
  mergeVariables,
  parseOverrides,
  splitSecretReference,
} from '../../../local/codebuild/variables.ts';

const PROJECT = {
  name: 'p',
  buildspec: 'version: 0.2\n',
  timeoutInMinutes: 60,
  environmentVariables: [{ name: 'A', value: '1', type: 'PLAINTEXT' }],
};

describe('BuildQueue', () => {
  it('runs at most maxConcurrent items and starts the next when one ends', async () => {
    const releases: Array<() => void> = [];
    const started: number[] = [];
    const queue = new BuildQueue<number>({ maxConcurrent: 1, maxQueued: 1 }, (item) => {
      started.push(item);
      return new Promise<void>((resolve) => releases.push(resolve));
    });
    queue.push(1, 60_000, () => {});
    queue.push(2, 60_000, () => {});
    expect(started).toEqual([1]);
    expect(queue.full).toBe(true);
    releases[0]?.();
    await vi.waitFor(() => expect(started).toEqual([1, 2]));
    expect(queue.full).toBe(false);
    releases[1]?.();
  });

  it('expires an item that waited too long and hands back the waiting ones on close', async () => {
    const queue = new BuildQueue<string>({ maxConcurrent: 0, maxQueued: 5 }, async () => {});
    const expired: string[] = [];
    queue.push('slow', 10, (item) => expired.push(item));
    queue.push('kept', 60_000, (item) => expired.push(item));
    await vi.waitFor(() => expect(expired).toEqual(['slow']));
    expect(queue.remove('slow')).toBe(false);
    expect(queue.close()).toEqual(['kept']);
  });
});

describe('IdempotencyTokens', () => {
  it('names the earlier build for the same parameters and refuses other parameters', () => {
    let now = 0;
    const tokens = new IdempotencyTokens(() => now);
    const hash = parametersHash({ projectName: 'p', idempotencyToken: 't', a: [1, { b: 2, c: 3 }] });
    expect(parametersHash({ a: [1, { c: 3, b: 2 }], projectName: 'p', idempotencyToken: 'other' })).toBe(
      hash,
    );
    tokens.remember('t', hash, 'p:1');
    expect(tokens.check('t', hash)).toBe('p:1');
    expect(() => tokens.check('t', 'other')).toThrow(
      expect.objectContaining({ name: 'InvalidInputException' }),
    );
    now = IDEMPOTENCY_WINDOW_MS;
    expect(tokens.check('t', 'other')).toBeUndefined();
  });
});

describe('build variables', () => {
  it('merges overrides over the project variables, in project order then new names', () => {
    const merged = mergeVariables(
      [
        { name: 'A', value: '1' },
        { name: 'B', value: '2', type: 'WEIRD' },
      ],
      parseOverrides([
        { name: 'C', value: '3' },
        { name: 'A', value: 'x', type: 'PARAMETER_STORE' },
      ]),
    );
    expect(merged).toEqual([
      { name: 'A', value: 'x', type: 'PARAMETER_STORE' },
      { name: 'B', value: '2', type: 'PLAINTEXT' },
      { name: 'C', value: '3', type: 'PLAINTEXT' },
    ]);
  });

  it('refuses overrides that are not a list, lack a value, name CODEBUILD_ or have an unknown type', () => {
    for (const bad of [
      'x',
      [{ name: 'A' }],
      [{ name: 'CODEBUILD_X', value: '' }],
      [{ name: 'A', value: '', type: 'X' }],
    ])
      expect(() => parseOverrides(bad)).toThrow(expect.objectContaining({ name: 'InvalidInputException' }));
  });

  it('splits a secret reference after the ARN of the secret', () => {
    expect(
      splitSecretReference('arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbC:key:AWSCURRENT'),
    ).toEqual(['arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbC', 'key', 'AWSCURRENT']);
    expect(splitSecretReference('name:key')).toEqual(['name', 'key']);
  });

  it('lists a buildspec env section as plain text, then Parameter Store, then Secrets Manager', () => {
    const variables = buildspecVariables({
      variables: { A: '1' },
      parameterStore: { B: '/b' },
      secretsManager: { C: 's:k' },
    } as unknown as Parameters<typeof buildspecVariables>[0]);
    expect(variables.map((v) => v.type)).toEqual(['PLAINTEXT', 'PARAMETER_STORE', 'SECRETS_MANAGER']);
  });
});

describe('CodeBuildApi', () => {
  const build = (n: number): Build =>
    newBuild({
      region: 'us-east-1',
      accountId: '123456789012',
      projectName: 'p',
      uuid: `u${n}`,
      buildNumber: n,
      buildspec: PROJECT.buildspec,
      environmentVariables: [],
      timeoutInMinutes: 60,
      queuedTimeoutInMinutes: 480,
      initiator: 'me',
      deepLink: 'http://x',
      now: 0,
    });
  const registry = () => {
    const builds = [build(1), build(2)];
    const started: StartBuildRequest[] = [];
    const target: BuildRegistry = {
      accepting: true,
      start: (request) => {
        started.push(request);
        return build(3);
      },
      get: (id) => builds.find((b) => b.id === id || b.arn === id),
      stop: (id) => builds.find((b) => b.id === id) as Build,
      ids: () => builds.map((b) => b.id),
    };
    return { target, started };
  };
  const where = { region: 'us-east-1', accountId: '123456789012' };

  it('checks StartBuild input and passes the request on with the project defaults', async () => {
    const { target, started } = registry();
    const api = new CodeBuildApi(PROJECT, where, target);
    await api.handle('StartBuild', { projectName: 'p', idempotencyToken: 't' });
    expect(started[0]).toMatchObject({
      projectName: 'p',
      timeoutInMinutes: 60,
      queuedTimeoutInMinutes: 480,
      buildspec: PROJECT.buildspec,
      initiator: 'ecr-pipeline-local',
      idempotency: { token: 't' },
    });
    await expect(
      api.handle('StartBuild', { projectName: 'p', timeoutInMinutesOverride: 1 }),
    ).rejects.toMatchObject({
      name: 'InvalidInputException',
    });
    await expect(api.handle('StartBuild', { projectName: 'q' })).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('answers BatchGetBuilds with the builds found and the ids not found, and lists newest first', async () => {
    const api = new CodeBuildApi(PROJECT, where, registry().target);
    expect(await api.handle('BatchGetBuilds', { ids: ['p:u1', 'p:nope'] })).toMatchObject({
      builds: [{ id: 'p:u1' }],
      buildsNotFound: ['p:nope'],
    });
    expect(await api.handle('ListBuilds', {})).toEqual({ ids: ['p:u2', 'p:u1'] });
    expect(await api.handle('ListBuildsForProject', { projectName: 'p', sortOrder: 'ASCENDING' })).toEqual({
      ids: ['p:u1', 'p:u2'],
    });
    await expect(api.handle('StopBuild', { id: 'p:nope' })).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('describes the project and refuses operations it does not serve', async () => {
    const api = new CodeBuildApi(PROJECT, where, registry().target);
    expect(await api.handle('BatchGetProjects', { names: ['p', 'q'] })).toMatchObject({
      projects: [{ name: 'p', arn: 'arn:aws:codebuild:us-east-1:123456789012:project/p' }],
      projectsNotFound: ['q'],
    });
    await expect(api.handle('CreateProject', {})).rejects.toMatchObject({ name: 'InvalidInputException' });
  });
});
