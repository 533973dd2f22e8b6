import { BatchGetImageCommand, DescribeImageScanFindingsCommand, PutImageCommand } from '@aws-sdk/client-ecr';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { TransientError } from '../../../functions/release/errors.ts';
import { handleInvocation } from '../../../functions/release/release.ts';
import {
  imageIndexKey,
  releasePendingKey,
  type UploadRecord,
  uploadRecordKey,
} from '../../../functions/shared/upload-record.ts';
import {
  acceptedRecord,
  awsError,
  BUCKET,
  BUILD_ID,
  DIGEST,
  DURATIONS,
  ecrMock,
  eventsMock,
  type FakeBucket,
  type FakeRepository,
  fixture,
  KEY,
  NOW,
  OTHER_DIGEST,
  putImages,
  RECORD_KEY,
  REQUEST_ID,
  releaseDeps,
  releaseScene,
  s3Mock,
  VERSION,
  verdicts,
} from './helpers.ts';

const accepted = acceptedRecord({ buildId: BUILD_ID });

let bucket: FakeBucket;
let repo: FakeRepository;

beforeEach(() => {
  ({ bucket, repo } = releaseScene(accepted, [DIGEST]));
});

const succeeded = () => fixture('codebuild/build-succeeded-exported.json');
const scanEvent = (counts: Record<string, number>, digest = DIGEST) => {
  const e = fixture('ecr/image-scan-complete.json');
  e.detail['finding-severity-counts'] = counts;
  e.detail['image-digest'] = digest;
  return e;
};
const record = () => bucket.json(RECORD_KEY);

