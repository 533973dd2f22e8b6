/**
 * The join of a multi-platform upload's legs into one OCI image index: digest order, media types,
 * one leg reported twice, a leg lost, legs out of order, and the gates over every leg's image.
 */

import { BatchGetBuildsCommand, type StatusType } from '@aws-sdk/client-codebuild';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PermanentError } from '../../../functions/release/errors.ts';
import {
  childManifests,
  indexManifest,
  isJoined,
  joinLegs,
  judgeLegs,
  legDigests,
  manifestDigest,
  missingLegs,
  recordLeg,
} from '../../../functions/release/join.ts';
import { handleInvocation } from '../../../functions/release/release.ts';
import { BUILD_ENV } from '../../../functions/shared/contract.ts';
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from '../../../functions/shared/media-types.ts';
import { parsePlatform } from '../../../functions/shared/platform.ts';
import { imageIndexKey, type UploadRecord } from '../../../functions/shared/upload-record.ts';
import {
  acceptedRecord,
  awsError,
  codebuildMock,
  ecrMock,
  eventsMock,
  type FakeBucket,
  type FakeRepository,
  fixture,
  NOW,
  putImages,
  RECORD_KEY,
  REQUEST_ID,
  releaseDeps,
  releaseScene,
  verdicts,
} from './helpers.ts';

const AMD = `sha256:${'a'.repeat(64)}`;
const ARM = `sha256:${'1'.repeat(64)}`;
const BUILD = (n: string) => `arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:leg-${n}`;

const accepted = acceptedRecord({
  legs: [
    { platform: 'linux/amd64', emulated: false, environmentType: 'LINUX_CONTAINER' },
    { platform: 'linux/arm64', emulated: false, environmentType: 'ARM_CONTAINER' },
  ],
});

let bucket: FakeBucket;
let repo: FakeRepository;

beforeEach(() => {
  ({ bucket, repo } = releaseScene(accepted, [AMD, ARM]));
  repo.manifests.set(AMD, { text: '{"schemaVersion":2,"amd":1}', mediaType: OCI_MANIFEST });
  repo.manifests.set(ARM, { text: '{"schemaVersion":2,"arm":"longer"}', mediaType: DOCKER_MANIFEST });
});

/** The success event of one leg's build, as CodeBuild sends it. */
function legSucceeded(platform: string, digest: string, build: string) {
  const event = fixture('codebuild/build-succeeded-exported.json');
  const info = event.detail['additional-information'] as {
    environment: { 'environment-variables': { name: string; value: string; type: string }[] };
    'exported-environment-variables': { name: string; value: string }[];
    phases: unknown;
  };
  event.detail['build-id'] = build;
  info.environment['environment-variables'].push({
    name: BUILD_ENV.platform,
    value: platform,
    type: 'PLAINTEXT',
  });
  info['exported-environment-variables'] = [{ name: 'IMAGE_DIGEST', value: digest }];
  // Each leg's own time: the arm64 leg waited longer for its machine.
  info.phases = [
    { 'phase-type': 'QUEUED', 'duration-in-seconds': 1 },
    { 'phase-type': 'PROVISIONING', 'duration-in-seconds': platform === 'linux/arm64' ? 90 : 40 },
    { 'phase-type': 'BUILD', 'duration-in-seconds': 60 },
  ];
  return event;
}

const record = () => bucket.json(RECORD_KEY);
const indexPuts = () => putImages().filter((input) => input.imageTag === undefined);
const THE_INDEX = indexManifest([
  { platform: 'linux/amd64', digest: AMD, mediaType: OCI_MANIFEST, size: 27 },
  { platform: 'linux/arm64', digest: ARM, mediaType: DOCKER_MANIFEST, size: 34 },
]);

