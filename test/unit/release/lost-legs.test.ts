/** What the periodic check makes of a multi-platform upload's missing legs, as CodeBuild reports their builds. */
import { BatchGetBuildsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/release/config.ts';
import {
  findLostLeg,
  type LegBuild,
  legDeadline,
  readLegBuilds,
} from '../../../functions/release/lost-legs.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';
import { awsError, codebuildMock } from './helpers.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const NOW = new Date('2026-11-16T17:00:00.000Z');
const LATER = new Date('2026-11-17T12:00:00.000Z');
const record: UploadRecord = {
  status: 'accepted',
  bucket: 'b',
  key: 'team/web/v1.tar.gz',
  at: '2026-11-16T16:00:00.000Z',
  legs: [
    {
      platform: 'linux/amd64',
      emulated: false,
      environmentType: 'LINUX_CONTAINER',
      buildId: 'p:amd',
      digest: DIGEST,
    },
    { platform: 'linux/arm64', emulated: false, environmentType: 'ARM_CONTAINER', buildId: 'p:arm' },
    { platform: 'linux/arm/v7', emulated: true, environmentType: 'ARM_CONTAINER' },
  ],
};
const build = (id: string, status: string, extra: Partial<LegBuild> = {}): LegBuild => ({
  id,
  status,
  ...extra,
});
const deadline = new Date('2026-11-17T01:15:00.000Z');

describe('legDeadline', () => {
  const config = loadConfig({
    CONTEXT_BUCKET: 'b',
    BUILD_PROJECT: 'p',
    EVENT_BUS_NAME: 'e',
    BUILD_TIMEOUT_MINUTES: '60',
    BUILD_QUEUED_TIMEOUT_MINUTES: '480',
  });

  it('is the acceptance plus the queue and run limits and 15 minutes', () => {
    expect(legDeadline(record, config, NOW).toISOString()).toBe('2026-11-17T01:15:00.000Z');
  });

  it('counts from now for a record without its acceptance time', () => {
    expect(legDeadline({ ...record, at: 'not a time' }, config, NOW).toISOString()).toBe(
      '2026-11-17T02:15:00.000Z',
    );
  });
});

describe('findLostLeg', () => {
  it('takes the first missing leg whose build ended, in the upload order, past builds of pushed legs', () => {
    const builds = [build('p:amd', 'FAILED'), build('p:arm', 'SUCCEEDED', { digest: DIGEST })];
    expect(findLostLeg(record, builds, NOW, deadline)).toEqual({
      kind: 'succeeded',
      platform: 'linux/arm64',
      buildId: 'p:arm',
      digest: DIGEST,
    });
    expect(findLostLeg(record, [build('p:arm', 'SUCCEEDED')], NOW, deadline)).toEqual({
      kind: 'succeeded',
      platform: 'linux/arm64',
      buildId: 'p:arm',
    });
  });

  it('names the leg, its status and phase when its build did not succeed', () => {
    const reason = (status: string, phase?: string) => {
      const found = findLostLeg(record, [build('p:arm', status, phase ? { phase } : {})], NOW, deadline);
      return found.kind === 'failed' ? found.reason : found.kind;
    };
    expect(reason('STOPPED', 'BUILD')).toBe(
      'the linux/arm64 leg was stopped in its BUILD phase (build p:arm, STOPPED); its log says why',
    );
    expect(reason('FAILED')).toBe('the linux/arm64 leg failed (build p:arm, FAILED); its log says why');
    expect(reason('FAULT')).toBe('the linux/arm64 leg failed (build p:arm, FAULT); its log says why');
    expect(reason('TIMED_OUT')).toMatch(/^the linux\/arm64 leg timed out /);
  });

  it('waits while a build runs, and for a leg with no build known until the deadline', () => {
    expect(findLostLeg(record, [build('p:arm', 'IN_PROGRESS')], NOW, deadline)).toEqual({
      kind: 'wait',
      missing: ['linux/arm64', 'linux/arm/v7'],
    });
    expect(findLostLeg(record, [build('p:arm', 'IN_PROGRESS')], deadline, deadline)).toMatchObject({
      kind: 'wait',
    });
  });

  it('fails past the deadline naming only the legs with no build known', () => {
    expect(findLostLeg(record, [build('p:arm', 'IN_PROGRESS')], LATER, deadline)).toEqual({
      kind: 'failed',
      reason:
        "the linux/arm/v7 leg never reported a build by 2026-11-17T01:15:00.000Z (the builds' queue and run limits have passed); upload again",
    });
    // A build CodeBuild returned for another id is not the leg's.
    expect(findLostLeg(record, [build('p:other', 'IN_PROGRESS')], LATER, deadline)).toMatchObject({
      reason: expect.stringMatching(/^the linux\/arm64, linux\/arm\/v7 legs never reported a build by /),
    });
  });

  it('waits past the deadline when every missing leg has a running build', () => {
    const two = { ...record, legs: record.legs?.slice(0, 2) };
    expect(findLostLeg(two, [build('p:arm', 'IN_PROGRESS')], LATER, deadline)).toEqual({
      kind: 'wait',
      missing: ['linux/arm64'],
    });
  });
});

describe('readLegBuilds', () => {
  const codebuild = new CodeBuildClient({ region: 'us-west-2' });
  beforeEach(() => codebuildMock.reset());

  it('reads status, exported digest and phase; leaves out builds without an id or status', async () => {
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: 'p:arm',
          buildStatus: 'SUCCEEDED',
          currentPhase: 'COMPLETED',
          exportedEnvironmentVariables: [
            { name: 'OTHER', value: 'x' },
            { name: 'IMAGE_DIGEST', value: DIGEST },
          ],
        },
        {
          id: 'p:amd',
          buildStatus: 'IN_PROGRESS',
          exportedEnvironmentVariables: [{ name: 'OTHER', value: 'x' }],
        },
        { id: 'p:x' },
        { buildStatus: 'FAILED' },
      ],
    });
    expect(await readLegBuilds(codebuild, ['p:arm', 'p:amd'])).toEqual([
      { id: 'p:arm', status: 'SUCCEEDED', digest: DIGEST, phase: 'COMPLETED' },
      { id: 'p:amd', status: 'IN_PROGRESS' },
    ]);
    expect(codebuildMock).toHaveReceivedCommandWith(BatchGetBuildsCommand, { ids: ['p:arm', 'p:amd'] });
  });

  it('reads no builds from an empty answer, and classifies errors', async () => {
    codebuildMock.on(BatchGetBuildsCommand).resolves({});
    expect(await readLegBuilds(codebuild, ['p:arm'])).toEqual([]);
    codebuildMock.on(BatchGetBuildsCommand).rejects(awsError('ThrottlingException', 400));
    await expect(readLegBuilds(codebuild, ['p:arm'])).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('BatchGetBuilds of the missing legs'),
    });
  });
});