describe('gate none', () => {
  it('moves the tag with PutImage of the exact manifest the build pushed, and says released once', async () => {
    const outcome = await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(outcome).toEqual({ kind: 'decided', verdict: 'released' });
    expect(putImages()).toEqual([
      {
        repositoryName: 'team/web',
        imageManifest: `{"manifest":"${DIGEST}"}`,
        imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        imageTag: 'v1.4.3',
        imageDigest: DIGEST,
      },
    ]);
    expect(repo.tags.get('v1.4.3')).toBe(DIGEST);
    expect(record()).toMatchObject({
      status: 'released',
      digest: DIGEST,
      buildId: BUILD_ID,
      durations: DURATIONS,
      release: { gate: 'none', verdict: 'released', announced: true, decidedBy: REQUEST_ID },
    });
    expect(record().release).not.toHaveProperty('moving');
    expect(verdicts()).toEqual([
      {
        verdict: 'released',
        bucket: BUCKET,
        key: KEY,
        versionId: VERSION,
        repository: 'team/web',
        tag: 'v1.4.3',
        digest: DIGEST,
        buildId: BUILD_ID,
        gate: 'none',
        durations: DURATIONS,
      },
    ]);
    expect(eventsMock).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        expect.objectContaining({
          Source: 'ecr-pipeline',
          DetailType: 'Release Verdict',
          EventBusName: 'ecr-pipeline-dev-build-rejected',
        }),
      ],
    });
    expect(bucket.json(imageIndexKey('', 'team/web', DIGEST))).toEqual({
      record: RECORD_KEY,
      repository: 'team/web',
      digest: DIGEST,
    });
  });

  it('reads the record once: each later round decides from the record it wrote, by its ETag', async () => {
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({ status: 'released', release: { announced: true } });
    const reads = s3Mock.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key === RECORD_KEY);
    expect(reads).toHaveLength(1);
    // Built, tag move decided, released, announced: four writes, each on the ETag of the one before.
    const writes = s3Mock
      .commandCalls(PutObjectCommand)
      .map((c) => c.args[0].input)
      .filter((input) => input.Key === RECORD_KEY);
    expect(writes.map((w) => JSON.parse(w.Body as string).status)).toEqual([
      'built',
      'built',
      'released',
      'released',
    ]);
    expect(writes.map((w) => w.IfMatch)).toEqual(['"e2"', '"e4"', '"e5"', '"e6"']);
    // No gate waited: there is no pending marker to remove.
    expect(s3Mock.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  it('reads the record again after a write whose answer names no ETag, never writing on an empty one', async () => {
    bucket.answersETag = false;
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'decided',
      verdict: 'released',
    });
    const writes = s3Mock
      .commandCalls(PutObjectCommand)
      .map((c) => c.args[0].input)
      .filter((input) => input.Key === RECORD_KEY);
    // built, tag move decided, released, announced: each on the ETag of the record read before it.
    expect(writes.map((input) => JSON.parse(String(input.Body)).status)).toEqual([
      'built',
      'built',
      'released',
      'released',
    ]);
    expect(writes.map((input) => input.IfMatch)).not.toContain('');
    const reads = s3Mock.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key === RECORD_KEY);
    expect(reads).toHaveLength(4);
    expect(record().release).toMatchObject({ verdict: 'released', announced: true });
  });

  it('keeps what the build attached in the record and says it in the verdict', async () => {
    const e = succeeded();
    const info = e.detail['additional-information'] as {
      'exported-environment-variables': { name: string; value: string }[];
    };
    info['exported-environment-variables'].push({ name: 'IMAGE_ATTESTATIONS', value: 'sbom,provenance' });
    await handleInvocation(releaseDeps(), e, REQUEST_ID);
    expect(record()).toMatchObject({ status: 'released', attestations: ['sbom', 'provenance'] });
    expect(verdicts()).toEqual([
      expect.objectContaining({ verdict: 'released', attestations: ['sbom', 'provenance'] }),
    ]);
  });

  it('does nothing more for the same event delivered twice', async () => {
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    s3Mock.resetHistory();
    const again = await handleInvocation(releaseDeps(), succeeded(), 'another-request');
    expect(again).toEqual({ kind: 'unchanged', status: 'released' });
    expect(putImages()).toHaveLength(1);
    expect(verdicts()).toHaveLength(1);
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('takes a tag that already names this digest for a release done, without PutImage', async () => {
    repo.tags.set('v1.4.3', DIGEST);
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(putImages()).toEqual([]);
    expect(record().status).toBe('released');
    expect(verdicts()).toHaveLength(1);
  });

  it('takes ImageAlreadyExists of a tag that names this digest (a concurrent move) for released', async () => {
    // The tag is moved by someone else between the describe and the PutImage.
    ecrMock.on(PutImageCommand).callsFake(async () => {
      repo.tags.set('v1.4.3', DIGEST);
      throw awsError('ImageAlreadyExistsException', 400);
    });
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record().status).toBe('released');
  });

  it('rejects a tag that already names another image in an immutable repository, naming that image', async () => {
    repo.images.add(OTHER_DIGEST);
    repo.tags.set('v1.4.3', OTHER_DIGEST);
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(repo.tags.get('v1.4.3')).toBe(OTHER_DIGEST);
    expect(record()).toMatchObject({
      status: 'rejected',
      code: 'TagAlreadyExists',
      reason: expect.stringContaining(OTHER_DIGEST),
      release: { verdict: 'rejected', existingDigest: OTHER_DIGEST },
    });
    expect(verdicts()).toEqual([
      expect.objectContaining({ verdict: 'rejected', existingDigest: OTHER_DIGEST }),
    ]);
  });

  it("rejects the same way when the registry says ImageAlreadyExists for another image's tag (moto)", async () => {
    repo.images.add(OTHER_DIGEST);
    repo.tags.set('v1.4.3', OTHER_DIGEST);
    repo.takenError = 'ImageAlreadyExistsException';
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({ status: 'rejected', release: { existingDigest: OTHER_DIGEST } });
  });

  it('moves a tag of a mutable repository that named an older image', async () => {
    repo.immutable = false;
    repo.images.add(OTHER_DIGEST);
    repo.tags.set('v1.4.3', OTHER_DIGEST);
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(repo.tags.get('v1.4.3')).toBe(DIGEST);
    expect(record().status).toBe('released');
  });

  it('says superseded, and moves nothing, when a newer upload of the key exists', async () => {
    bucket.put(KEY, 'newer context', { versionId: 'newer-version' });
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(putImages()).toEqual([]);
    expect(record()).toMatchObject({ status: 'superseded', reason: expect.stringContaining('newer upload') });
    expect(verdicts()).toEqual([expect.objectContaining({ verdict: 'superseded' })]);
  });

  it('says superseded when the same image was uploaded since under another extension', async () => {
    const sibling = KEY.replace(/\.tar\.gz$/, '.tgz');
    expect(sibling).not.toBe(KEY);
    bucket.put(sibling, 'newer context', { versionId: 'other-key' });
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(putImages()).toEqual([]);
    expect(record()).toMatchObject({
      status: 'superseded',
      reason: `a newer upload of ${sibling} exists; its build releases the tag`,
    });
  });

  it('releases when the other extension of the image was uploaded before', async () => {
    const upload = bucket.objects.get(KEY);
    bucket.put(KEY.replace(/\.tar\.gz$/, '.tar'), 'older context', {
      lastModified: new Date((upload?.lastModified?.getTime() ?? 0) - 60_000),
    });
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record().status).toBe('released');
  });

  it('says released, not superseded, when the tag already names this image and a newer upload exists', async () => {
    repo.tags.set('v1.4.3', DIGEST);
    bucket.put(KEY, 'newer context', { versionId: 'newer-version' });
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(putImages()).toEqual([]);
    expect(record().status).toBe('released');
    expect(verdicts()).toEqual([expect.objectContaining({ verdict: 'released' })]);
  });

  it('says superseded when the upload was deleted', async () => {
    bucket.objects.delete(KEY);
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record().status).toBe('superseded');
  });

  it('compares ETags in a bucket without versions', async () => {
    const identity = { bucket: BUCKET, key: KEY, eTag: '9b2cf535f27731c974343645a3985328' };
    const key = uploadRecordKey('', identity);
    const { versionId: _v, ...unversioned } = accepted;
    bucket.put(key, JSON.stringify({ ...unversioned, eTag: identity.eTag }));
    bucket.objects.set(KEY, { body: 'context', eTag: `"${identity.eTag}"` });
    const e = succeeded();
    const vars = (
      e.detail['additional-information'] as { environment: { 'environment-variables': { name: string }[] } }
    ).environment;
    vars['environment-variables'] = vars['environment-variables'].filter(
      (v) => v.name !== 'CONTEXT_VERSION_ID',
    );
    await handleInvocation(releaseDeps(), e, REQUEST_ID);
    expect(bucket.json(key).status).toBe('released');
    bucket.objects.set(KEY, { body: 'newer', eTag: '"0000"' });
    bucket.put(key, JSON.stringify({ ...unversioned, eTag: identity.eTag }));
    // The first round put the tag on this image; a record the registry has not released is what a
    // newer upload supersedes.
    repo.tags.delete('v1.4.3');
    await handleInvocation(releaseDeps(), e, 'second');
    expect(bucket.json(key).status).toBe('superseded');
  });
});

