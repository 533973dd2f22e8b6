import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  durationsOf,
  durationsOfBuild,
  durationsOfEvent,
  durationsText,
  MAX_PHASE_SECONDS,
} from '../../../functions/shared/build-durations.ts';

const event = JSON.parse(
  readFileSync(new URL('../../events/codebuild/build-succeeded-exported.json', import.meta.url), 'utf8'),
);

describe('durationsOfEvent', () => {
  it("reads the seconds of each phase from a state-change event's phases, as CodeBuild writes them", () => {
    expect(durationsOfEvent(event.detail['additional-information'].phases)).toEqual({
      queued: 1,
      provisioning: 35,
      downloadSource: 3,
      install: 12,
      preBuild: 5,
      build: 52,
      postBuild: 1,
      finalizing: 3,
    });
  });

  it('takes whole seconds from 0 to a week only, and nothing else a payload puts there', () => {
    const phases = [
      { 'phase-type': 'QUEUED', 'duration-in-seconds': 0 },
      { 'phase-type': 'PROVISIONING', 'duration-in-seconds': 604_800 },
      { 'phase-type': 'DOWNLOAD_SOURCE', 'duration-in-seconds': 604_801 },
      { 'phase-type': 'INSTALL', 'duration-in-seconds': -1 },
      { 'phase-type': 'PRE_BUILD', 'duration-in-seconds': 1.5 },
      { 'phase-type': 'BUILD', 'duration-in-seconds': '63' },
      { 'phase-type': 'POST_BUILD', 'duration-in-seconds': Number.NaN },
      { 'phase-type': 'FINALIZING', 'duration-in-seconds': Number.POSITIVE_INFINITY },
      { 'phase-type': 'UPLOAD_ARTIFACTS' },
    ];
    expect(durationsOfEvent(phases)).toEqual({ queued: 0, provisioning: 604_800 });
    expect(MAX_PHASE_SECONDS).toBe(604_800);
  });

  it('knows only the phase types CodeBuild defines, each the first time it is reported', () => {
    const phases = [
      { 'phase-type': 'constructor', 'duration-in-seconds': 1 },
      { 'phase-type': '__proto__', 'duration-in-seconds': 1 },
      { 'phase-type': 'SUBMITTED', 'duration-in-seconds': 1 },
      { 'phase-type': 'build', 'duration-in-seconds': 1 },
      null,
      'BUILD',
      { 'phase-type': 'BUILD', 'duration-in-seconds': 7 },
      { 'phase-type': 'BUILD', 'duration-in-seconds': 9 },
    ];
    expect(durationsOfEvent(phases)).toEqual({ build: 7 });
  });

  it('reads a bounded number of entries and gives undefined when none counts', () => {
    const filler = Array.from({ length: 32 }, () => ({
      'phase-type': 'SUBMITTED',
      'duration-in-seconds': 0,
    }));
    expect(
      durationsOfEvent([...filler, { 'phase-type': 'BUILD', 'duration-in-seconds': 5 }]),
    ).toBeUndefined();
    expect(
      durationsOfEvent([...filler.slice(1), { 'phase-type': 'BUILD', 'duration-in-seconds': 5 }]),
    ).toEqual({
      build: 5,
    });
    expect(durationsOfEvent({ BUILD: 5 })).toBeUndefined();
    expect(durationsOfEvent(undefined)).toBeUndefined();
    expect(durationsOfEvent([])).toBeUndefined();
  });
});

describe('durationsOfBuild', () => {
  it('reads the phases of a build as BatchGetBuilds describes it', () => {
    expect(
      durationsOfBuild([
        { phaseType: 'SUBMITTED', durationInSeconds: 0 },
        { phaseType: 'QUEUED', durationInSeconds: 2 },
        { phaseType: 'PROVISIONING', durationInSeconds: 41 },
        { phaseType: 'BUILD', durationInSeconds: 2.5 },
        { phaseType: 'COMPLETED' },
      ]),
    ).toEqual({ queued: 2, provisioning: 41 });
    expect(durationsOfBuild(undefined)).toBeUndefined();
    expect(durationsOfBuild([null, { phaseType: 'BUILD', durationInSeconds: 4 }] as never)).toEqual({
      build: 4,
    });
  });
});

describe('durationsOf', () => {
  it('checks durations read back from a record or an event detail as when they were first read', () => {
    expect(durationsOf({ queued: 2, build: 63, provisioning: -1, install: '4', other: 5 })).toEqual({
      queued: 2,
      build: 63,
    });
    expect(durationsOf([2, 3])).toBeUndefined();
    expect(durationsOf({})).toBeUndefined();
    expect(durationsOf('queued 2')).toBeUndefined();
  });
});

describe('durationsText', () => {
  it('names the phases that tell where the start went, and the others when they took a second or more', () => {
    expect(
      durationsText({
        queued: 0,
        provisioning: 41,
        downloadSource: 1,
        install: 0,
        preBuild: 3,
        build: 63,
        postBuild: 0,
        uploadArtifacts: 2,
        finalizing: 1,
      }),
    ).toBe(
      'queued 0 s, provisioning 41 s, download 1 s, pre-build 3 s, build 63 s, upload 2 s, finalizing 1 s',
    );
    expect(durationsText({ install: 4, postBuild: 1 })).toBe('install 4 s, post-build 1 s');
  });

  it('says nothing without durations, or with nothing but zero for the minor phases', () => {
    expect(durationsText(undefined)).toBeUndefined();
    expect(durationsText({ install: 0 })).toBeUndefined();
    expect(durationsText({ build: -3 } as never)).toBeUndefined();
  });
});
