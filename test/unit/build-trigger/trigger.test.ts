import { StartBuildCommand } from '@aws-sdk/client-codebuild';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { TransientError } from '../../../functions/build-trigger/errors.ts';
import { handleS3Event } from '../../../functions/build-trigger/trigger.ts';
import {
  BUILD_ENV,
  BUILD_REJECTED,
  EVENT_SOURCE,
  REPOSITORY_TAGS,
} from '../../../functions/shared/contract.ts';
import { identityHash, type UploadRecord, uploadRecordKey } from '../../../functions/shared/upload-record.ts';
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
  repositoryArn,
  s3Event,
} from './helpers.ts';

const ecr = mockClient(clients.ecr);
const codebuild = mockClient(clients.codebuild);
const events = mockClient(clients.events);
const s3 = mockClient(S3Client);
const mocks = [ecr, codebuild, events, s3];

const VERSIONED = {
  bucket: BUCKET,
  key: 'team-a/api/v1.2.3.tar.gz',
  versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
  eTag: 'd41d8cd98f00b204e9800998ecf8427e',
};
const RECORD_KEY = uploadRecordKey('', VERSIONED);

function allCalls(): number {
  return mocks.reduce((sum, mock) => sum + mock.calls().length, 0);
}

function putRecord(index = 0): UploadRecord {
  return JSON.parse(String(s3.commandCalls(PutObjectCommand)[index]?.args[0].input.Body)) as UploadRecord;
}

/** GetObject's answer for an existing record, as another invocation wrote it. */
function existing(record: Partial<UploadRecord>) {
  const body = JSON.stringify({ bucket: BUCKET, key: VERSIONED.key, at: NOW.toISOString(), ...record });
  return { ETag: '"e-0"', Body: { transformToString: async () => body } } as never;
}
/** A claim of another invocation, still running. */
const IN_PROGRESS: Partial<UploadRecord> = {
  status: 'accepted',
  owner: 'another-request',
  claimExpiresAt: new Date(NOW.getTime() + 60_000).toISOString(),
};

function rejectedDetail(index = 0): Record<string, unknown> {
  const entry = events.commandCalls(PutEventsCommand)[index]?.args[0].input.Entries?.[0];
  return JSON.parse(entry?.Detail ?? '{}') as Record<string, unknown>;
}