describe('what releases nothing', () => {
  it('ignores a success event of another project, reading nothing', async () => {
    const e = succeeded();
    e.detail['project-name'] = 'someone-elses-project';
    expect(await handleInvocation(releaseDeps(), e, REQUEST_ID)).toMatchObject({ kind: 'ignored' });
    expect(s3Mock).not.toHaveReceivedAnyCommand();
    expect(ecrMock).not.toHaveReceivedAnyCommand();
  });

  it('ignores a build event whose digest is not the one the record holds', async () => {
    bucket.put(
      RECORD_KEY,
      JSON.stringify({ ...accepted, status: 'built', digest: OTHER_DIGEST, release: { gate: 'none' } }),
    );
    const outcome = await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(outcome).toEqual({
      kind: 'ignored',
      why: expect.stringContaining('not the one the build recorded'),
    });
    expect(putImages()).toEqual([]);
    expect(record().status).toBe('built');
  });

  it('ignores a scan of an image no build of this stack pushed', async () => {
    const outcome = await handleInvocation(releaseDeps(), scanEvent({}, OTHER_DIGEST), REQUEST_ID);
    expect(outcome).toEqual({ kind: 'ignored', why: 'no build of this stack pushed that image' });
    expect(ecrMock).not.toHaveReceivedAnyCommand();
  });

  it('ignores an event of a build the record does not name', async () => {
    bucket.put(RECORD_KEY, JSON.stringify({ ...accepted, buildId: `${BUILD_ID}-other` }));
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toMatchObject({ kind: 'ignored' });
    expect(record().status).toBe('accepted');
  });

  it('leaves a record of a status it does not know as it is, moving nothing', async () => {
    // A status a newer version of the pipeline may write, with the digest this build pushed.
    bucket.put(
      RECORD_KEY,
      JSON.stringify({ ...accepted, status: 'verifying', digest: DIGEST, release: { gate: 'none' } }),
    );
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'unchanged',
      status: 'verifying',
    });
    expect(putImages()).toEqual([]);
    expect(record().status).toBe('verifying');
    expect(verdicts()).toEqual([]);
  });

  it('ignores a record that names no image', async () => {
    bucket.put(RECORD_KEY, JSON.stringify({ ...accepted, tag: undefined }));
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'ignored',
      why: 'the upload record names no image',
    });
    bucket.put(RECORD_KEY, JSON.stringify({ ...accepted, repository: undefined }));
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toMatchObject({ kind: 'ignored' });
    expect(ecrMock).not.toHaveReceivedAnyCommand();
  });

  it('ignores an event of another build once the image is built', async () => {
    const scanGate = { RELEASE_GATE: 'scan' };
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    const other = succeeded();
    other.detail['build-id'] = `${BUILD_ID}-other`;
    expect(await handleInvocation(releaseDeps(scanGate), other, 'other')).toEqual({
      kind: 'ignored',
      why: `the record names another build (${BUILD_ID})`,
    });
    expect(record().status).toBe('built');
  });

  it('judges a built record written without its gate by the stack gate, from the end of its build', async () => {
    const env = { RELEASE_GATE: 'scan', RELEASE_SCAN_TIMEOUT_SECONDS: '600' };
    const builtAt = (finishedAt: string | undefined) =>
      bucket.put(
        RECORD_KEY,
        JSON.stringify({
          ...accepted,
          status: 'built',
          digest: DIGEST,
          ...(finishedAt ? { finishedAt } : {}),
        }),
      );
    bucket.put(
      imageIndexKey('', 'team/web', DIGEST),
      JSON.stringify({ record: RECORD_KEY, repository: 'team/web', digest: DIGEST }),
    );
    const inProgress = () => {
      const e = scanEvent({});
      e.detail['scan-status'] = 'IN_PROGRESS';
      return e;
    };
    // Built 700 s ago: its deadline (600 s after the build) has passed.
    builtAt(new Date(NOW.getTime() - 700_000).toISOString());
    expect(await handleInvocation(releaseDeps(env), inProgress(), 'scan')).toEqual({
      kind: 'decided',
      verdict: 'held',
    });
    // No time of its own, or one that is no time: the deadline counts from now.
    const deadline = new Date(NOW.getTime() + 600_000).toISOString();
    for (const finishedAt of [undefined, 'not a time']) {
      builtAt(finishedAt);
      expect(await handleInvocation(releaseDeps(env), inProgress(), 'scan')).toEqual({
        kind: 'waiting',
        deadline,
      });
    }
  });

  it('ignores a build of an upload that has no record', async () => {
    bucket.objects.delete(RECORD_KEY);
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'ignored',
      why: 'no upload record',
    });
  });

  it('fails the release of a digest the repository does not hold', async () => {
    repo.images.clear();
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({ status: 'failed', reason: expect.stringContaining('does not hold') });
    expect(verdicts()).toEqual([expect.objectContaining({ verdict: 'failed' })]);
  });

  it('fails the release of a build that exported no digest', async () => {
    const e = succeeded();
    delete (e.detail['additional-information'] as Record<string, unknown>)['exported-environment-variables'];
    await handleInvocation(releaseDeps(), e, REQUEST_ID);
    expect(record()).toMatchObject({ status: 'failed', reason: expect.stringContaining('IMAGE_DIGEST') });
  });

  it('releases in a repository the stack does not manage only a tag the build pushed itself', async () => {
    repo.managed = false;
    repo.tags.set('v1.4.3', DIGEST);
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record().status).toBe('released');
    expect(putImages()).toEqual([]);
  });

  it('fails, and moves nothing, in a repository the stack does not manage', async () => {
    repo.managed = false;
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(repo.tags.size).toBe(0);
    expect(record()).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('not managed by this stack'),
    });
  });
});

