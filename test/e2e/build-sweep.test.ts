/**
 * The sweeper against repositories made by real builds: with test thresholds (stale after one day,
 * no grace) and the ecr-events function's clock three days ahead, a managed repository is marked on
 * the first sweep and deleted on the next; an unmanaged one is never touched.
 */
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRelease } from '../../follow/upload.ts';
import { REPOSITORY_TAGS } from '../../functions/shared/contract.ts';
import { contextKey } from '../../functions/shared/naming.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import {
  clientsFor,
  identityOf,
  keyPrefixOf,
  readExamples,
  sendContext,
  tarballOf,
  waitForOutcome,
} from '../../local/uploads.ts';

const DAY_MS = 86_400_000;
let cloud: LocalCloud;
let clients: ReturnType<typeof clientsFor>;
let ecr: ECRClient;

beforeAll(async () => {
  cloud = await startLocalCloud({
    basePort: 0,
    functionEnv: {
      ecrEvents: {
        SWEEP_DRY_RUN: 'false',
        SWEEP_STALE_DAYS: '1',
        SWEEP_GRACE_DAYS: '0',
        // moto's Resource Groups Tagging API does not list ECR repositories.
        SWEEP_DISCOVERY: 'list-tags',
        LOCAL_CLOCK_OFFSET_MS: String(3 * DAY_MS),
      },
    },
  });
  await installBaseImage(cloud);
  clients = clientsFor(cloud);
  ecr = new ECRClient({
    region: cloud.region,
    endpoint: cloud.endpoint,
    credentials: clients.s3.config.credentials,
  });
});

afterAll(async () => {
  ecr?.destroy();
  clients?.s3.destroy();
  clients?.codebuild.destroy();
  await cloud?.stop();
});

async function repository(name: string) {
  try {
    const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return out.repositories?.[0];
  } catch (error) {
    if ((error as { name?: string }).name === 'RepositoryNotFoundException') return undefined;
    throw error;
  }
}

async function tags(arn: string) {
  const out = await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }));
  return Object.fromEntries((out.tags ?? []).map((tag) => [tag.Key, tag.Value]));
}

describe('the sweeper on built repositories', () => {
  it('marks a stale managed repository, deletes it after the grace period, never touches an unmanaged one', async () => {
    const example = readExamples().find((e) => e.name === 'copy-files');
    if (!example) throw new Error('no copy-files example');
    const body = await tarballOf(example.dir);
    const up = await sendContext(
      clients.s3,
      cloud.bucket,
      contextKey(keyPrefixOf(cloud), 'e2e/stale', 'v1'),
      body,
    );
    const outcome = await waitForOutcome(cloud, clients, keyPrefixOf(cloud), up);
    expect(outcome.kind === 'built' && outcome.build.buildStatus).toBe('SUCCEEDED');
    // The release moves the tag after the build's event: a push that clears a stale mark. The
    // sweep runs after it, as a day later it would (on a busy machine the event can come late).
    const release = await waitForRelease(clients, {
      prefix: keyPrefixOf(cloud),
      identity: identityOf(up),
      pollMs: 200,
      timeoutMs: 300_000,
    });
    expect(release.record?.status).toBe('released');
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'e2e/unmanaged' }));
    const managed = await repository('e2e/stale');
    expect(managed).toBeDefined();
    expect((await tags(managed?.repositoryArn ?? ''))[REPOSITORY_TAGS.managedBy]).toBeTruthy();
    await cloud.idle();

    await cloud.fireSchedule('ecrEvents');
    await cloud.idle();
    expect(cloud.failures).toEqual([]);
    const marked = await repository('e2e/stale');
    expect((await tags(marked?.repositoryArn ?? ''))[REPOSITORY_TAGS.staleSince]).toMatch(
      /^\d{4}-\d{2}-\d{2}$/,
    );
    const unmanagedAfterFirst = await repository('e2e/unmanaged');
    expect(await tags(unmanagedAfterFirst?.repositoryArn ?? '')).toEqual({});

    await cloud.fireSchedule('ecrEvents');
    await cloud.idle();
    expect(cloud.failures).toEqual([]);
    expect(await repository('e2e/stale')).toBeUndefined();
    expect(await repository('e2e/unmanaged')).toBeDefined();
    expect(await repository('library/busybox')).toBeDefined();
  });
});