beforeEach(() => {
  for (const mock of mocks) mock.reset();
  s3.on(PutObjectCommand).resolves({ ETag: '"e-1"' });
  s3.on(DeleteObjectCommand).resolves({});
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-a/api')] });
  ecr.on(ListTagsForResourceCommand).resolves({ tags: MANAGED_TAGS });
  ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
  codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:b-1` } });
  events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

describe('an upload to an existing repository', () => {
  it('claims the object version, checks the tag and starts one build with the exact object', async () => {
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes).toEqual([{ kind: 'started', buildId: `${PROJECT}:b-1` }]);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: RECORD_KEY,
      ContentType: 'application/json',
      IfNoneMatch: '*',
    });
    expect(putRecord()).toMatchObject({ status: 'accepted', repository: 'team-a/api', tag: 'v1.2.3' });
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'team-a/api',
      imageIds: [{ imageTag: 'v1.2.3' }],
    });
    expect(codebuild).toHaveReceivedCommandExactlyOnceWith(StartBuildCommand, {
      projectName: PROJECT,
      idempotencyToken: identityHash(VERSIONED),
      environmentVariablesOverride: [
        { name: BUILD_ENV.bucket, value: BUCKET, type: 'PLAINTEXT' },
        { name: BUILD_ENV.key, value: VERSIONED.key, type: 'PLAINTEXT' },
        { name: BUILD_ENV.versionId, value: VERSIONED.versionId, type: 'PLAINTEXT' },
        { name: BUILD_ENV.eTag, value: VERSIONED.eTag, type: 'PLAINTEXT' },
        {
          name: BUILD_ENV.repositoryUri,
          value: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/api',
          type: 'PLAINTEXT',
        },
        { name: BUILD_ENV.repository, value: 'team-a/api', type: 'PLAINTEXT' },
        { name: BUILD_ENV.tag, value: 'v1.2.3', type: 'PLAINTEXT' },
        // IMMUTABLE without the cache tag excluded (an adopted setting we never change): no cache.
        { name: BUILD_ENV.cacheTag, value: '', type: 'PLAINTEXT' },
      ],
    });
    expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
    expect(events).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('uses the ETag for the identity and an empty version when the bucket is not versioned', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('web')] });
    await handleS3Event(containerDeps(), s3Event('put-unversioned.json'), REQUEST_ID);

    const identity = { bucket: BUCKET, key: 'web/2026.11.27.tgz', eTag: '0cc175b9c0f1b6a831c399e269772661' };
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: uploadRecordKey('', identity),
    });
    const start = codebuild.commandCalls(StartBuildCommand)[0]?.args[0].input;
    expect(start?.idempotencyToken).toBe(identityHash(identity));
    expect(start?.idempotencyToken).toMatch(/^[0-9a-f]{64}$/);
    expect(start?.environmentVariablesOverride).toContainEqual({
      name: BUILD_ENV.versionId,
      value: '',
      type: 'PLAINTEXT',
    });
  });

  it('builds into a repository this stack created without modifying it', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-a/api', 'MUTABLE')] });
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(ecr).toHaveReceivedCommandExactlyOnceWith(ListTagsForResourceCommand, {
      resourceArn: repositoryArn('team-a/api'),
    });
    expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
    expect(ecr).not.toHaveReceivedCommand(PutLifecyclePolicyCommand);
    expect(ecr).not.toHaveReceivedCommand(TagResourceCommand);
    expect(ecr).not.toHaveReceivedCommand(UntagResourceCommand);
    // Tags in a mutable repository may be overwritten: no need to look for the tag.
    expect(ecr).not.toHaveReceivedCommand(DescribeImagesCommand);
    expect(codebuild).toHaveReceivedCommandTimes(StartBuildCommand, 1);
  });

  it('does not look for an excluded tag in an IMMUTABLE_WITH_EXCLUSION repository', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        {
          ...repository('team-a/api', 'IMMUTABLE_WITH_EXCLUSION'),
          imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'v1.*' }],
        },
      ],
    });
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(ecr).not.toHaveReceivedCommand(DescribeImagesCommand);
    expect(codebuild).toHaveReceivedCommandTimes(StartBuildCommand, 1);
  });

  it('passes the cache tag to the build where the repository lets that tag move', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        {
          ...repository('team-a/api', 'IMMUTABLE_WITH_EXCLUSION'),
          imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'ecr-pipeline-cache*' }],
        },
      ],
    });
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, {
      environmentVariablesOverride: expect.arrayContaining([
        { name: BUILD_ENV.cacheTag, value: 'ecr-pipeline-cache', type: 'PLAINTEXT' },
      ]),
    });
  });

  it('makes at most 4 calls in a warm container: metadata, claim, tag check, build', async () => {
    const deps = containerDeps();
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    for (const mock of mocks) mock.resetHistory();

    const next = s3Event('put-versioned.json');
    const object = next.Records[0]?.s3.object;
    if (object) Object.assign(object, { key: 'team-a/api/v1.2.4.tar.gz', versionId: 'other-version' });
    await handleS3Event(deps, next, REQUEST_ID);

    expect(ecr).not.toHaveReceivedCommand(DescribeRepositoriesCommand);
    expect(ecr).not.toHaveReceivedCommand(ListTagsForResourceCommand);
    expect(allCalls()).toBe(4);
    expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, {
      environmentVariablesOverride: expect.arrayContaining([
        { name: BUILD_ENV.tag, value: 'v1.2.4', type: 'PLAINTEXT' },
      ]),
    });
  });

  it('describes the repository again when the cached one was deleted meanwhile', async () => {
    const deps = containerDeps();
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    ecr.on(DescribeImagesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    ecr.on(CreateRepositoryCommand).resolves({ repository: repository('team-a/api') });
    ecr.on(PutLifecyclePolicyCommand).resolves({});

    const next = s3Event('put-versioned.json');
    const object = next.Records[0]?.s3.object;
    if (object) object.versionId = 'another-version';
    const outcomes = await handleS3Event(deps, next, REQUEST_ID);

    expect(outcomes[0]?.kind).toBe('started');
    expect(ecr).toHaveReceivedCommandTimes(CreateRepositoryCommand, 1);
  });
});

describe('an upload to a new repository', () => {
  beforeEach(() => {
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    ecr.on(CreateRepositoryCommand).resolves({ repository: repository('team-a/api') });
    ecr.on(PutLifecyclePolicyCommand).resolves({});
  });

  it('creates the repository as managed: tagged, scanned on push, immutable, encrypted, with a lifecycle policy', async () => {
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes[0]?.kind).toBe('started');
    expect(ecr).toHaveReceivedCommandExactlyOnceWith(CreateRepositoryCommand, {
      repositoryName: 'team-a/api',
      // Release tags immutable; the build cache's tag excluded, so that every build can move it.
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'ecr-pipeline-cache*' }],
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'AES256' },
      tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-dev' }],
    });
    const policy = JSON.parse(
      ecr.commandCalls(PutLifecyclePolicyCommand)[0]?.args[0].input.lifecyclePolicyText ?? '',
    );
    expect(policy.rules).toEqual([
      expect.objectContaining({
        selection: expect.objectContaining({
          tagStatus: 'untagged',
          countType: 'sinceImagePushed',
          countNumber: 14,
        }),
      }),
      expect.objectContaining({
        selection: expect.objectContaining({
          tagStatus: 'tagged',
          countType: 'imageCountMoreThan',
          countNumber: 100,
        }),
      }),
    ]);
    // A repository created just now holds no tag.
    expect(ecr).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  it('checks the tag of the next upload into the repository it created: a container keeps no "created" mark', async () => {
    const deps = containerDeps();
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    expect(ecr).not.toHaveReceivedCommand(DescribeImagesCommand);

    // The first build pushed v1.2.3; a second upload of it (another version) is refused.
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['v1.2.3'] }] });
    const again = s3Event('put-versioned.json');
    const object = again.Records[0]?.s3.object;
    if (object) object.versionId = 'a-second-version';
    const outcomes = await handleS3Event(deps, again, REQUEST_ID);

    expect(ecr).toHaveReceivedCommandTimes(CreateRepositoryCommand, 1);
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'team-a/api',
      imageIds: [{ imageTag: 'v1.2.3' }],
    });
    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'TagAlreadyExists' } });
    expect(codebuild).toHaveReceivedCommandTimes(StartBuildCommand, 1);
  });

  it('uses the configured KMS key, mutability, scanning and lifecycle counts', async () => {
    const deps = containerDeps({
      ENCRYPTION_TYPE: 'KMS',
      KMS_KEY: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      TAG_MUTABILITY: 'MUTABLE',
      SCAN_ON_PUSH: 'false',
      UNTAGGED_EXPIRY_DAYS: '3',
      KEEP_TAGGED_IMAGES: '20',
    });
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);

    expect(ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, {
      imageTagMutability: 'MUTABLE',
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: {
        encryptionType: 'KMS',
        kmsKey: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
    });
    const policy = ecr.commandCalls(PutLifecyclePolicyCommand)[0]?.args[0].input.lifecyclePolicyText ?? '';
    expect(
      JSON.parse(policy).rules.map(
        (rule: { selection: { countNumber: number } }) => rule.selection.countNumber,
      ),
    ).toEqual([3, 20]);
  });

  it('uses the repository another container created in the meantime, leaving its policy to that container', async () => {
    ecr.on(CreateRepositoryCommand).rejects(awsError('RepositoryAlreadyExistsException', 400));
    ecr
      .on(DescribeRepositoriesCommand)
      .rejectsOnce(awsError('RepositoryNotFoundException', 400))
      .resolves({ repositories: [repository('team-a/api')] });

    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes[0]?.kind).toBe('started');
    expect(ecr).toHaveReceivedCommandTimes(DescribeRepositoriesCommand, 2);
    expect(ecr).not.toHaveReceivedCommand(PutLifecyclePolicyCommand);
    // It may have pushed the tag already.
    expect(ecr).toHaveReceivedCommand(DescribeImagesCommand);
  });

  it('still builds when the lifecycle policy cannot be set', async () => {
    ecr.on(PutLifecyclePolicyCommand).rejects(awsError('AccessDeniedException', 400));
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(outcomes[0]?.kind).toBe('started');
  });
});

describe('a repository this stack did not create', () => {
  const expectUnmodified = () => {
    expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
    expect(ecr).not.toHaveReceivedCommand(PutLifecyclePolicyCommand);
    expect(ecr).not.toHaveReceivedCommand(TagResourceCommand);
    expect(ecr).not.toHaveReceivedCommand(UntagResourceCommand);
  };
  const unmanaged = () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-a/api', 'MUTABLE')] });
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [{ Key: 'team', Value: 'payments' }] });
  };

  it('is refused as RepositoryNotManaged, naming the parameter that allows it, and never touched', async () => {
    unmanaged();
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'RepositoryNotManaged' } });
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
    expect(rejectedDetail()).toEqual({
      bucket: BUCKET,
      key: VERSIONED.key,
      versionId: VERSIONED.versionId,
      code: 'RepositoryNotManaged',
      reason:
        'repository "team-a/api" exists and was not created by this stack (ecr-pipeline-dev); ' +
        'to push to it, include its name in the adoptRepositoryPattern parameter (now empty)',
      repository: 'team-a/api',
      tag: 'v1.2.3',
    });
    expect(putRecord(1)).toMatchObject({ status: 'rejected', code: 'RepositoryNotManaged' });
    expectUnmodified();
    expect(ecr).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  it("is refused when another stack manages it: two stacks never take each other's", async () => {
    ecr.on(ListTagsForResourceCommand).resolves({
      tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-prod' }],
    });
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'RepositoryNotManaged' } });
    expect(rejectedDetail().reason).toContain('"team-a/api" belongs to stack "ecr-pipeline-prod"');
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });

  it('is refused when its name does not match the adoption pattern, which the reason quotes', async () => {
    unmanaged();
    await handleS3Event(
      containerDeps({ ADOPT_REPOSITORY_PATTERN: 'legacy/*' }),
      s3Event('put-versioned.json'),
      REQUEST_ID,
    );
    expect(rejectedDetail()).toMatchObject({
      code: 'RepositoryNotManaged',
      reason: expect.stringContaining('adoptRepositoryPattern parameter (now "legacy/*")'),
    });
  });

  it('is pushed to, never modified, when its name matches adoptRepositoryPattern', async () => {
    unmanaged();
    ecr.on(ListTagsForResourceCommand).resolves({
      tags: [{ Key: REPOSITORY_TAGS.staleSince, Value: '2026-01-01T00:00:00.000Z' }],
    });
    const outcomes = await handleS3Event(
      containerDeps({ ADOPT_REPOSITORY_PATTERN: 'team-?/*' }),
      s3Event('put-versioned.json'),
      REQUEST_ID,
    );

    expect(outcomes[0]?.kind).toBe('started');
    expectUnmodified();
  });

  it('is judged once per container: a warm refusal reads neither the repository nor its tags', async () => {
    unmanaged();
    const deps = containerDeps();
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    for (const mock of mocks) mock.resetHistory();

    const next = s3Event('put-versioned.json');
    Object.assign(next.Records[0]?.s3.object ?? {}, { versionId: 'other-version' });
    const outcomes = await handleS3Event(deps, next, REQUEST_ID);

    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'RepositoryNotManaged' } });
    expect(ecr).not.toHaveReceivedAnyCommand();
  });

  it('is refused when it was created, untagged, between our describe and our create', async () => {
    ecr
      .on(DescribeRepositoriesCommand)
      .rejectsOnce(awsError('RepositoryNotFoundException', 400))
      .resolves({ repositories: [repository('team-a/api', 'MUTABLE')] });
    ecr.on(CreateRepositoryCommand).rejects(awsError('RepositoryAlreadyExistsException', 400));
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [] });

    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'RepositoryNotManaged' } });
    expect(ecr).toHaveReceivedCommandTimes(DescribeRepositoriesCommand, 2);
    expect(ecr).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: repositoryArn('team-a/api'),
    });
    expect(ecr).not.toHaveReceivedCommand(PutLifecyclePolicyCommand);
    expect(ecr).not.toHaveReceivedCommand(TagResourceCommand);
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });
});

describe("the sweeper's stale mark", () => {
  const marked = () =>
    ecr.on(ListTagsForResourceCommand).resolves({
      tags: [...MANAGED_TAGS, { Key: REPOSITORY_TAGS.staleSince, Value: '2026-11-01T00:00:00.000Z' }],
    });

  it('is removed, and only it, before a build into a marked repository starts', async () => {
    marked();
    const order: string[] = [];
    ecr.on(UntagResourceCommand).callsFake(() => {
      order.push('untag');
      return {};
    });
    codebuild.on(StartBuildCommand).callsFake(() => {
      order.push('start');
      return { build: { id: `${PROJECT}:b-1` } };
    });
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes[0]?.kind).toBe('started');
    expect(ecr).toHaveReceivedCommandExactlyOnceWith(UntagResourceCommand, {
      resourceArn: repositoryArn('team-a/api'),
      tagKeys: [REPOSITORY_TAGS.staleSince],
    });
    expect(order).toEqual(['untag', 'start']);
    expect(ecr).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('is removed once per container: the next warm upload costs no untag', async () => {
    marked();
    ecr.on(UntagResourceCommand).resolves({});
    const deps = containerDeps();
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    for (const mock of mocks) mock.resetHistory();

    const next = s3Event('put-versioned.json');
    Object.assign(next.Records[0]?.s3.object ?? {}, { key: 'team-a/api/v1.2.4.tar.gz', versionId: 'v-2' });
    await handleS3Event(deps, next, REQUEST_ID);

    expect(ecr).not.toHaveReceivedCommand(UntagResourceCommand);
    expect(allCalls()).toBe(4);
  });

  it('is not touched on an unmarked repository', async () => {
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(ecr).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('blocks the build when it cannot be removed: throttled -> retried with the claim released', async () => {
    marked();
    ecr.on(UntagResourceCommand).rejects(awsError('ThrottlingException', 400));

    await expect(handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
      TransientError,
    );
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY });
  });
});

describe('rejected uploads', () => {
  it('rejects a tag that already exists in an immutable repository before any build starts', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['v1.2.3'] }] });
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'TagAlreadyExists' } });
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        expect.objectContaining({
          Source: EVENT_SOURCE,
          DetailType: BUILD_REJECTED,
          EventBusName: 'ecr-pipeline-dev-build-rejected',
        }),
      ],
    });
    expect(rejectedDetail()).toEqual({
      bucket: BUCKET,
      key: VERSIONED.key,
      versionId: VERSIONED.versionId,
      code: 'TagAlreadyExists',
      reason: expect.stringContaining('team-a/api:v1.2.3 already exists'),
      repository: 'team-a/api',
      tag: 'v1.2.3',
    });
    // The claim, then the record rewritten (unconditionally) to say why.
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 2);
    expect(s3.commandCalls(PutObjectCommand)[1]?.args[0].input.IfNoneMatch).toBeUndefined();
    expect(putRecord(1)).toMatchObject({ status: 'rejected', code: 'TagAlreadyExists' });
  });

  it('decodes keys as S3 encodes them and rejects each bad one with a specific reason', async () => {
    ecr
      .on(DescribeRepositoriesCommand)
      .resolves({ repositories: [repository('tools/build+cache', 'MUTABLE')] });
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-encoded-keys.json'), REQUEST_ID);

    expect(outcomes.map((o) => (o.kind === 'rejected' ? o.rejection.code : o.kind))).toEqual([
      'InvalidRepositoryName', // tools/build+cache: %2B is a literal +
      'InvalidRepositoryName', // my app: + is a space
      'InvalidKey', // %ZZ
      'started', // team-x/api:release_1
    ]);
    expect(rejectedDetail(0).reason).toContain('"tools/build+cache" contains "+"');
    expect(rejectedDetail(1).reason).toContain('"my app" contains " "');
    expect(rejectedDetail(2).reason).toContain('malformed percent-encoding');
    expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, {
      environmentVariablesOverride: expect.arrayContaining([
        { name: BUILD_ENV.key, value: 'team-x/api/release_1.tar.gz', type: 'PLAINTEXT' },
        { name: BUILD_ENV.repository, value: 'team-x/api', type: 'PLAINTEXT' },
      ]),
    });
  });

  it('rejects without touching ECR: the record is the claim, written only if absent', async () => {
    const event = s3Event('put-several.json');
    event.Records = event.Records.slice(1, 2);
    await handleS3Event(containerDeps(), event, REQUEST_ID);

    expect(ecr).not.toHaveReceivedAnyCommand();
    expect(s3).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, { IfNoneMatch: '*' });
    expect(putRecord()).toMatchObject({ status: 'rejected', code: 'InvalidRepositoryName' });
    expect(allCalls()).toBe(2);
  });

  it.each([
    [{ size: 0 }, {}, 'EmptyContext', 'empty'],
    [{ size: 600 * 1024 * 1024 }, {}, 'ContextTooLarge', 'the limit is 536870912 bytes'],
    [{ size: 2048 }, { MAX_CONTEXT_BYTES: '1024' }, 'ContextTooLarge', 'the limit is 1024 bytes'],
    [{}, { REPOSITORY_PATTERN: 'team-b/*' }, 'RepositoryNotAllowed', 'does not match "team-b/*"'],
    [{ key: 'team-a/api/v1.zip' }, {}, 'UnsupportedExtension', 'ends in ".zip"'],
  ])('rejects %o with config %o as %s', async (object, env, code, reason) => {
    const event = s3Event('put-versioned.json');
    Object.assign(event.Records[0]?.s3.object ?? {}, object);
    const outcomes = await handleS3Event(containerDeps(env), event, REQUEST_ID);

    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code } });
    expect(rejectedDetail()).toMatchObject({ code, reason: expect.stringContaining(reason) });
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });

  it('accepts a context of exactly the size limit and refuses one byte more', async () => {
    const at = s3Event('put-versioned.json');
    Object.assign(at.Records[0]?.s3.object ?? {}, { size: 1024 });
    expect((await handleS3Event(containerDeps({ MAX_CONTEXT_BYTES: '1024' }), at, REQUEST_ID))[0]?.kind).toBe(
      'started',
    );
    const over = s3Event('put-versioned.json');
    Object.assign(over.Records[0]?.s3.object ?? {}, { size: 1025, versionId: 'another-version' });
    expect(
      (await handleS3Event(containerDeps({ MAX_CONTEXT_BYTES: '1024' }), over, REQUEST_ID))[0],
    ).toMatchObject({
      kind: 'rejected',
      rejection: { code: 'ContextTooLarge' },
    });
  });

  it('refuses a multipart upload over the size limit, with its multipart ETag as the identity', async () => {
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-multipart.json'), REQUEST_ID);
    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'ContextTooLarge' } });
    expect(putRecord()).toMatchObject({ status: 'rejected', eTag: 'b5b1a8f4e3c1f9d2a6e7c8b9d0a1f2e3-90' });
    expect(ecr).not.toHaveReceivedAnyCommand();
  });

  it('accepts a repository that matches the allowed pattern', async () => {
    const outcomes = await handleS3Event(
      containerDeps({ REPOSITORY_PATTERN: 'team-?/*' }),
      s3Event('put-versioned.json'),
      REQUEST_ID,
    );
    expect(outcomes[0]?.kind).toBe('started');
  });
});

describe('events that are not ours', () => {
  it('ignores the s3:TestEvent S3 sends when the notification is configured', async () => {
    expect(await handleS3Event(containerDeps(), s3Event('test-event.json'), REQUEST_ID)).toEqual([]);
    expect(allCalls()).toBe(0);
  });

  it('ignores other buckets, keys outside the prefix, upload records and non-create events', async () => {
    const deps = containerDeps({ KEY_PREFIX: 'contexts/' });
    const other = await handleS3Event(deps, s3Event('put-other-bucket.json'), REQUEST_ID);
    const outside = await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    const ownRecord = s3Event('put-versioned.json');
    Object.assign(ownRecord.Records[0]?.s3.object ?? {}, { key: 'contexts/.ecr-pipeline/uploads/abc.json' });
    const removed = s3Event('put-versioned.json');
    Object.assign(removed.Records[0] ?? {}, { eventName: 'ObjectRemoved:Delete' });

    const outcomes = [
      ...other,
      ...outside,
      ...(await handleS3Event(deps, ownRecord, REQUEST_ID)),
      ...(await handleS3Event(deps, removed, REQUEST_ID)),
    ];
    expect(outcomes.map((o) => o.kind)).toEqual(['ignored', 'ignored', 'ignored', 'ignored']);
    expect(allCalls()).toBe(0);
  });

  it('handles keys under the configured prefix', async () => {
    const event = s3Event('put-versioned.json');
    Object.assign(event.Records[0]?.s3.object ?? {}, { key: 'contexts/team-a/api/v1.2.3.tar.gz' });
    const outcomes = await handleS3Event(containerDeps({ KEY_PREFIX: 'contexts/' }), event, REQUEST_ID);
    expect(outcomes[0]?.kind).toBe('started');
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.Key).toMatch(
      /^contexts\/\.ecr-pipeline\/uploads\/[0-9a-f]{64}\.json$/,
    );
  });
});

describe('duplicate deliveries', () => {
  it('costs no call in the container that handled the original', async () => {
    const deps = containerDeps();
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    for (const mock of mocks) mock.resetHistory();

    expect(await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID)).toEqual([
      { kind: 'duplicate' },
    ]);
    expect(allCalls()).toBe(0);
  });

  it('never starts a second build in another container: the claim exists (412) and is not its own', async () => {
    s3.on(PutObjectCommand).rejects(awsError('PreconditionFailed', 412));
    s3.on(GetObjectCommand).resolves(existing(IN_PROGRESS));
    expect(await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).toEqual([
      { kind: 'duplicate' },
    ]);
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY });
    // The object's metadata, the claim, the record read back.
    expect(allCalls()).toBe(3);
  });

  it('treats a concurrent conditional write of the same claim (409) as a duplicate', async () => {
    s3.on(PutObjectCommand).rejects(awsError('ConditionalRequestConflict', 409));
    s3.on(GetObjectCommand).resolves(existing(IN_PROGRESS));
    expect(await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).toEqual([
      { kind: 'duplicate' },
    ]);
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });

  it('does not announce a rejection twice', async () => {
    s3.on(PutObjectCommand).rejects(awsError('PreconditionFailed', 412));
    s3.on(GetObjectCommand).resolves(
      existing({ status: 'rejected', code: 'EmptyContext', reason: 'empty', owner: 'another-request' }),
    );
    const event = s3Event('put-versioned.json');
    Object.assign(event.Records[0]?.s3.object ?? {}, { size: 0 });
    expect(await handleS3Event(containerDeps(), event, REQUEST_ID)).toEqual([{ kind: 'duplicate' }]);
    expect(events).not.toHaveReceivedCommand(PutEventsCommand);
  });
});

describe('failures', () => {
  it.each([
    ['InternalServerError', 500],
    ['TimeoutError', 0],
  ])(
    'throws %s from StartBuild for a retry, keeping the claim: the build may have started',
    async (name, status) => {
      codebuild.on(StartBuildCommand).rejects(awsError(name, status));
      await expect(handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
        TransientError,
      );
      expect(s3).not.toHaveReceivedCommand(DeleteObjectCommand);
    },
  );

  it.each([
    ['ThrottlingException', 400],
    ['AccountLimitExceededException', 400],
  ])('throws %s from StartBuild for a retry, after releasing the claim', async (name, status) => {
    codebuild.on(StartBuildCommand).rejects(awsError(name, status));
    const deps = containerDeps();

    await expect(handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
      TransientError,
    );
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY });

    // Lambda's retry, in the same container, builds: it is not mistaken for a duplicate.
    codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:b-2` } });
    expect(await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID)).toEqual([
      { kind: 'started', buildId: `${PROJECT}:b-2` },
    ]);
  });

  it('throws a 5xx from ECR for a retry', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('ServerException', 503));
    await expect(handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
      TransientError,
    );
    expect(s3).toHaveReceivedCommand(DeleteObjectCommand);
  });

  it('throws when the claim itself is throttled, with nothing to release', async () => {
    s3.on(PutObjectCommand).rejects(awsError('SlowDown', 503));
    await expect(handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
      TransientError,
    );
    expect(s3).not.toHaveReceivedCommand(DeleteObjectCommand);
  });

  it('throws when EventBridge throttles the rejection event, releasing the record so the retry announces it', async () => {
    events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['v1.2.3'] }] });
    await expect(handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
      TransientError,
    );
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY });
  });

  it('releases the claim of a bad upload when EventBridge throttles its rejection, so the retry announces it', async () => {
    events
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });
    const empty = () => {
      const event = s3Event('put-versioned.json');
      Object.assign(event.Records[0]?.s3.object ?? {}, { size: 0 });
      return event;
    };
    const deps = containerDeps();

    await expect(handleS3Event(deps, empty(), REQUEST_ID)).rejects.toThrow(TransientError);
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY });

    expect(await handleS3Event(deps, empty(), REQUEST_ID)).toEqual([
      { kind: 'rejected', rejection: expect.objectContaining({ code: 'EmptyContext' }) },
    ]);
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 2);
  });

  it('reports and swallows a permanent error, recording it for the CLI', async () => {
    codebuild.on(StartBuildCommand).rejects(awsError('ResourceNotFoundException', 400));
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);

    expect(outcomes[0]?.kind).toBe('failed');
    expect(s3).not.toHaveReceivedCommand(DeleteObjectCommand);
    expect(putRecord(1)).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('ResourceNotFoundException'),
    });
  });

  it('handles every record of an event, then throws if one failed transiently', async () => {
    codebuild
      .on(StartBuildCommand)
      .rejectsOnce(awsError('ThrottlingException', 400))
      .resolves({ build: { id: `${PROJECT}:b-3` } });
    ecr.on(DescribeRepositoriesCommand, { repositoryNames: ['team-b/worker'] }).resolves({
      repositories: [repository('team-b/worker')],
    });
    const deps = containerDeps();

    await expect(handleS3Event(deps, s3Event('put-several.json'), REQUEST_ID)).rejects.toThrow(
      '1 of 3 records failed transiently',
    );
    expect(events).toHaveReceivedCommandTimes(PutEventsCommand, 1); // Team-A/API
    expect(codebuild).toHaveReceivedCommandTimes(StartBuildCommand, 2);

    // The retry of the whole event builds only the record that failed.
    for (const mock of mocks) mock.resetHistory();
    codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:b-3` } });
    const outcomes = await handleS3Event(deps, s3Event('put-several.json'), REQUEST_ID);
    expect(outcomes.map((o) => o.kind)).toEqual(['started', 'duplicate', 'duplicate']);
    expect(codebuild).toHaveReceivedCommandTimes(StartBuildCommand, 1);
  });
});

describe('what each outcome says', () => {
  it('says why a record is ignored', async () => {
    const deps = containerDeps({ KEY_PREFIX: 'contexts/' });
    const at = (key: string, patch: Record<string, unknown> = {}) => {
      const event = s3Event('put-versioned.json');
      Object.assign(event.Records[0]?.s3.object ?? {}, { key });
      Object.assign(event.Records[0] ?? {}, patch);
      return event;
    };
    const outcomes = [
      ...(await handleS3Event(deps, s3Event('put-other-bucket.json'), REQUEST_ID)),
      ...(await handleS3Event(
        deps,
        at('contexts/team-a/api/v1.tar.gz', { eventName: 'ObjectRemoved:Delete' }),
        REQUEST_ID,
      )),
      ...(await handleS3Event(
        deps,
        at('contexts/team-a/api/v1.tar.gz', { eventName: undefined }),
        REQUEST_ID,
      )),
      ...(await handleS3Event(deps, at('contexts/team-a/api/v1.tar.gz', { s3: undefined }), REQUEST_ID)),
      ...(await handleS3Event(
        deps,
        at('contexts/team-a/api/v1.tar.gz', { s3: { object: { key: 'contexts/team-a/api/v1.tar.gz' } } }),
        REQUEST_ID,
      )),
      ...(await handleS3Event(deps, at('team-a/api/v1.tar.gz'), REQUEST_ID)),
      ...(await handleS3Event(deps, at('contexts/.ecr-pipeline/uploads/abc.json'), REQUEST_ID)),
    ];
    expect(outcomes).toEqual([
      { kind: 'ignored', why: 'another bucket' },
      { kind: 'ignored', why: 'event ObjectRemoved:Delete' },
      { kind: 'ignored', why: 'event undefined' },
      { kind: 'ignored', why: 'another bucket' },
      { kind: 'ignored', why: 'another bucket' },
      { kind: 'ignored', why: 'outside the key prefix' },
      { kind: 'ignored', why: 'an upload record' },
    ]);
    expect(allCalls()).toBe(0);
  });

  it('announces the version of a rejected upload', async () => {
    const event = s3Event('put-versioned.json');
    Object.assign(event.Records[0]?.s3.object ?? {}, { size: 0 });
    await handleS3Event(containerDeps(), event, REQUEST_ID);
    expect(rejectedDetail()).toMatchObject({ versionId: VERSIONED.versionId, code: 'EmptyContext' });
    expect(putRecord()).toMatchObject({ status: 'rejected', versionId: VERSIONED.versionId });
  });

  it('keeps the record of a bad upload whose rejection EventBridge refuses for good: no release, no second write', async () => {
    events.on(PutEventsCommand).rejects(awsError('AccessDeniedException', 400));
    const event = s3Event('put-versioned.json');
    Object.assign(event.Records[0]?.s3.object ?? {}, { size: 0 });
    const outcomes = await handleS3Event(containerDeps(), event, REQUEST_ID);
    expect(outcomes[0]?.kind).toBe('failed');
    expect(s3).not.toHaveReceivedCommand(DeleteObjectCommand);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  });

  it('says a repository without any managed-by tag was not created by this stack', async () => {
    ecr.on(ListTagsForResourceCommand).resolves({ tags: [] });
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(outcomes[0]).toMatchObject({
      rejection: {
        reason:
          'repository "team-a/api" exists and was not created by this stack (ecr-pipeline-dev); to push to it, include its name in the adoptRepositoryPattern parameter (now empty)',
      },
    });
  });

  it('retries, describing nothing again, when the tag check is throttled', async () => {
    ecr.on(DescribeImagesCommand).rejects(awsError('ThrottlingException', 400));
    await expect(handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
      TransientError,
    );
    expect(ecr).toHaveReceivedCommandTimes(DescribeRepositoriesCommand, 1);
  });

  it('refuses a repository that, deleted meanwhile, was recreated by someone else', async () => {
    ecr.on(DescribeImagesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    ecr
      .on(ListTagsForResourceCommand)
      .resolvesOnce({ tags: MANAGED_TAGS })
      .resolves({ tags: [{ Key: 'ecr-pipeline:managed-by', Value: 'ecr-pipeline-prod' }] });
    const outcomes = await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(outcomes[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'RepositoryNotManaged' } });
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });

  it('names the repository and tag in the record of a failed upload', async () => {
    codebuild.on(StartBuildCommand).rejects(awsError('ResourceNotFoundException', 400));
    await handleS3Event(containerDeps(), s3Event('put-versioned.json'), REQUEST_ID);
    expect(putRecord(1)).toMatchObject({ status: 'failed', repository: 'team-a/api', tag: 'v1.2.3' });
  });

  it("gives the event's failure the record's own error as its cause when one record failed, all of them when several did", async () => {
    const throttled = awsError('ThrottlingException', 400);
    codebuild.on(StartBuildCommand).rejects(throttled);
    const one: unknown = await handleS3Event(
      containerDeps(),
      s3Event('put-versioned.json'),
      REQUEST_ID,
    ).catch((error: unknown) => error);
    expect(one).toBeInstanceOf(TransientError);
    expect((one as Error).cause).toBeInstanceOf(TransientError);
    expect(((one as Error).cause as Error).cause).toBe(throttled);
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-b/worker')] });
    const several: unknown = await handleS3Event(
      containerDeps(),
      s3Event('put-several.json'),
      REQUEST_ID,
    ).catch((error: unknown) => error);
    expect((several as Error).cause).toBeInstanceOf(AggregateError);
  });
});

describe('logs', () => {
  it('keys every line of an upload with its bucket, key, version, repository, tag and build id', async () => {
    const deps = containerDeps();
    const appendKeys = vi.spyOn(deps.logger, 'appendKeys');
    const info = vi.spyOn(deps.logger, 'info');
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    expect(appendKeys).toHaveBeenCalledWith({
      bucket: BUCKET,
      key: VERSIONED.key,
      version: VERSIONED.versionId,
    });
    expect(appendKeys).toHaveBeenCalledWith({ repository: 'team-a/api', tag: 'v1.2.3' });
    expect(appendKeys).toHaveBeenCalledWith({ buildId: `${PROJECT}:b-1` });
    expect(info).toHaveBeenCalledWith('build started');
  });

  it('says which records were ignored and why, and which were duplicates, but not the ones it logged already', async () => {
    const deps = containerDeps();
    const info = vi.spyOn(deps.logger, 'info');
    await handleS3Event(deps, s3Event('put-other-bucket.json'), REQUEST_ID);
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    expect(info).toHaveBeenCalledWith('record ignored', { why: 'another bucket' });
    expect(info).toHaveBeenCalledWith('record duplicate', {});
    expect(info.mock.calls.filter(([message]) => String(message).startsWith('record '))).toHaveLength(2);
  });

  it('names the S3 test event it ignores', async () => {
    const deps = containerDeps();
    const info = vi.spyOn(deps.logger, 'info');
    await handleS3Event(deps, s3Event('test-event.json'), REQUEST_ID);
    expect(info).toHaveBeenCalledWith('event without records ignored', { s3Event: 's3:TestEvent' });
  });

  it('warns of a rejection with its code and reason', async () => {
    const deps = containerDeps();
    const warn = vi.spyOn(deps.logger, 'warn');
    const event = s3Event('put-versioned.json');
    Object.assign(event.Records[0]?.s3.object ?? {}, { size: 0 });
    await handleS3Event(deps, event, REQUEST_ID);
    expect(warn).toHaveBeenCalledWith('upload rejected', {
      code: 'EmptyContext',
      reason: 'the uploaded context is empty (0 bytes)',
    });
  });

  it('clears the keys of one record before the next', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-b/worker')] });
    const deps = containerDeps();
    const resetKeys = vi.spyOn(deps.logger, 'resetKeys');
    await handleS3Event(deps, s3Event('put-several.json'), REQUEST_ID).catch(() => undefined);
    expect(resetKeys).toHaveBeenCalledTimes(3);
  });

  it('logs a permanent failure, a transient one, and a claim or record it could not write back', async () => {
    const deps = containerDeps();
    const warn = vi.spyOn(deps.logger, 'warn');
    const error = vi.spyOn(deps.logger, 'error');
    codebuild.on(StartBuildCommand).rejects(awsError('ResourceNotFoundException', 400));
    s3.on(PutObjectCommand).resolvesOnce({ ETag: '"e-1"' }).rejects(awsError('AccessDenied', 403));
    await handleS3Event(deps, s3Event('put-versioned.json'), REQUEST_ID);
    expect(error).toHaveBeenCalledWith('upload not built: permanent error', expect.any(Error));
    expect(error).toHaveBeenCalledWith(
      'could not record the failure in the upload record',
      expect.any(Error),
    );

    const other = containerDeps();
    const otherWarn = vi.spyOn(other.logger, 'warn');
    s3.on(PutObjectCommand).resolves({ ETag: '"e-1"' });
    s3.on(DeleteObjectCommand).rejects(awsError('SlowDown', 503));
    codebuild.on(StartBuildCommand).rejects(awsError('ThrottlingException', 400));
    await expect(handleS3Event(other, s3Event('put-versioned.json'), REQUEST_ID)).rejects.toThrow(
      TransientError,
    );
    expect(otherWarn).toHaveBeenCalledWith(
      'could not release the upload claim; it holds until it expires',
      expect.any(Error),
    );
    expect(otherWarn).toHaveBeenCalledWith(
      'transient failure; Lambda will retry the event',
      expect.any(Error),
    );
    expect(warn).not.toHaveBeenCalled();
  });
});