describe('cut off, lost responses, concurrent writers', () => {
  it('finishes a run cut off after it decided to move the tag, on a retry by another invocation', async () => {
    ecrMock.on(PutImageCommand).rejects(awsError('ThrottlingException', 400));
    await expect(handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).rejects.toThrow(/PutImage/);
    expect(record().release?.moving).toBe(NOW.toISOString());
    repo.install();
    // A new upload meanwhile would supersede a release not yet decided; this one was decided.
    bucket.put(KEY, 'newer', { versionId: 'newer-version' });
    await handleInvocation(releaseDeps(), { action: 'check-pending' }, 'x');
    await handleInvocation(releaseDeps(), succeeded(), 'retry');
    expect(repo.tags.get('v1.4.3')).toBe(DIGEST);
    expect(record().status).toBe('released');
  });

  it("announces once when the verdict's write answered with a lost response, on Lambda's retry", async () => {
    bucket.afterPut = (key, body) => {
      if (key === RECORD_KEY && (body as UploadRecord).status === 'released') {
        bucket.afterPut = undefined;
        throw awsError('TimeoutError', 0);
      }
    };
    await expect(handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).rejects.toThrow();
    expect(verdicts()).toEqual([]);
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(verdicts()).toHaveLength(1);
    expect(record().release?.announced).toBe(true);
  });

  it('puts the verdict again after PutEvents failed, once, on the retry', async () => {
    eventsMock
      .on(PutEventsCommand)
      .rejectsOnce(awsError('ThrottlingException', 400))
      .resolves({ FailedEntryCount: 0 });
    await expect(handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).rejects.toThrow(/PutEvents/);
    expect(record().release?.announced).toBe(false);
    // Another invocation meanwhile leaves the announcement to the writer's retry.
    await handleInvocation(releaseDeps(), succeeded(), 'another-request');
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(record().release?.announced).toBe(true);
  });

  it('announces a verdict its writer never announced, once its writer had all its time', async () => {
    eventsMock
      .on(PutEventsCommand)
      .rejectsOnce(awsError('AccessDeniedException', 400))
      .resolves({ FailedEntryCount: 0 });
    const outcome = await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(outcome).toMatchObject({ kind: 'failed' });
    const later = new Date(NOW.getTime() + 10 * 60_000);
    await handleInvocation(
      releaseDeps({}, () => later),
      succeeded(),
      'another-request',
    );
    expect(eventsMock).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(record().release?.announced).toBe(true);
  });

  it('reads again and puts the verdict once when another writer changed the record in between', async () => {
    let raced = false;
    bucket.beforePut = (key, body) => {
      if (raced || key !== RECORD_KEY || (body as UploadRecord).status !== 'released') return;
      raced = true;
      // ecr-events adds the scan counts meanwhile.
      bucket.put(
        RECORD_KEY,
        JSON.stringify({ ...record(), scan: { status: 'COMPLETE', scanner: 'basic', counts: {}, at: 'x' } }),
      );
    };
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({
      status: 'released',
      scan: { status: 'COMPLETE' },
      release: { announced: true },
    });
    expect(verdicts()).toHaveLength(1);
  });

  it('puts the verdict once when the write marking it announced meets a change, and marks it after reading again', async () => {
    let raced = 0;
    bucket.beforePut = (key, body) => {
      if (raced > 0 || key !== RECORD_KEY || (body as UploadRecord).release?.announced !== true) return;
      raced++;
      // ecr-events adds the scan counts between the announcement and its mark.
      bucket.put(
        RECORD_KEY,
        JSON.stringify({ ...record(), scan: { status: 'COMPLETE', scanner: 'basic', counts: {}, at: 'x' } }),
      );
    };
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'decided',
      verdict: 'released',
    });
    expect(raced).toBe(1);
    expect(verdicts()).toEqual([expect.objectContaining({ verdict: 'released' })]);
    expect(record()).toMatchObject({
      status: 'released',
      scan: { status: 'COMPLETE' },
      release: { announced: true },
    });
  });

  it('ends decided when another run marked the verdict announced while this one announced it', async () => {
    bucket.beforePut = (key, body) => {
      if (key !== RECORD_KEY || (body as UploadRecord).release?.announced !== true) return;
      bucket.beforePut = undefined;
      // The verdict's writer, retried by Lambda, announced it and marked it first.
      bucket.put(RECORD_KEY, JSON.stringify(body));
    };
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'decided',
      verdict: 'released',
    });
    expect(record()).toMatchObject({ status: 'released', release: { announced: true } });
  });

  it('gives up to a retry when the record keeps changing', async () => {
    bucket.beforePut = (key) => {
      if (key === RECORD_KEY) bucket.put(RECORD_KEY, JSON.stringify(record()));
    };
    await expect(handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).rejects.toThrow(
      new TransientError(`the upload record ${RECORD_KEY} kept changing; Lambda will retry`),
    );
    // Eight rounds, each reading the record afresh after its write met a change.
    const reads = s3Mock.commandCalls(GetObjectCommand).filter((c) => c.args[0].input.Key === RECORD_KEY);
    expect(reads).toHaveLength(8);
  });

  it('throws a transient read failure for Lambda to retry', async () => {
    s3Mock.on(PutObjectCommand).rejects(awsError('SlowDown', 503));
    await expect(handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).rejects.toThrow();
  });
});