describe('joining the legs', () => {
  it('waits for every leg, then puts one OCI index over them by digest and releases the tag on it', async () => {
    const deps = releaseDeps();
    expect(await handleInvocation(deps, legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID)).toEqual({
      kind: 'joining',
      missing: ['linux/amd64'],
    });
    expect(putImages()).toEqual([]);
    expect(record().legs?.[1]).toMatchObject({
      buildId: BUILD('arm'),
      digest: ARM,
      finishedAt: NOW.toISOString(),
      durations: { queued: 1, provisioning: 90, build: 60 },
    });

    const outcome = await handleInvocation(deps, legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    expect(outcome).toEqual({ kind: 'decided', verdict: 'released' });
    const index = manifestDigest(THE_INDEX);
    expect(indexPuts()).toEqual([
      {
        repositoryName: 'team/web',
        imageManifest: THE_INDEX,
        imageManifestMediaType: OCI_INDEX,
        imageDigest: index,
      },
    ]);
    // The children keep their own media types and sizes; the tag moves onto the index, not a leg.
    expect(JSON.parse(THE_INDEX)).toEqual({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: AMD, size: 27, platform: { architecture: 'amd64', os: 'linux' } },
        {
          mediaType: DOCKER_MANIFEST,
          digest: ARM,
          size: 34,
          platform: { architecture: 'arm64', os: 'linux' },
        },
      ],
    });
    expect(repo.tags.get('v1.4.3')).toBe(index);
    expect(putImages().at(-1)).toMatchObject({
      imageTag: 'v1.4.3',
      imageDigest: index,
      imageManifestMediaType: OCI_INDEX,
    });
    expect(record()).toMatchObject({ status: 'released', digest: index, buildId: BUILD('amd') });
    // The gate none reads no leg's scan.
    expect(ecrMock).not.toHaveReceivedCommand(DescribeImageScanFindingsCommand);
    expect(verdicts()).toEqual([
      expect.objectContaining({
        verdict: 'released',
        digest: index,
        legs: [
          {
            platform: 'linux/amd64',
            emulated: false,
            durations: { queued: 1, provisioning: 40, build: 60 },
          },
          {
            platform: 'linux/arm64',
            emulated: false,
            durations: { queued: 1, provisioning: 90, build: 60 },
          },
        ],
      }),
    ]);
    expect(verdicts()[0]).not.toHaveProperty('durations');
    // A scan result names a child: its image index object leads to the record too.
    for (const digest of [index, AMD, ARM]) {
      expect(bucket.json(imageIndexKey('', 'team/web', digest))).toMatchObject({
        record: RECORD_KEY,
        digest,
      });
    }
  });

  it('makes the same index whatever order the legs end in', async () => {
    const deps = releaseDeps();
    await handleInvocation(deps, legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    await handleInvocation(deps, legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID);
    expect(indexPuts().map((input) => input.imageManifest)).toEqual([THE_INDEX]);
    expect(record().digest).toBe(manifestDigest(THE_INDEX));
  });

  it('joins once when a leg is reported twice', async () => {
    const deps = releaseDeps();
    await handleInvocation(deps, legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID);
    expect(await handleInvocation(deps, legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID)).toEqual({
      kind: 'joining',
      missing: ['linux/amd64'],
    });
    await handleInvocation(deps, legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    await handleInvocation(deps, legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    expect(indexPuts()).toHaveLength(1);
    expect(verdicts()).toHaveLength(1);
  });

  it('joins on a repeated report when a run was cut off after recording the last leg', async () => {
    const legs = accepted.legs?.map((leg, i) => ({
      ...leg,
      buildId: BUILD(`${i}`),
      digest: i === 0 ? AMD : ARM,
    }));
    bucket.put(RECORD_KEY, JSON.stringify({ ...accepted, legs }));
    const outcome = await handleInvocation(
      releaseDeps(),
      legSucceeded('linux/arm64', ARM, BUILD('1')),
      REQUEST_ID,
    );
    expect(outcome).toEqual({ kind: 'decided', verdict: 'released' });
    expect(indexPuts().map((input) => input.imageManifest)).toEqual([THE_INDEX]);
  });

  it('joins once when the last two legs are reported at the same time', async () => {
    const deps = releaseDeps();
    // The amd64 leg's write lands while the arm64 leg's round has read the record: a 412, then again.
    let raced = false;
    bucket.beforePut = (key) => {
      if (key !== RECORD_KEY || raced) return;
      raced = true;
      const current = bucket.json(RECORD_KEY);
      const legs = current.legs?.map((leg) =>
        leg.platform === 'linux/amd64' ? { ...leg, buildId: BUILD('amd'), digest: AMD } : leg,
      );
      bucket.put(RECORD_KEY, JSON.stringify({ ...current, legs }));
    };
    const outcome = await handleInvocation(deps, legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID);
    expect(outcome).toEqual({ kind: 'decided', verdict: 'released' });
    expect(indexPuts()).toHaveLength(1);
    expect(record().legs?.map((leg) => leg.digest)).toEqual([AMD, ARM]);
  });

  it('ignores a report of no leg of the upload, and a leg of another build', async () => {
    expect(
      await handleInvocation(releaseDeps(), legSucceeded('linux/s390x', AMD, BUILD('x')), REQUEST_ID),
    ).toEqual({ kind: 'ignored', why: 'the upload has no linux/s390x leg' });
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    expect(
      await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('again')), REQUEST_ID),
    ).toEqual({
      kind: 'ignored',
      why: `the linux/amd64 leg is build ${BUILD('amd')}, not ${BUILD('again')}`,
    });
    // A build that names no platform is no leg of a multi-platform upload.
    expect(
      await handleInvocation(releaseDeps(), fixture('codebuild/build-succeeded-exported.json'), REQUEST_ID),
    ).toEqual({ kind: 'ignored', why: 'the upload has no unnamed leg' });
  });

  it("fails the upload, naming the leg, when a leg's image is missing or is itself an index", async () => {
    repo.images.delete(ARM);
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    await handleInvocation(releaseDeps(), legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID);
    expect(record()).toMatchObject({
      status: 'failed',
      reason: `the linux/arm64 leg reported ${ARM}, which repository "team/web" does not hold`,
    });

    bucket.put(RECORD_KEY, JSON.stringify(accepted));
    repo.images.add(ARM);
    repo.manifests.set(ARM, { text: '{"manifests":[]}', mediaType: OCI_INDEX });
    eventsMock.resetHistory();
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    await handleInvocation(releaseDeps(), legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID);
    expect(record()).toMatchObject({
      status: 'failed',
      reason: `the linux/arm64 leg pushed a ${OCI_INDEX}, not an image manifest: an index cannot hold it`,
    });
    expect(verdicts()).toEqual([expect.objectContaining({ verdict: 'failed' })]);
    expect(repo.tags.size).toBe(0);
  });

  it('retries a throttled PutImage of the index, and takes an index already there for the same one', async () => {
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    const put = ecrMock.on(PutImageCommand);
    put.rejectsOnce(awsError('ThrottlingException', 400));
    await expect(
      handleInvocation(releaseDeps(), legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID),
    ).rejects.toThrow('PutImage of the index');
    repo.install();
    repo.images.add(manifestDigest(THE_INDEX));
    repo.manifests.set(manifestDigest(THE_INDEX), { text: THE_INDEX, mediaType: OCI_INDEX });
    expect(
      await handleInvocation(releaseDeps(), legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID),
    ).toEqual({ kind: 'decided', verdict: 'released' });
    expect(repo.tags.get('v1.4.3')).toBe(manifestDigest(THE_INDEX));
  });
});

