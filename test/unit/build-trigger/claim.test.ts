/**
 * No upload is lost: a crash or a lost response at any point between the claim and StartBuild ends
 * in exactly one build on the next delivery or retry. S3 is a small in-memory store with S3's
 * conditional writes (If-None-Match, If-Match, ETags); CodeBuild keeps StartBuild's idempotency.
 */
import {
  BatchGetBuildsCommand,
  ListBuildsForProjectCommand,
  StartBuildCommand,
  type StartBuildCommandInput,
} from '@aws-sdk/client-codebuild';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import {
  DeleteObjectCommand,
  type DeleteObjectCommandInput,
  GetObjectCommand,
  type GetObjectCommandInput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../functions/build-trigger/errors.ts';
import { handleS3Event, type TriggerOutcome } from '../../../functions/build-trigger/trigger.ts';
import {
  claimState,
  claimUpload,
  releaseClaim,
  updateUploadRecord,
} from '../../../functions/build-trigger/upload-claim.ts';
import { type UploadRecord, uploadRecordKey } from '../../../functions/shared/upload-record.ts';
import {
  awsError,
  BUCKET,
  clients,
  containerDeps,
  MANAGED_TAGS,
  NOW,
  PROJECT,
  REQUEST_ID,
  repository,
  s3Event,
} from './helpers.ts';

const ecr = mockClient(clients.ecr);
const codebuild = mockClient(clients.codebuild);
const s3 = mockClient(S3Client);

const KEY = 'team-a/api/v1.2.3.tar.gz';
const RECORD_KEY = uploadRecordKey('', {
  bucket: BUCKET,
  key: KEY,
  versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
  eTag: 'd41d8cd98f00b204e9800998ecf8427e',
});

/** The response of a call was lost on the way back: the SDK sees a network error. */
function lostResponse(): Error {
  return Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
}

/** The upload records as S3 keeps them, with S3's conditional writes. */
class RecordStore {
  readonly objects = new Map<string, { body: string; eTag: string }>();
  private writes = 0;
  /** While down (the function has crashed), every call fails. */
  down = false;
  /** Called before a write is stored: throw here to fail it. */
  beforeWrite?: (input: PutObjectCommandInput) => void;
  /** Called after a write is stored, before it answers: throw here to lose the response. */
  afterWrite?: (input: PutObjectCommandInput) => void;

  put(input: PutObjectCommandInput) {
    if (this.down) throw lostResponse();
    this.beforeWrite?.(input);
    const key = input.Key ?? '';
    const current = this.objects.get(key);
    if (input.IfNoneMatch === '*' && current) throw awsError('PreconditionFailed', 412);
    if (input.IfMatch !== undefined && current?.eTag !== input.IfMatch) {
      throw current ? awsError('PreconditionFailed', 412) : awsError('NoSuchKey', 404);
    }
    const eTag = `"etag-${++this.writes}"`;
    this.objects.set(key, { body: String(input.Body), eTag });
    this.afterWrite?.(input);
    return { ETag: eTag };
  }

  get(input: GetObjectCommandInput) {
    if (this.down) throw lostResponse();
    const found = this.objects.get(input.Key ?? '');
    if (!found) throw awsError('NoSuchKey', 404);
    return { ETag: found.eTag, Body: { transformToString: async () => found.body } };
  }

  delete(input: DeleteObjectCommandInput) {
    if (this.down) throw lostResponse();
    this.objects.delete(input.Key ?? '');
    return {};
  }

  record(): UploadRecord | undefined {
    const found = this.objects.get(RECORD_KEY);
    return found ? (JSON.parse(found.body) as UploadRecord) : undefined;
  }

  seed(record: Partial<UploadRecord>): void {
    const full = { status: 'accepted', bucket: BUCKET, key: KEY, at: NOW.toISOString(), ...record };
    this.objects.set(RECORD_KEY, { body: JSON.stringify(full), eTag: `"etag-${++this.writes}"` });
  }
}

/** CodeBuild's StartBuild: the same idempotency token returns the same build (within 5 minutes). */
class Builds {
  readonly byToken = new Map<string, string>();
  /** Every build started, newest first, with its variables (ListBuildsForProject, BatchGetBuilds). */
  readonly started: { id: string; variables: StartBuildCommandInput['environmentVariablesOverride'] }[] = [];
  /** Called after a build is started, before StartBuild answers. */
  afterStart?: () => void;

  start(input: StartBuildCommandInput) {
    const token = input.idempotencyToken ?? '';
    const known = this.byToken.get(token);
    const id = known ?? `${PROJECT}:b-${this.started.length + 1}`;
    this.byToken.set(token, id);
    if (!known) this.started.unshift({ id, variables: input.environmentVariablesOverride });
    this.afterStart?.();
    return { build: { id } };
  }

  /** Five minutes later: StartBuild no longer knows the token. */
  forgetTokens(): void {
    this.byToken.clear();
  }
}

let store: RecordStore;
let builds: Builds;

beforeEach(() => {
  for (const mock of [ecr, codebuild, s3]) mock.reset();
  store = new RecordStore();
  builds = new Builds();
  s3.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => store.put(input));
  s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => store.get(input));
  s3.on(DeleteObjectCommand).callsFake((input: DeleteObjectCommandInput) => store.delete(input));
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-a/api')] });
  ecr.on(ListTagsForResourceCommand).resolves({ tags: MANAGED_TAGS });
  ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
  codebuild.on(StartBuildCommand).callsFake((input: StartBuildCommandInput) => builds.start(input));
  codebuild.on(ListBuildsForProjectCommand).callsFake(() => ({ ids: builds.started.map((b) => b.id) }));
  codebuild.on(BatchGetBuildsCommand).callsFake(() => ({
    builds: builds.started.map((b) => ({ id: b.id, environment: { environmentVariables: b.variables } })),
  }));
});