describe('gate scan', () => {
  const scanGate = { RELEASE_GATE: 'scan', RELEASE_SCAN_TIMEOUT_SECONDS: '600' };

  it('waits for a scan that has not come, marking the release pending', async () => {
    const outcome = await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    const deadline = new Date(NOW.getTime() + 600_000).toISOString();
    expect(outcome).toEqual({ kind: 'waiting', deadline });
    expect(record()).toMatchObject({
      status: 'built',
      release: { gate: 'scan', maxSeverity: 'HIGH', deadline },
    });
    expect(bucket.json(releasePendingKey('', RECORD_KEY))).toEqual({ record: RECORD_KEY, deadline });
    expect(putImages()).toEqual([]);
    expect(verdicts()).toEqual([]);
  });

  it('releases on a clean scan event, and removes the pending marker', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    await handleInvocation(releaseDeps(scanGate), scanEvent({ MEDIUM: 3 }), 'scan-request');
    expect(record()).toMatchObject({ status: 'released', release: { counts: { MEDIUM: 3 } } });
    expect(repo.tags.get('v1.4.3')).toBe(DIGEST);
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(false);
    expect(verdicts()).toEqual([
      expect.objectContaining({
        verdict: 'released',
        gate: 'scan',
        maxSeverity: 'HIGH',
        counts: { MEDIUM: 3 },
      }),
    ]);
  });

  it('holds the image on a finding at or above the severity, saying which', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    await handleInvocation(
      releaseDeps(scanGate),
      scanEvent({ CRITICAL: 2, HIGH: 1, LOW: 4 }),
      'scan-request',
    );
    expect(repo.tags.size).toBe(0);
    expect(record()).toMatchObject({
      status: 'held',
      release: {
        verdict: 'held',
        reason: 'the scan found 2 CRITICAL, 1 HIGH (the gate holds at HIGH and above)',
        counts: { CRITICAL: 2, HIGH: 1, LOW: 4 },
      },
    });
    expect(verdicts()).toEqual([
      expect.objectContaining({ verdict: 'held', reason: expect.stringContaining('2 CRITICAL') }),
    ]);
    // A later scan event of the same image changes nothing.
    await handleInvocation(releaseDeps(scanGate), scanEvent({}), 'later');
    expect(record().status).toBe('held');
    expect(verdicts()).toHaveLength(1);
  });

  it('holds the image when the scan failed', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    const e = scanEvent({});
    e.detail['scan-status'] = 'FAILED';
    await handleInvocation(releaseDeps(scanGate), e, 'scan-request');
    expect(record()).toMatchObject({
      status: 'held',
      release: { reason: 'the scan did not complete: FAILED' },
    });
  });

  it('judges at once a scan that completed before the build event (events out of order)', async () => {
    expect(await handleInvocation(releaseDeps(scanGate), scanEvent({}), 'early-scan')).toMatchObject({
      kind: 'ignored',
    });
    bucket.put(
      imageIndexKey('', 'team/web', DIGEST),
      JSON.stringify({ record: RECORD_KEY, repository: 'team/web', digest: DIGEST }),
    );
    expect(await handleInvocation(releaseDeps(scanGate), scanEvent({}), 'early-scan')).toEqual({
      kind: 'ignored',
      why: 'the build has not succeeded yet',
    });
    repo.scan = { status: 'COMPLETE', counts: { LOW: 1 } };
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({ status: 'released', release: { counts: { LOW: 1 } } });
  });

  it('holds at the deadline a scan that never came, on the periodic check; not before', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    repo.scan = { status: 'IN_PROGRESS' };
    const before = await handleInvocation(
      releaseDeps(scanGate, () => new Date(NOW.getTime() + 599_000)),
      { action: 'check-pending' },
      'c1',
    );
    expect(before).toEqual([{ kind: 'waiting', deadline: expect.any(String) }]);
    expect(record().status).toBe('built');
    const after = await handleInvocation(
      releaseDeps(scanGate, () => new Date(NOW.getTime() + 600_000)),
      { action: 'check-pending' },
      'c2',
    );
    expect(after).toEqual([{ kind: 'decided', verdict: 'held' }]);
    expect(record().release?.reason).toMatch(
      /had not completed by .* \(scan status IN_PROGRESS; releaseScanTimeout\)/,
    );
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(false);
  });

  it('releases on the periodic check an image whose scan event was lost', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    repo.scan = { status: 'COMPLETE', counts: {} };
    await handleInvocation(releaseDeps(scanGate), { action: 'check-pending' }, 'check');
    expect(record().status).toBe('released');
  });

  it('takes a stricter gate an upload asks for on a stack without one', async () => {
    bucket.put(KEY, 'context', {
      versionId: VERSION,
      metadata: { 'release-gate': 'scan', 'release-max-severity': 'medium' },
    });
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({ status: 'built', release: { gate: 'scan', maxSeverity: 'MEDIUM' } });
  });

  it('keeps the stack gate when an upload asks for a looser one, and says so', async () => {
    bucket.put(KEY, 'context', { versionId: VERSION, metadata: { 'release-gate': 'none' } });
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    expect(record()).toMatchObject({
      status: 'built',
      release: { gate: 'scan', note: expect.stringContaining('requires the scan gate') },
    });
  });
});

