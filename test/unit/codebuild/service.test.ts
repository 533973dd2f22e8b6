import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CodeBuildService,
  createCodeBuildService,
  type LocalCodeBuildOptions,
} from '../../../local/codebuild/index.ts';

interface Entry {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[];
}
type Build = Awaited<ReturnType<CodeBuildService['waitForBuild']>>;

const PROJECT = 'ecr-pipeline-dev-build';
let dirs: string[] = [];
let services: CodeBuildService[] = [];

afterEach(async () => {
  await Promise.all(services.map((service) => service.stop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs = [];
  services = [];
});

function service(buildspec: string, options: LocalCodeBuildOptions = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'codebuild-test-'));
  dirs.push(dataDir);
  const events: Entry[] = [];
  const cb = createCodeBuildService(
    {
      dataDir,
      region: 'us-east-1',
      accountId: '123456789012',
      endpoint: 'http://127.0.0.1:45100',
      registry: '127.0.0.1:45101',
      buildEnv: { AWS_ENDPOINT_URL: 'http://127.0.0.1:45100' },
      project: {
        name: PROJECT,
        buildspec,
        timeoutInMinutes: 60,
        environmentVariables: [{ name: 'FROM_PROJECT', value: 'project', type: 'PLAINTEXT' }],
      },
      putEvents: async (entries) => {
        events.push(...entries);
      },
    },
    options,
  );
  services.push(cb);
  const start = async (input: Record<string, unknown> = {}) =>
    ((await cb.handle('StartBuild', { projectName: PROJECT, ...input })) as { build: Build }).build;
  return { cb, events, start };
}

const phaseOf = (build: Build, type: string) => build.phases.find((phase) => phase.phaseType === type);