/** One attempt in a fresh container (the crashed one is gone), as Lambda's retry of the event runs. */
function attempt(requestId = REQUEST_ID): Promise<TriggerOutcome[]> {
  return handleS3Event(containerDeps(), s3Event('put-versioned.json'), requestId);
}

/** The function dies here: nothing after it runs (no release, no record update). */
function crash(): never {
  store.down = true;
  throw lostResponse();
}

/** After the crash: S3 answers again, and the next attempt runs. */
function restart(): void {
  store.down = false;
  store.afterWrite = undefined;
  store.beforeWrite = undefined;
  builds.afterStart = undefined;
}

/**
 * Exactly one build, and a claim that stays (the ecr-events function adds the build id when the
 * build's IN_PROGRESS event arrives: the trigger spends no call on it).
 */
function expectOneBuildRecorded(outcomes: TriggerOutcome[]): void {
  expect(outcomes).toEqual([{ kind: 'started', buildId: `${PROJECT}:b-1` }]);
  expect(builds.byToken.size).toBe(1);
  expect(
    new Set(codebuild.commandCalls(StartBuildCommand).map((c) => c.args[0].input.idempotencyToken)).size,
  ).toBe(1);
  expect(store.record()).toMatchObject({ status: 'accepted' });
}

describe('a StartBuild whose answer was lost', () => {
  it('builds once when the build did start and the retry comes after the idempotency token expired', async () => {
    builds.afterStart = () => {
      builds.afterStart = undefined;
      throw lostResponse();
    };
    await expect(attempt()).rejects.toThrow(TransientError);
    // The build may have started: the claim stays for the retry.
    expect(store.record()).toMatchObject({ owner: REQUEST_ID, status: 'accepted' });
    builds.forgetTokens();

    restart();
    expect(await attempt()).toEqual([{ kind: 'started', buildId: `${PROJECT}:b-1` }]);
    expect(builds.started).toHaveLength(1);
  });

  it('starts the build on the retry when the first StartBuild never reached CodeBuild', async () => {
    codebuild.on(StartBuildCommand).rejectsOnce(lostResponse());
    await expect(attempt()).rejects.toThrow(TransientError);
    codebuild.on(StartBuildCommand).callsFake((input: StartBuildCommandInput) => builds.start(input));
    restart();
    expectOneBuildRecorded(await attempt());
  });

  it('releases the claim when CodeBuild refused the start (throttling): nothing was started', async () => {
    codebuild.on(StartBuildCommand).rejectsOnce(awsError('ThrottlingException', 400));
    await expect(attempt()).rejects.toThrow(TransientError);
    expect(store.record()).toBeUndefined();
  });
});