describe('a leg whose success event is lost', () => {
  const PENDING = `.ecr-pipeline/release-pending/${RECORD_KEY.split('/').at(-1)}`;
  const check = (now = NOW) =>
    handleInvocation(
      releaseDeps({}, () => now),
      { action: 'check-pending' },
      REQUEST_ID,
    );
  /** The arm64 leg's build started (its start event named it), the amd64 leg pushed and was reported. */
  async function armStartedAmdIn() {
    const legs = accepted.legs?.map((leg, i) => (i === 1 ? { ...leg, buildId: BUILD('arm') } : leg));
    bucket.put(RECORD_KEY, JSON.stringify({ ...accepted, legs }));
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
  }
  const armBuild = (buildStatus: StatusType, extra: Record<string, unknown> = {}) =>
    codebuildMock
      .on(BatchGetBuildsCommand)
      .resolves({ builds: [{ id: BUILD('arm'), buildStatus, ...extra }] });

  it('marks the upload for the check when a leg is in and others are not', async () => {
    await armStartedAmdIn();
    // Deadline: accepted 16:12:20 + 480 min queued + 60 min running + 15 min margin.
    expect(bucket.json(PENDING)).toEqual({ record: RECORD_KEY, deadline: '2026-11-17T01:27:20.000Z' });
  });

  it('joins and releases when the check finds the missing leg succeeded', async () => {
    await armStartedAmdIn();
    armBuild('SUCCEEDED', { exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: ARM }] });
    expect(await check()).toEqual([{ kind: 'decided', verdict: 'released' }]);
    expect(codebuildMock).toHaveReceivedCommandWith(BatchGetBuildsCommand, { ids: [BUILD('arm')] });
    expect(indexPuts().map((input) => input.imageManifest)).toEqual([THE_INDEX]);
    expect(record()).toMatchObject({ status: 'released', digest: manifestDigest(THE_INDEX) });
    expect(record().legs?.[1]).toMatchObject({ buildId: BUILD('arm'), digest: ARM });
    expect(bucket.objects.has(PENDING)).toBe(false);
    // Its event, late: the upload is released already, nothing is joined again.
    await handleInvocation(releaseDeps(), legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID);
    expect(indexPuts()).toHaveLength(1);
    expect(verdicts()).toHaveLength(1);
  });

  it('fails the upload, naming the leg, when the check finds its build failed, stopped or timed out', async () => {
    await armStartedAmdIn();
    armBuild('TIMED_OUT', { currentPhase: 'BUILD' });
    expect(await check()).toEqual([{ kind: 'decided', verdict: 'failed' }]);
    expect(record()).toMatchObject({ status: 'failed', release: { gate: 'none', verdict: 'failed' } });
    expect(record().release?.reason).toBe(
      `the linux/arm64 leg timed out in its BUILD phase (build ${BUILD('arm')}, TIMED_OUT); its log says why`,
    );
    expect(putImages()).toEqual([]);
    expect(verdicts()).toEqual([expect.objectContaining({ verdict: 'failed' })]);
    expect(bucket.objects.has(PENDING)).toBe(false);
  });

  it('fails the upload when the leg succeeded but exported no digest', async () => {
    await armStartedAmdIn();
    armBuild('SUCCEEDED');
    expect(await check()).toEqual([{ kind: 'decided', verdict: 'failed' }]);
    expect(record().release?.reason).toBe(
      'the linux/arm64 leg succeeded but exported no image digest (IMAGE_DIGEST)',
    );
    expect(record().release?.gate).toBe('none');
  });

  it('waits, keeping the marker, while the leg builds or before the deadline when its build is unknown', async () => {
    await armStartedAmdIn();
    armBuild('IN_PROGRESS');
    expect(await check()).toEqual([{ kind: 'joining', missing: ['linux/arm64'] }]);
    expect(bucket.objects.has(PENDING)).toBe(true);
    expect(record()).toMatchObject({ status: 'accepted' });

    bucket.put(
      RECORD_KEY,
      JSON.stringify({ ...accepted, legs: [{ ...record().legs?.[0] }, accepted.legs?.[1]] }),
    );
    codebuildMock.reset();
    expect(await check(new Date('2026-11-17T01:27:20.000Z'))).toEqual([
      { kind: 'joining', missing: ['linux/arm64'] },
    ]);
    // No leg build known: CodeBuild is not asked.
    expect(codebuildMock.commandCalls(BatchGetBuildsCommand)).toEqual([]);
    expect(putImages()).toEqual([]);
    expect(verdicts()).toEqual([]);
  });

  it('fails the upload, naming the leg, when no build of it is known past the deadline', async () => {
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    expect(await check(new Date('2026-11-17T01:27:20.001Z'))).toEqual([
      { kind: 'decided', verdict: 'failed' },
    ]);
    expect(record().release?.reason).toBe(
      "the linux/arm64 leg never reported a build by 2026-11-17T01:27:20.000Z (the builds' queue and run limits have passed); upload again",
    );
    expect(bucket.objects.has(PENDING)).toBe(false);
  });

  it('retries a throttled BatchGetBuilds (a transient error: the marker stays)', async () => {
    await armStartedAmdIn();
    codebuildMock.on(BatchGetBuildsCommand).rejects(awsError('ThrottlingException', 400));
    await expect(check()).rejects.toThrow(/pending releases failed transiently/);
    expect(bucket.objects.has(PENDING)).toBe(true);
  });
});