describe('local CodeBuild', () => {
  it('runs the phases in one shell state: variables and directory carry over, exported variables come back', async () => {
    const { cb, start } = service(`version: 0.2
env:
  shell: bash
  variables:
    FROM_SPEC: spec
    FROM_PROJECT: overridden-by-project
  exported-variables: [IMAGE_DIGEST, PLAIN]
phases:
  install:
    commands:
      - mkdir -p sub && cd sub
      - export IMAGE_DIGEST=sha256:abc
  build:
    commands:
      - PLAIN="two words"
      - echo "pwd=$(basename "$PWD") spec=$FROM_SPEC project=$FROM_PROJECT override=$FROM_OVERRIDE succeeding=$CODEBUILD_BUILD_SUCCEEDING"
`);
    const started = await start({
      environmentVariablesOverride: [{ name: 'FROM_OVERRIDE', value: 'override', type: 'PLAINTEXT' }],
    });
    expect(started.buildStatus).toBe('IN_PROGRESS');
    const build = await cb.waitForBuild(started.id);
    expect(build.buildStatus).toBe('SUCCEEDED');
    expect(build.exportedEnvironmentVariables).toEqual([
      { name: 'IMAGE_DIGEST', value: 'sha256:abc' },
      { name: 'PLAIN', value: 'two words' },
    ]);
    const log = await cb.readLog(build.arn);
    expect(log).toContain('pwd=sub spec=spec project=project override=override succeeding=1');
    expect(build.phases.map((phase) => phase.phaseType)).toEqual([
      'SUBMITTED',
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'PRE_BUILD',
      'BUILD',
      'POST_BUILD',
      'UPLOAD_ARTIFACTS',
      'FINALIZING',
      'COMPLETED',
    ]);
    expect(build.currentPhase).toBe('COMPLETED');
    expect(build.endTime).toBeGreaterThanOrEqual(build.startTime);
    expect(build.logs.deepLink).toBe(cb.logUrl(build.id));
  });

  it("gives builds an image store of the cloud's own, in its data folder, and removes it at stop", async () => {
    const { cb, start } = service(`version: 0.2
phases:
  build:
    commands:
      - cat "$CONTAINERS_STORAGE_CONF"
      - touch "$(dirname "$CONTAINERS_STORAGE_CONF")/graph-was-writable"
`);
    const build = await cb.waitForBuild((await start()).id);
    expect(build.buildStatus).toBe('SUCCEEDED');
    const dataDir = dirs.at(-1) as string;
    const store = join(dataDir, 'builder-store');
    const log = (await cb.readLog(build.arn)) ?? '';
    // Never the host's /var/lib/containers: a build killed halfway cannot leave a broken image there.
    expect(log).toContain('driver = "vfs"');
    expect(log).toContain(`graphroot = "${join(store, 'graph')}"`);
    expect(log).toContain(`runroot = "${join(store, 'run')}"`);
    expect(existsSync(join(store, 'graph-was-writable'))).toBe(true);
    await cb.stop();
    expect(existsSync(store)).toBe(false);
  });

  it('fails the BUILD phase on a failing command, still runs POST_BUILD and the finally block', async () => {
    const { cb, start, events } = service(`version: 0.2
phases:
  build:
    commands:
      - echo before
      - exit 3
      - echo never-runs
    finally:
      - echo finally-ran
  post_build:
    commands:
      - echo "post_build succeeding=$CODEBUILD_BUILD_SUCCEEDING"
`);
    const build = await cb.waitForBuild((await start()).id);
    expect(build.buildStatus).toBe('FAILED');
    expect(phaseOf(build, 'BUILD')).toMatchObject({
      phaseStatus: 'FAILED',
      contexts: [
        {
          statusCode: 'COMMAND_EXECUTION_ERROR',
          message: 'Error while executing command: exit 3. Reason: exit status 3',
        },
      ],
    });
    expect(phaseOf(build, 'POST_BUILD')?.phaseStatus).toBe('SUCCEEDED');
    const log = (await cb.readLog(build.id)) ?? '';
    expect(log).toContain('finally-ran');
    expect(log).toContain('post_build succeeding=0');
    expect(log).not.toContain('never-runs\n');

    const last = events.at(-1);
    expect(last).toMatchObject({ Source: 'aws.codebuild', DetailType: 'CodeBuild Build State Change' });
    const detail = JSON.parse(last?.Detail ?? '{}');
    expect(detail).toMatchObject({
      'build-status': 'FAILED',
      'project-name': PROJECT,
      'build-id': build.arn,
      'current-phase': 'COMPLETED',
      'additional-information': { 'build-complete': true, logs: { 'deep-link': cb.logUrl(build.id) } },
    });
    const failed = detail['additional-information'].phases.find(
      (p: { 'phase-type': string }) => p['phase-type'] === 'BUILD',
    );
    expect(failed['phase-status']).toBe('FAILED');
    expect(failed['phase-context'][0]).toContain('COMMAND_EXECUTION_ERROR');
    expect(detail['additional-information']['build-start-time']).toMatch(
      /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$/,
    );
    expect(JSON.parse(events[0]?.Detail ?? '{}')['build-status']).toBe('IN_PROGRESS');
  });

  it('ends the build after a failed PRE_BUILD, and at once on a failed phase marked on-failure: ABORT', async () => {
    const { cb, start } = service(`version: 0.2
phases:
  pre_build:
    commands: [ "false" ]
  build:
    commands: [ "echo build-ran" ]
`);
    const build = await cb.waitForBuild((await start()).id);
    expect(build.buildStatus).toBe('FAILED');
    expect(phaseOf(build, 'BUILD')).toBeUndefined();
    expect(await cb.readLog(build.id)).not.toContain('build-ran\n');

    const abort = service(`version: 0.2
phases:
  build:
    on-failure: ABORT
    commands: [ "false" ]
  post_build:
    commands: [ "echo post-ran" ]
`);
    const aborted = await abort.cb.waitForBuild((await abort.start()).id);
    expect(aborted.buildStatus).toBe('FAILED');
    expect(phaseOf(aborted, 'POST_BUILD')).toBeUndefined();
  });

  it('fails a build whose buildspec is not valid with YAML_FILE_ERROR', async () => {
    const { cb, start } = service('version: 0.2\nphases:\n  compile:\n    commands: [echo]\n');
    const build = await cb.waitForBuild((await start()).id);
    expect(build.buildStatus).toBe('FAILED');
    expect(phaseOf(build, 'DOWNLOAD_SOURCE')?.contexts?.[0]?.statusCode).toBe('YAML_FILE_ERROR');
  });

  it('times a build out after the project timeout and ends its command', async () => {
    const { cb, start } = service(
      'version: 0.2\nphases:\n  build:\n    commands: ["sleep 30", "echo after"]\n',
      {
        minuteMs: 30,
      },
    );
    const build = await cb.waitForBuild((await start({ timeoutInMinutesOverride: 5 })).id);
    expect(build.buildStatus).toBe('TIMED_OUT');
    expect(phaseOf(build, 'BUILD')?.phaseStatus).toBe('TIMED_OUT');
    expect(await cb.readLog(build.id)).not.toContain('after\n');
  });

  it('stops a running build on StopBuild', async () => {
    const { cb, start } = service(
      'version: 0.2\nphases:\n  build:\n    commands: ["echo started; sleep 30"]\n',
    );
    const started = await start();
    for (let i = 0; i < 100 && !(await cb.readLog(started.id))?.includes('started'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await cb.handle('StopBuild', { id: started.id });
    const build = await cb.waitForBuild(started.id);
    expect(build.buildStatus).toBe('STOPPED');
    expect(phaseOf(build, 'BUILD')?.phaseStatus).toBe('STOPPED');
  });

  it('returns the same build for a repeated idempotency token and refuses it with other parameters', async () => {
    const { cb, start } = service('version: 0.2\nphases:\n  build:\n    commands: ["true"]\n');
    const variables = [{ name: 'IMAGE_TAG', value: 'v1', type: 'PLAINTEXT' }];
    const first = await start({ idempotencyToken: 'token-1', environmentVariablesOverride: variables });
    const again = await start({ idempotencyToken: 'token-1', environmentVariablesOverride: variables });
    expect(again.id).toBe(first.id);
    await expect(
      start({
        idempotencyToken: 'token-1',
        environmentVariablesOverride: [{ ...variables[0], value: 'v2' }],
      }),
    ).rejects.toMatchObject({ name: 'InvalidInputException' });
    const listed = (await cb.handle('ListBuildsForProject', { projectName: PROJECT })) as { ids: string[] };
    expect(listed.ids).toEqual([first.id]);
  });

  it('queues builds beyond the concurrency limit, refuses beyond the queue, lists newest first', async () => {
    const { cb, start } = service('version: 0.2\nphases:\n  build:\n    commands: ["sleep 0.3"]\n', {
      maxConcurrentBuilds: 1,
      maxQueuedBuilds: 1,
    });
    const first = await start();
    const second = await start();
    await expect(start()).rejects.toMatchObject({ name: 'AccountLimitExceededException' });
    const [a, b] = (
      (await cb.handle('BatchGetBuilds', { ids: [first.id, second.arn, 'nope:1'] })) as {
        builds: Build[];
        buildsNotFound: string[];
      }
    ).builds;
    expect(b?.currentPhase).toBe('QUEUED');
    expect(a?.currentPhase).not.toBe('QUEUED');
    const done = await Promise.all([cb.waitForBuild(first.id), cb.waitForBuild(second.id)]);
    expect(done.map((build) => build.buildStatus)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect((phaseOf(done[1] as Build, 'QUEUED')?.endTime ?? 0) >= (done[0]?.endTime ?? 0) - 0.5).toBe(true);
    const listed = (await cb.handle('ListBuildsForProject', { projectName: PROJECT })) as { ids: string[] };
    expect(listed.ids).toEqual([second.id, first.id]);
  });

  it('refuses a build of another project and overrides of CODEBUILD_ variables', async () => {
    const { cb, start } = service('version: 0.2\nphases: {}\n');
    await expect(cb.handle('StartBuild', { projectName: 'other' })).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(
      start({ environmentVariablesOverride: [{ name: 'CODEBUILD_BUILD_ID', value: 'x' }] }),
    ).rejects.toMatchObject({ name: 'InvalidInputException' });
  });
});