describe('a claim between its write and StartBuild', () => {
  it('writes its owner and an expiry longer than the function runs', async () => {
    const outcomes = await attempt();

    expectOneBuildRecorded(outcomes);
    expect(store.record()).toMatchObject({
      owner: REQUEST_ID,
      // 30 s of function timeout + 60 s of margin.
      claimExpiresAt: new Date(NOW.getTime() + 90_000).toISOString(),
    });
  });

  it('builds once when the claim was written but its response lost (the retry gets 412: its own claim)', async () => {
    store.afterWrite = (input) => {
      if (input.IfNoneMatch === '*') {
        store.afterWrite = undefined;
        throw lostResponse();
      }
    };
    await expect(attempt()).rejects.toThrow(TransientError);
    expect(store.record()).toMatchObject({ owner: REQUEST_ID });
    expect(builds.byToken.size).toBe(0);

    restart();
    expectOneBuildRecorded(await attempt());
  });

  it("goes on in the same invocation when the SDK's own retry of the claim gets 412", async () => {
    store.afterWrite = (input) => {
      if (input.IfNoneMatch === '*') {
        store.afterWrite = undefined;
        throw awsError('PreconditionFailed', 412); // what the SDK reports after retrying the lost write
      }
    };
    expectOneBuildRecorded(await attempt());
  });

  it('builds once when the function crashes after the claim, before the ECR checks', async () => {
    ecr
      .on(DescribeRepositoriesCommand)
      .callsFakeOnce(crash)
      .resolves({ repositories: [repository('team-a/api')] });
    await expect(attempt()).rejects.toThrow(TransientError);
    expect(store.record()).toMatchObject({ owner: REQUEST_ID });
    expect(store.record()?.buildId).toBeUndefined();

    restart();
    expectOneBuildRecorded(await attempt());
  });

  it('builds once when the function crashes after StartBuild, its response lost', async () => {
    builds.afterStart = () => {
      store.down = true;
      throw lostResponse();
    };
    await expect(attempt()).rejects.toThrow(TransientError);
    expect(builds.byToken.size).toBe(1);
    // The claim could not be released (S3 down with the function): the retry resumes its own claim.
    expect(store.record()).toMatchObject({ owner: REQUEST_ID });

    restart();
    expectOneBuildRecorded(await attempt());
    // The retry resumes its claim, finds the build started and starts none.
    expect(codebuild).toHaveReceivedCommandTimes(StartBuildCommand, 1);
  });

  it('takes over a claim of another owner that expired without a build id, with If-Match on its ETag', async () => {
    store.seed({ owner: 'crashed-request', claimExpiresAt: new Date(NOW.getTime() - 1).toISOString() });
    const eTag = store.objects.get(RECORD_KEY)?.eTag;

    expectOneBuildRecorded(await attempt('redelivery'));
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: RECORD_KEY, IfMatch: eTag });
    expect(store.record()).toMatchObject({ owner: 'redelivery' });
  });

  it('lets only one of two takers of an expired claim build', async () => {
    store.seed({ owner: 'crashed-request', claimExpiresAt: new Date(NOW.getTime() - 1).toISOString() });
    const accepted: UploadRecord = {
      status: 'accepted',
      bucket: BUCKET,
      key: KEY,
      claimExpiresAt: new Date(NOW.getTime() + 90_000).toISOString(),
      at: NOW.toISOString(),
    };
    // Both read the expired claim before either writes.
    const first = claimUpload(clients.s3, BUCKET, RECORD_KEY, { ...accepted, owner: 'taker-1' }, NOW);
    const second = claimUpload(clients.s3, BUCKET, RECORD_KEY, { ...accepted, owner: 'taker-2' }, NOW);

    expect((await Promise.all([first, second])).sort()).toEqual(['duplicate', 'resumed']);
    expect(s3.commandCalls(PutObjectCommand).filter((c) => c.args[0].input.IfMatch).length).toBe(2);
  });

  it('leaves a claim of another owner that has not expired: in progress elsewhere, no build here', async () => {
    store.seed({ owner: 'running-request', claimExpiresAt: new Date(NOW.getTime() + 1).toISOString() });
    const before = store.objects.get(RECORD_KEY);

    expect(await attempt('redelivery')).toEqual([{ kind: 'duplicate' }]);
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
    expect(store.objects.get(RECORD_KEY)).toEqual(before);
  });

  it('retries, not drops, when the record that answered 412 cannot be read back (403 without ListBucket)', async () => {
    store.beforeWrite = (input) => {
      if (input.IfNoneMatch === '*') throw awsError('PreconditionFailed', 412);
    };
    s3.on(GetObjectCommand).rejectsOnce(awsError('AccessDenied', 403));
    await expect(attempt()).rejects.toThrow(TransientError);

    restart();
    s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => store.get(input));
    expectOneBuildRecorded(await attempt());
  });

  it.each<[string, Partial<UploadRecord>]>([
    ['a build id, even its own', { owner: REQUEST_ID, buildId: `${PROJECT}:b-0` }],
    [
      'a build id and an expired claim',
      { owner: 'x', buildId: `${PROJECT}:b-0`, claimExpiresAt: NOW.toISOString() },
    ],
    ['a rejection', { status: 'rejected', owner: 'x', code: 'EmptyContext', reason: 'empty' }],
    ['a failure', { status: 'failed', owner: REQUEST_ID, reason: 'denied' }],
    ['no expiry (written by an older release)', { owner: undefined }],
  ])('takes a record with %s for a true duplicate', async (_, record) => {
    store.seed(record);
    expect(await attempt()).toEqual([{ kind: 'duplicate' }]);
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });
});