describe('what the log says of the legs', () => {
  /** Deps whose log lines are kept, in order. */
  const logged = (now = NOW) => {
    const deps = releaseDeps({}, () => now);
    const lines: unknown[][] = [];
    for (const level of ['info', 'warn', 'error'] as const)
      vi.spyOn(deps.logger, level).mockImplementation((...args: unknown[]) => {
        lines.push([level, ...args]);
      });
    return { deps, lines };
  };
  const armStarted = () =>
    bucket.put(
      RECORD_KEY,
      JSON.stringify({
        ...accepted,
        legs: accepted.legs?.map((leg, i) => (i === 1 ? { ...leg, buildId: BUILD('arm') } : leg)),
      }),
    );

  it('says the legs were joined, naming the index and the platforms', async () => {
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    const { deps, lines } = logged();
    await handleInvocation(deps, legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID);
    expect(lines[0]).toEqual([
      'info',
      'legs joined into one index',
      { digest: manifestDigest(THE_INDEX), legs: ['linux/amd64', 'linux/arm64'] },
    ]);
  });

  it('says which leg succeeded without its event, and why a leg did not push', async () => {
    armStarted();
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: BUILD('arm'),
          buildStatus: 'SUCCEEDED',
          exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: ARM }],
        },
      ],
    });
    const found = logged();
    await handleInvocation(found.deps, { action: 'check-pending' }, REQUEST_ID);
    expect(found.lines[0]).toEqual([
      'info',
      'a leg succeeded without its event',
      { platform: 'linux/arm64', buildId: BUILD('arm') },
    ]);

    ({ bucket, repo } = releaseScene(accepted, [AMD, ARM]));
    armStarted();
    await handleInvocation(releaseDeps(), legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    codebuildMock
      .on(BatchGetBuildsCommand)
      .resolves({ builds: [{ id: BUILD('arm'), buildStatus: 'FAILED', currentPhase: 'BUILD' }] });
    const failed = logged();
    await handleInvocation(failed.deps, { action: 'check-pending' }, REQUEST_ID);
    expect(failed.lines[0]).toEqual(['warn', 'a leg did not push', { reason: record().release?.reason }]);
    expect(record().release?.reason).toContain('linux/arm64');
  });
});