describe('override', () => {
  const scanGate = { RELEASE_GATE: 'scan' };
  const override = (reason = 'CVE not reachable') => ({
    action: 'override',
    record: RECORD_KEY,
    reason,
    by: 'arn:aws:iam::123456789012:user/ops',
  });

  it('releases a held image, recording who asked and why, and says released once', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    await handleInvocation(releaseDeps(scanGate), scanEvent({ CRITICAL: 1 }), 'scan');
    const outcome = await handleInvocation(releaseDeps(scanGate), override(), 'operator');
    expect(outcome).toEqual({ kind: 'decided', verdict: 'released' });
    expect(repo.tags.get('v1.4.3')).toBe(DIGEST);
    expect(record()).toMatchObject({
      status: 'released',
      release: {
        override: {
          reason: 'CVE not reachable',
          by: 'arn:aws:iam::123456789012:user/ops',
          at: NOW.toISOString(),
        },
        reason: 'released by override: CVE not reachable',
        counts: { CRITICAL: 1 },
      },
    });
    expect(verdicts().map((v) => v.verdict)).toEqual(['held', 'released']);
    expect(verdicts()[1]).toMatchObject({ override: { reason: 'CVE not reachable' } });
    expect(await handleInvocation(releaseDeps(scanGate), override(), 'operator-again')).toEqual({
      kind: 'unchanged',
      status: 'released',
    });
  });

  it('refuses a record outside the stack, and a request without a reason', async () => {
    expect(
      await handleInvocation(releaseDeps(), { ...override(), record: 'team/web/v1.4.3.tar.gz' }, 'op'),
    ).toMatchObject({ kind: 'ignored' });
    expect(await handleInvocation(releaseDeps(), override('  '), 'op')).toMatchObject({ kind: 'ignored' });
    expect(s3Mock).not.toHaveReceivedAnyCommand();
  });

  it('changes nothing of a superseded upload', async () => {
    bucket.put(KEY, 'newer', { versionId: 'newer' });
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(await handleInvocation(releaseDeps(), override(), 'op')).toEqual({
      kind: 'unchanged',
      status: 'superseded',
    });
    expect(repo.tags.size).toBe(0);
  });
});

describe('errors and the periodic check', () => {
  const scanGate = { RELEASE_GATE: 'scan', RELEASE_SCAN_TIMEOUT_SECONDS: '600' };
  const otherKey = uploadRecordKey('', { bucket: BUCKET, key: 'team/api/v2.tar.gz', versionId: 'v2' });

  it('reports a permanent error as the outcome, and moves nothing', async () => {
    ecrMock.on(BatchGetImageCommand).resolves({ images: [] });
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'failed',
      error: `BatchGetImage found no manifest of team/web@${DIGEST}`,
    });
    expect(repo.tags.size).toBe(0);
  });

  it('throws an unexpected failure as transient, for Lambda to retry, with its cause', async () => {
    const cause = new Error('clock');
    const deps = releaseDeps({}, () => {
      throw cause;
    });
    const error = await handleInvocation(deps, succeeded(), REQUEST_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ message: 'unexpected failure', cause });
  });

  it('releases even when the pending marker cannot be removed (the periodic check removes it later)', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    s3Mock.on(DeleteObjectCommand).rejects(awsError('SlowDown', 503));
    expect(await handleInvocation(releaseDeps(scanGate), scanEvent({}), 'scan')).toEqual({
      kind: 'decided',
      verdict: 'released',
    });
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(true);
  });

  it('removes the marker of a release decided elsewhere, on the periodic check', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    s3Mock.on(DeleteObjectCommand).rejects(awsError('SlowDown', 503));
    await handleInvocation(releaseDeps(scanGate), scanEvent({}), 'scan');
    bucket.install();
    expect(await handleInvocation(releaseDeps(scanGate), { action: 'check-pending' }, 'check')).toEqual([
      { kind: 'unchanged', status: 'released' },
    ]);
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(false);
  });

  it('judges every pending release though one fails: a permanent failure is logged, a transient one thrown after', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    repo.scan = { status: 'COMPLETE', counts: {} };
    bucket.put(releasePendingKey('', otherKey), JSON.stringify({ record: otherKey, deadline: 'x' }));
    const judged: string[] = [];
    const read = (status: number) =>
      s3Mock.on(GetObjectCommand, { Key: otherKey }).callsFake(async () => {
        judged.push(otherKey);
        throw awsError('Refused', status);
      });
    read(400);
    const outcomes = await handleInvocation(releaseDeps(scanGate), { action: 'check-pending' }, 'check');
    expect(outcomes).toEqual([{ kind: 'decided', verdict: 'released' }]);
    expect(judged).toEqual([otherKey]);
    expect(record().status).toBe('released');
    // A transient failure is thrown once every release was judged, for the next check to retry.
    bucket.put(releasePendingKey('', RECORD_KEY), JSON.stringify({ record: RECORD_KEY, deadline: 'x' }));
    read(503);
    const error = await handleInvocation(releaseDeps(scanGate), { action: 'check-pending' }, 'again').catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ message: '1 pending releases failed transiently' });
    expect((error as Error).cause).toBeInstanceOf(TransientError);
    expect((error as Error).cause).toMatchObject({ message: expect.stringContaining(otherKey) });
    expect(bucket.objects.has(releasePendingKey('', RECORD_KEY))).toBe(false);
  });
});