describe('claimState', () => {
  const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
  it.each<[string, Partial<UploadRecord>, string]>([
    ['a build id, even its own', { status: 'accepted', owner: 'me', buildId: 'p:b-1' }, 'done'],
    ['its own failure', { status: 'failed', owner: 'me', claimExpiresAt: at(60_000) }, 'done'],
    ['its own claim', { status: 'accepted', owner: 'me', claimExpiresAt: at(60_000) }, 'own'],
    [
      'a rejection of another owner, expiry or not',
      { status: 'rejected', owner: 'x', claimExpiresAt: at(60_000) },
      'done',
    ],
    ['a claim of an older release (no expiry)', { status: 'accepted', owner: 'x' }, 'done'],
    [
      'a claim of another owner expiring this very millisecond',
      { status: 'accepted', owner: 'x', claimExpiresAt: at(0) },
      'expired',
    ],
    [
      'a claim of another owner expiring a millisecond later',
      { status: 'accepted', owner: 'x', claimExpiresAt: at(1) },
      'in-progress',
    ],
  ])('judges %s as %s', (_, record, state) => {
    const full = { bucket: BUCKET, key: KEY, at: NOW.toISOString(), ...record } as UploadRecord;
    expect(claimState(full, 'me', NOW)).toBe(state);
  });
});

describe('claimUpload and the record writes, when S3 answers unusually', () => {
  const mine: UploadRecord = {
    status: 'accepted',
    bucket: BUCKET,
    key: KEY,
    owner: REQUEST_ID,
    claimExpiresAt: new Date(NOW.getTime() + 90_000).toISOString(),
    at: NOW.toISOString(),
  };
  const claim = () => claimUpload(clients.s3, BUCKET, RECORD_KEY, mine, NOW);
  const expired = () =>
    store.seed({ owner: 'crashed-request', claimExpiresAt: new Date(NOW.getTime() - 1).toISOString() });

  it('claims a version no record exists for, writing only if absent', async () => {
    expect(await claim()).toBe('claimed');
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: RECORD_KEY, IfNoneMatch: '*' });
  });

  it('goes on with its own claim that answered 412', async () => {
    store.seed(mine);
    expect(await claim()).toBe('resumed');
  });

  it('retries when the record that answered 412 is gone on the read back (404: released meanwhile)', async () => {
    store.beforeWrite = () => {
      throw awsError('PreconditionFailed', 412);
    };
    await expect(claim()).rejects.toThrow(
      new TransientError('the upload record could not be read back after a 412'),
    );
  });

  it('names the read when reading the record back fails otherwise, and keeps its kind', async () => {
    store.seed({ owner: 'running-request', claimExpiresAt: mine.claimExpiresAt });
    s3.on(GetObjectCommand).rejects(awsError('InternalError', 500));
    await expect(claim()).rejects.toThrow(TransientError);
    await expect(claim()).rejects.toThrow('reading the upload record failed: InternalError');
    s3.on(GetObjectCommand).rejects(awsError('InvalidRequest', 400));
    await expect(claim()).rejects.toThrow(PermanentError);
  });

  it('takes a record read back without a body for a finished upload: a duplicate', async () => {
    store.seed({ owner: 'running-request' });
    s3.on(GetObjectCommand).resolves({ ETag: '"e-0"' });
    expect(await claim()).toBe('duplicate');
  });

  it('retries, never drops the upload, when taking over an expired claim fails for another reason', async () => {
    expired();
    store.beforeWrite = (input) => {
      if (input.IfMatch) throw awsError('SlowDown', 503);
    };
    await expect(claim()).rejects.toThrow(TransientError);
    await expect(claim()).rejects.toThrow('taking over the upload record failed: SlowDown');
  });

  it('tries a takeover once: a conflict on it means another taker is at work', async () => {
    expired();
    store.beforeWrite = (input) => {
      if (input.IfMatch) throw awsError('ConditionalRequestConflict', 409);
    };
    expect(await claim()).toBe('duplicate');
    expect(s3.commandCalls(PutObjectCommand).filter((c) => c.args[0].input.IfMatch)).toHaveLength(1);
  });

  it('names the write in the error of each record write S3 refuses', async () => {
    s3.on(PutObjectCommand).rejects(awsError('SlowDown', 503));
    s3.on(DeleteObjectCommand).rejects(awsError('SlowDown', 503));
    await expect(claim()).rejects.toThrow('claiming the upload record failed: SlowDown');
    await expect(updateUploadRecord(clients.s3, BUCKET, RECORD_KEY, mine)).rejects.toThrow(
      new TransientError('updating the upload record failed: SlowDown: SlowDown (test)'),
    );
    await expect(releaseClaim(clients.s3, BUCKET, RECORD_KEY)).rejects.toThrow(
      new TransientError('releasing the upload record failed: SlowDown: SlowDown (test)'),
    );
  });
});