describe('the gates of a joined image', () => {
  function scansBy(byDigest: Record<string, Record<string, number> | 'pending'>) {
    ecrMock.on(DescribeImageScanFindingsCommand).callsFake(async (input) => {
      const counts = byDigest[input.imageId?.imageDigest ?? ''];
      if (counts === undefined || counts === 'pending') throw awsError('ScanNotFoundException', 400);
      return {
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: { findingSeverityCounts: counts },
      };
    });
  }

  it("judges each leg's image and holds the whole release on one, naming its platform", async () => {
    const deps = releaseDeps({ RELEASE_GATE: 'scan' });
    scansBy({ [AMD]: { LOW: 2 }, [ARM]: { HIGH: 1 } });
    await handleInvocation(deps, legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    await handleInvocation(deps, legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID);
    expect(record()).toMatchObject({
      status: 'held',
      release: {
        reason: 'linux/arm64: the scan found 1 HIGH (the gate holds at HIGH and above)',
        counts: { LOW: 2, HIGH: 1 },
      },
    });
    expect(repo.tags.size).toBe(0);
  });

  it("waits for every leg's scan, and a child's scan event moves the release on", async () => {
    const deps = releaseDeps({ RELEASE_GATE: 'scan' });
    scansBy({ [AMD]: {}, [ARM]: 'pending' });
    await handleInvocation(deps, legSucceeded('linux/amd64', AMD, BUILD('amd')), REQUEST_ID);
    expect(
      await handleInvocation(deps, legSucceeded('linux/arm64', ARM, BUILD('arm')), REQUEST_ID),
    ).toMatchObject({
      kind: 'waiting',
    });
    scansBy({ [AMD]: {}, [ARM]: { LOW: 1 } });
    const scan = fixture('ecr/image-scan-complete.json');
    scan.detail['image-digest'] = ARM;
    scan.detail['repository-name'] = 'team/web';
    scan.detail['finding-severity-counts'] = { LOW: 1 };
    expect(await handleInvocation(deps, scan, REQUEST_ID)).toEqual({ kind: 'decided', verdict: 'released' });
    expect(repo.tags.get('v1.4.3')).toBe(manifestDigest(THE_INDEX));
  });
});

describe('join.ts', () => {
  it('reads platforms with and without a variant', () => {
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
  });

  it('names an index by the SHA-256 of its exact text', () => {
    expect(manifestDigest('')).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('records a leg once, keeping the other legs as they are', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const once = recordLeg(accepted, { platform: 'linux/arm64', buildId: 'b', digest: ARM }, at);
    expect(once.kind === 'recorded' && once.record.legs).toEqual([
      accepted.legs?.[0],
      { ...accepted.legs?.[1], buildId: 'b', digest: ARM, finishedAt: at.toISOString() },
    ]);
    if (once.kind !== 'recorded') return;
    expect(recordLeg(once.record, { platform: 'linux/arm64', buildId: 'b', digest: ARM }, at)).toEqual({
      kind: 'already',
    });
    expect(recordLeg(once.record, { platform: 'linux/arm64', buildId: 'b', digest: AMD }, at)).toEqual({
      kind: 'ignored',
      why: `the linux/arm64 leg pushed ${ARM} already`,
    });
  });

  it('releases over legs that all pass, waits on one scanning, and adds their counts', () => {
    const release = { gate: 'scan' as const, maxSeverity: 'HIGH' as const, deadline: '2099-01-01T00:00:00Z' };
    const complete = (counts: Record<string, number>) => ({ kind: 'complete' as const, counts });
    expect(
      judgeLegs(
        release,
        [
          { platform: 'a', scan: complete({ LOW: 1 }) },
          { platform: 'b', scan: complete({ LOW: 2, MEDIUM: 1 }) },
        ],
        NOW,
      ),
    ).toEqual({ kind: 'release', counts: { LOW: 3, MEDIUM: 1 } });
    expect(
      judgeLegs(
        release,
        [
          { platform: 'a', scan: complete({}) },
          { platform: 'b', scan: { kind: 'pending', status: 'IN_PROGRESS' } },
        ],
        NOW,
      ),
    ).toEqual({ kind: 'wait' });
    expect(
      judgeLegs({ gate: 'none' }, [{ platform: 'a', scan: { kind: 'pending', status: 'x' } }], NOW),
    ).toEqual({
      kind: 'release',
    });
    expect(
      judgeLegs(
        release,
        [
          { platform: 'a', scan: { kind: 'failed', status: 'FAILED' } },
          { platform: 'b', scan: { kind: 'pending', status: 'IN_PROGRESS' } },
        ],
        NOW,
      ),
    ).toEqual({ kind: 'hold', reason: 'a: the scan did not complete: FAILED' });
  });

  it('holds on every leg that holds, naming each', () => {
    const release = { gate: 'scan' as const, maxSeverity: 'HIGH' as const, deadline: '2099-01-01T00:00:00Z' };
    const failed = { kind: 'failed' as const, status: 'FAILED' };
    expect(
      judgeLegs(
        release,
        [
          { platform: 'a', scan: failed },
          { platform: 'b', scan: failed },
        ],
        NOW,
      ),
    ).toEqual({
      kind: 'hold',
      reason: 'a: the scan did not complete: FAILED; b: the scan did not complete: FAILED',
    });
  });

  it('tells a joined upload (two legs or more) from one of one platform', () => {
    expect(isJoined(accepted)).toBe(true);
    expect(isJoined({ ...accepted, legs: accepted.legs?.slice(0, 1) })).toBe(false);
    expect(isJoined({ ...accepted, legs: undefined })).toBe(false);
  });

  it('lists the pushed digests and the missing platforms, in leg order', () => {
    const legs = accepted.legs ?? [];
    const half = { ...accepted, legs: [legs[0], { ...legs[1], digest: ARM }] } as UploadRecord;
    expect(legDigests(half)).toEqual([ARM]);
    expect(missingLegs(half)).toEqual(['linux/amd64']);
    expect(legDigests({ ...accepted, legs: undefined })).toEqual([]);
    expect(missingLegs({ ...accepted, legs: undefined })).toEqual([]);
  });
});

describe('childManifests and joinLegs', () => {
  const ecr = new ECRClient({ region: 'us-west-2' });
  const legs = (accepted.legs ?? []).map((leg, i) => ({ ...leg, digest: i === 0 ? AMD : ARM }));
  const images = (entries: Record<string, unknown>[]) =>
    ecrMock.on(BatchGetImageCommand).resolves({ images: entries as never });

  it("asks for every manifest type ECR stores, by the legs' digests", async () => {
    await childManifests(ecr, 'team/web', legs);
    expect(ecrMock).toHaveReceivedCommandWith(BatchGetImageCommand, {
      repositoryName: 'team/web',
      imageIds: [{ imageDigest: AMD }, { imageDigest: ARM }],
      acceptedMediaTypes: expect.arrayContaining([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST]),
    });
  });

  it('reads the media type from the manifest when ECR does not give it', async () => {
    images([
      { imageId: { imageDigest: ARM }, imageManifest: `{"mediaType":"${DOCKER_MANIFEST}"}` },
      { imageId: { imageDigest: AMD }, imageManifest: `{"mediaType":"${OCI_MANIFEST}","x":"é"}` },
    ]);
    expect(await childManifests(ecr, 'team/web', legs)).toEqual([
      { platform: 'linux/amd64', digest: AMD, mediaType: OCI_MANIFEST, size: 67 },
      { platform: 'linux/arm64', digest: ARM, mediaType: DOCKER_MANIFEST, size: 68 },
    ]);
  });

  it('refuses a manifest whose media type is missing or that is not JSON', async () => {
    images([
      { imageId: { imageDigest: AMD }, imageManifest: '{"schemaVersion":2}' },
      { imageId: { imageDigest: ARM }, imageManifest: `{"mediaType":"${OCI_MANIFEST}"}` },
    ]);
    await expect(childManifests(ecr, 'team/web', legs)).rejects.toThrow(
      'the linux/amd64 leg pushed a unknown, not an image manifest: an index cannot hold it',
    );
    images([
      { imageId: { imageDigest: AMD }, imageManifest: 'not json' },
      { imageId: { imageDigest: ARM }, imageManifest: `{"mediaType":"${OCI_MANIFEST}"}` },
    ]);
    await expect(childManifests(ecr, 'team/web', legs)).rejects.toThrow('pushed a unknown');
  });

  it("says which leg's image is gone, whatever else ECR answers", async () => {
    images([{ imageManifest: '{}' }, { imageId: { imageDigest: AMD } }]);
    await expect(childManifests(ecr, 'team/web', legs)).rejects.toThrow(
      `the linux/amd64 leg's image team/web@${AMD} is gone`,
    );
    ecrMock.on(BatchGetImageCommand).resolves({});
    await expect(childManifests(ecr, 'team/web', legs)).rejects.toBeInstanceOf(PermanentError);
  });

  it('classifies a failed BatchGetImage: throttling is transient', async () => {
    ecrMock.on(BatchGetImageCommand).rejects(awsError('ThrottlingException', 400));
    await expect(childManifests(ecr, 'team/web', legs)).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringContaining('BatchGetImage of the legs'),
    });
  });

  it('joins nothing while a leg has not pushed, naming it', async () => {
    await expect(joinLegs(ecr, 'team/web', [legs[0] as never, accepted.legs?.[1] as never])).rejects.toThrow(
      'the linux/arm64 legs have not pushed',
    );
    await expect(joinLegs(ecr, 'team/web', accepted.legs ?? [])).rejects.toThrow(
      'the linux/amd64, linux/arm64 legs have not pushed',
    );
    expect(ecrMock.commandCalls(BatchGetImageCommand)).toEqual([]);
  });
});