describe('what each step says of the record it meets', () => {
  const scanGate = { RELEASE_GATE: 'scan', RELEASE_SCAN_TIMEOUT_SECONDS: '600' };
  const indexOf = (digest: string) =>
    bucket.put(
      imageIndexKey('', 'team/web', digest),
      JSON.stringify({ record: RECORD_KEY, repository: 'team/web', digest }),
    );

  it('leaves an upload rejected before its build as it is, though its record names no image', async () => {
    bucket.put(
      RECORD_KEY,
      JSON.stringify({ status: 'rejected', bucket: BUCKET, key: KEY, versionId: VERSION, at: 'x' }),
    );
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'unchanged',
      status: 'rejected',
    });
  });

  it('leaves a held image held on its scan event and on the periodic check', async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    await handleInvocation(releaseDeps(scanGate), scanEvent({ CRITICAL: 1 }), 'scan');
    expect(record().status).toBe('held');
    expect(await handleInvocation(releaseDeps(scanGate), scanEvent({}), 'scan-again')).toEqual({
      kind: 'unchanged',
      status: 'held',
    });
    expect(repo.tags.size).toBe(0);
  });

  it('ignores a scan of another image than the one the record names, naming both', async () => {
    bucket.put(
      RECORD_KEY,
      JSON.stringify({ ...accepted, status: 'built', digest: DIGEST, release: { gate: 'none' } }),
    );
    indexOf(OTHER_DIGEST);
    expect(await handleInvocation(releaseDeps(), scanEvent({}, OTHER_DIGEST), 'scan')).toEqual({
      kind: 'ignored',
      why: `digest ${OTHER_DIGEST} is not the one the build recorded (${DIGEST})`,
    });
    bucket.put(RECORD_KEY, JSON.stringify({ ...accepted, status: 'built', release: { gate: 'none' } }));
    expect(await handleInvocation(releaseDeps(), scanEvent({}, OTHER_DIGEST), 'scan')).toEqual({
      kind: 'ignored',
      why: `digest ${OTHER_DIGEST} is not the one the build recorded (none)`,
    });
    expect(putImages()).toEqual([]);
  });

  it('names the build the record names when it ignores the event of another', async () => {
    bucket.put(RECORD_KEY, JSON.stringify({ ...accepted, buildId: `${BUILD_ID}-other` }));
    expect(await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID)).toEqual({
      kind: 'ignored',
      why: `the record names another build (${BUILD_ID}-other)`,
    });
  });

  it("records the stack's gate in the verdict of a build that cannot release", async () => {
    const event = succeeded();
    (event.detail['additional-information'] as Record<string, unknown>)['exported-environment-variables'] =
      [];
    await handleInvocation(releaseDeps(scanGate), event, REQUEST_ID);
    expect(record()).toMatchObject({ status: 'failed', release: { gate: 'scan', verdict: 'failed' } });
  });

  it('reads no scan result under the gate none', async () => {
    repo.scan = { status: 'COMPLETE', counts: { CRITICAL: 3 } };
    await handleInvocation(releaseDeps(), succeeded(), REQUEST_ID);
    expect(record().status).toBe('released');
    expect(ecrMock).not.toHaveReceivedCommand(DescribeImageScanFindingsCommand);
  });

  it("records an override's reason in the verdict, and logs one decision: the release", async () => {
    await handleInvocation(releaseDeps(scanGate), succeeded(), REQUEST_ID);
    await handleInvocation(releaseDeps(scanGate), scanEvent({ CRITICAL: 1 }), 'scan');
    const deps = releaseDeps(scanGate);
    const decisions: unknown[] = [];
    vi.spyOn(deps.logger, 'info').mockImplementation((...args: unknown[]) => {
      if (args[0] === 'release decided') decisions.push(args[1]);
    });
    await handleInvocation(
      deps,
      { action: 'override', record: RECORD_KEY, reason: 'accepted risk', by: 'ops' },
      'op',
    );
    expect(record().release).toMatchObject({
      verdict: 'released',
      reason: 'released by override: accepted risk',
      counts: { CRITICAL: 1 },
    });
    expect(decisions).toEqual([
      { verdict: 'released', reason: 'released by override: accepted risk' },
      { kind: 'decided', verdict: 'released' },
    ]);
  });

  it('names at most 200 characters of a record outside the stack an override names', async () => {
    const name = `team/${'x'.repeat(300)}`;
    expect(
      await handleInvocation(
        releaseDeps(),
        { action: 'override', record: name, reason: 'accepted risk', by: 'ops' },
        'op',
      ),
    ).toEqual({ kind: 'ignored', why: `"${name.slice(0, 200)}" is not an upload record of this stack` });
  });
});

