/**
 * Two uploads of one key in quick succession into a MUTABLE repository: the newer object version
 * ends up under the tag. The older build, still running when the newer upload lands, checks just
 * before pushing that its version is the newest of its key, and stops as superseded.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_TAGS } from '../../functions/shared/contract.ts';
import { contextKey } from '../../functions/shared/naming.ts';
import { installBaseImage } from '../../local/base-image.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import {
  buildsOf,
  clientsFor,
  keyPrefixOf,
  readExamples,
  registryPassword,
  sendContext,
  skopeoInspect,
  tarballOf,
  waitForOutcome,
} from '../../local/uploads.ts';

let cloud: LocalCloud;
let clients: ReturnType<typeof clientsFor>;
let ecr: ECRClient;

beforeAll(async () => {
  cloud = await startLocalCloud({ basePort: 0 });
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

describe('two uploads of one key into a mutable repository', () => {
  it('end with the newer version under the tag; the older build stops as superseded without pushing', async () => {
    const stack = cloud.deployment.functions.find((f) => f.env.STACK_NAME)?.env.STACK_NAME ?? '';
    await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'e2e/mutable',
        imageTagMutability: 'MUTABLE',
        tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: stack }],
      }),
    );
    const dir = readExamples().find((example) => example.name === 'immutable-tag')?.dir ?? '';
    const key = contextKey(keyPrefixOf(cloud), 'e2e/mutable', 'latest');
    const older = await sendContext(
      clients.s3,
      cloud.bucket,
      key,
      await tarballOf(dir, { 'v.txt': 'older\n' }),
    );
    // The newer upload lands while the older one's build runs.
    for (
      let i = 0;
      i < 300 && (await buildsOf(clients.codebuild, cloud.projectName, older)).length === 0;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const newer = await sendContext(
      clients.s3,
      cloud.bucket,
      key,
      await tarballOf(dir, { 'v.txt': 'newer\n' }),
    );
    expect(newer.versionId).not.toBe(older.versionId);

    const [first, second] = await Promise.all(
      [older, newer].map((up) => waitForOutcome(cloud, clients, keyPrefixOf(cloud), up)),
    );
    expect(second?.kind === 'built' && second.build.buildStatus).toBe('SUCCEEDED');
    expect(first?.kind === 'built' && first.build.buildStatus).toBe('FAILED');

    const image = await skopeoInspect(`${cloud.registry}/e2e/mutable:latest`, await registryPassword(ecr));
    expect(image.Labels['ecr-pipeline.context.version-id']).toBe(newer.versionId);
    // The failed build's notification carries the build's own reason line.
    const told = await cloud.sinks.waitFor(
      () =>
        cloud.sinks.slack
          .map((message) => JSON.stringify(message.body))
          .find((text) => text.includes('e2e/mutable:latest') && text.includes('superseded')),
      30_000,
    );
    expect(told).toContain(`a newer upload of ${key} exists (version ${newer.versionId})`);
  });
});

afterAll(async () => {
  ecr?.destroy();
  clients?.s3.destroy();
  clients?.codebuild.destroy();
  await cloud?.stop();
});