describe('what the log says', () => {
  const scanGate = { RELEASE_GATE: 'scan', RELEASE_SCAN_TIMEOUT_SECONDS: '600' };
  /** The deps with every log call and key kept, in order. */
  const logged = (env: Record<string, string> = {}, now?: () => Date) => {
    const deps = releaseDeps(env, now);
    const lines: unknown[][] = [];
    for (const level of ['info', 'warn', 'error'] as const)
      vi.spyOn(deps.logger, level).mockImplementation((...args: unknown[]) => {
        lines.push([level, ...args]);
      });
    const keys: unknown[] = [];
    vi.spyOn(deps.logger, 'appendKeys').mockImplementation((k) => {
      keys.push(k);
    });
    const reset = vi.spyOn(deps.logger, 'resetKeys');
    return { deps, lines, keys, reset };
  };

  it('says what a build event decided, under the keys of its upload, and forgets them after', async () => {
    const { deps, lines, keys, reset } = logged();
    await handleInvocation(deps, succeeded(), REQUEST_ID);
    expect(keys).toEqual([{ bucket: BUCKET, key: KEY, version: VERSION, buildId: BUILD_ID }]);
    expect(lines).toEqual([
      ['info', 'release decided', { verdict: 'released', reason: undefined }],
      ['info', 'release verdict announced', { verdict: 'released' }],
      ['info', 'release decided', { kind: 'decided', verdict: 'released' }],
    ]);
    expect(reset).toHaveBeenCalledTimes(1);
  });

  it('says why an event is ignored, and a scan of an image no build pushed', async () => {
    const other = logged();
    await handleInvocation(other.deps, { source: 'aws.ecr' }, REQUEST_ID);
    expect(other.lines).toEqual([['info', 'event ignored', { why: 'not an event this function handles' }]]);
    const scan = logged();
    await handleInvocation(scan.deps, scanEvent({}, OTHER_DIGEST), REQUEST_ID);
    expect(scan.keys).toEqual([{ repository: 'team/web', digest: OTHER_DIGEST }]);
    expect(scan.lines).toEqual([
      ['info', 'release ignored', { kind: 'ignored', why: 'no build of this stack pushed that image' }],
    ]);
  });

  it('says a release waits for its scan, and then its verdict with the reason', async () => {
    const waiting = logged(scanGate);
    await handleInvocation(waiting.deps, succeeded(), REQUEST_ID);
    const deadline = new Date(NOW.getTime() + 600_000).toISOString();
    expect(waiting.lines).toEqual([
      ['info', 'release waits for the scan or the signature', { deadline }],
      ['info', 'release waiting', { kind: 'waiting', deadline }],
    ]);
    const held = logged(scanGate);
    await handleInvocation(held.deps, scanEvent({ CRITICAL: 1 }), 'scan');
    expect(held.lines[0]).toEqual([
      'info',
      'release decided',
      { verdict: 'held', reason: record().release?.reason },
    ]);
    expect(record().release?.reason).toEqual(expect.stringContaining('CRITICAL'));
  });

  it('warns of an upload gate not followed, an override, and a marker left behind', async () => {
    bucket.put(KEY, 'context', { versionId: VERSION, metadata: { 'release-gate': 'none' } });
    const looser = logged(scanGate);
    await handleInvocation(looser.deps, succeeded(), REQUEST_ID);
    expect(looser.lines[0]).toEqual([
      'warn',
      'release gate: upload metadata not followed',
      { note: record().release?.note },
    ]);
    await handleInvocation(releaseDeps(scanGate), scanEvent({ CRITICAL: 1 }), 'scan');
    const override = logged(scanGate);
    s3Mock.on(DeleteObjectCommand).rejects(awsError('SlowDown', 503));
    await handleInvocation(
      override.deps,
      { action: 'override', record: RECORD_KEY, reason: 'accepted risk', by: 'ops' },
      'op',
    );
    expect(override.keys).toEqual([{ record: RECORD_KEY }]);
    expect(override.lines[0]).toEqual(['warn', 'release override', { by: 'ops', reason: 'accepted risk' }]);
    expect(override.lines).toContainEqual([
      'warn',
      'could not remove the pending-release marker',
      expect.objectContaining({
        message: 'removing the pending-release marker failed: SlowDown: SlowDown (test)',
      }),
    ]);
  });

  it('says what failed for good, and which pending release could not be judged', async () => {
    ecrMock.on(BatchGetImageCommand).resolves({ images: [] });
    const failed = logged();
    await handleInvocation(failed.deps, succeeded(), REQUEST_ID);
    expect(failed.lines).toContainEqual([
      'error',
      'release not done: permanent error',
      expect.objectContaining({ message: `BatchGetImage found no manifest of team/web@${DIGEST}` }),
    ]);
    bucket.put(releasePendingKey('', RECORD_KEY), JSON.stringify({ record: RECORD_KEY, deadline: 'x' }));
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).rejects(awsError('InvalidObjectState', 400));
    const check = logged(scanGate);
    await handleInvocation(check.deps, { action: 'check-pending' }, 'check');
    expect(check.lines).toEqual([
      [
        'error',
        'pending release not judged',
        {
          recordKey: RECORD_KEY,
          error: `PermanentError: reading ${RECORD_KEY} failed: InvalidObjectState: InvalidObjectState (test)`,
        },
      ],
    ]);
  });
});
