/** Stage 1, discover: which repositories are candidates. */
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecr';
import { GetResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import { describe, expect, it, vi } from 'vitest';
import { discover } from '../../../../functions/ecr-events/sweep/discover.ts';
import { sweep } from '../../../../functions/ecr-events/sweep/sweep.ts';
import { REPOSITORY_TAGS } from '../../../../functions/shared/contract.ts';
import {
  ACCOUNT,
  arn,
  deps,
  ecr,
  ecrMock,
  image,
  images,
  managed,
  managedTags,
  notFound,
  options,
  repos,
  resetBeforeEach,
  STACK,
  tagging,
  taggingMock,
} from './fixtures.ts';

resetBeforeEach();

describe('which repositories are candidates', () => {
  it('asks the Tagging API only for repositories tagged as managed by this stack', async () => {
    repos();
    await sweep(options, deps());
    expect(taggingMock).toHaveReceivedCommandWith(GetResourcesCommand, {
      ResourceTypeFilters: ['ecr:repository'],
      TagFilters: [{ Key: REPOSITORY_TAGS.managedBy, Values: [STACK] }],
    });
  });

  it('never looks into an unmanaged repository or one managed by another stack (ListTagsForResource discovery)', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        { repositoryName: 'ours', repositoryArn: arn('ours'), registryId: ACCOUNT },
        { repositoryName: 'theirs', repositoryArn: arn('theirs'), registryId: ACCOUNT },
        { repositoryName: 'hand-made', repositoryArn: arn('hand-made'), registryId: ACCOUNT },
      ],
    });
    ecrMock
      .on(ListTagsForResourceCommand, { resourceArn: arn('ours') })
      .resolves({ tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: STACK }] })
      .on(ListTagsForResourceCommand, { resourceArn: arn('theirs') })
      .resolves({ tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-prod' }] })
      .on(ListTagsForResourceCommand, { resourceArn: arn('hand-made') })
      .resolves({ tags: [] });
    images('ours', image(200));
    images('theirs', image(200));
    images('hand-made', image(200));
    const loadTagging = vi.fn(async () => tagging);
    const report = await sweep({ ...options, discovery: 'list-tags' }, deps({ tagging: loadTagging }));
    expect(report.candidates).toBe(1);
    expect(loadTagging).not.toHaveBeenCalled();
    expect(report.marked).toEqual([{ repository: 'ours', note: expect.stringContaining('no push since') }]);
    expect(ecrMock).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImagesCommand, { repositoryName: 'ours' });
    expect(ecrMock).toHaveReceivedCommandTimes(TagResourceCommand, 1);
  });

  it('never touches a protected repository, by name or wildcard', async () => {
    repos(managed('team/keep-me'), managed('base'), managed('team/old'));
    images('team/old', image(200));
    const report = await sweep({ ...options, protectedPatterns: ['team/keep-*', 'base'] }, deps());
    expect(report.protected.map((r) => r.repository).sort()).toEqual(['base', 'team/keep-me']);
    expect(report.marked.map((r) => r.repository)).toEqual(['team/old']);
    expect(ecrMock).not.toHaveReceivedCommandWith(DescribeImagesCommand, { repositoryName: 'base' });
    expect(ecrMock).not.toHaveReceivedCommandWith(TagResourceCommand, { resourceArn: arn('base') });
  });

  it('ignores managed repositories outside the repository pattern', async () => {
    repos(managed('team/old'), managed('other/old'));
    images('team/old', image(200));
    images('other/old', image(200));
    const report = await sweep({ ...options, repositoryPattern: 'team/*' }, deps());
    expect(report.candidates).toBe(1);
    expect(ecrMock).not.toHaveReceivedCommandWith(DescribeImagesCommand, { repositoryName: 'other/old' });
  });
});

describe('discover, on its own', () => {
  it('reports a repository whose tags cannot be read, skips one that vanished, and keeps going', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: ['ours', 'denied', 'vanished'].map((name) => ({
        repositoryName: name,
        repositoryArn: arn(name),
        registryId: ACCOUNT,
      })),
    });
    ecrMock
      .on(ListTagsForResourceCommand, { resourceArn: arn('ours') })
      .resolves({ tags: managedTags() })
      .on(ListTagsForResourceCommand, { resourceArn: arn('denied') })
      .rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }))
      .on(ListTagsForResourceCommand, { resourceArn: arn('vanished') })
      .rejects(notFound());
    const found = await discover(
      { stackName: STACK, repositoryPattern: '*', discovery: 'list-tags', concurrency: 2 },
      { ecr, tagging: async () => tagging },
    );
    expect(found.candidates.map((c) => c.name)).toEqual(['ours']);
    expect(found.candidates[0]).toMatchObject({
      account: ACCOUNT,
      tags: { [REPOSITORY_TAGS.managedBy]: STACK },
    });
    expect(found.errors).toEqual([{ repository: 'denied', error: 'AccessDeniedException: no' }]);
  });

  it('reads the account and name from each ARN the Tagging API returns', async () => {
    repos(managed('team/a'), { ResourceARN: 'arn:aws:s3:::not-a-repository', Tags: managedTags() });
    const found = await discover(
      { stackName: STACK, repositoryPattern: '*', discovery: 'tagging-api', concurrency: 2 },
      { ecr, tagging: async () => tagging },
    );
    expect(found.candidates).toEqual([
      { name: 'team/a', arn: arn('team/a'), account: ACCOUNT, tags: { [REPOSITORY_TAGS.managedBy]: STACK } },
    ]);
    expect(taggingMock).toHaveReceivedCommandWith(GetResourcesCommand, { ResourcesPerPage: 100 });
  });

  it('reads the tags only of listed repositories in the pattern, whose name and ARN it knows (ListTagsForResource discovery)', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        { repositoryName: 'team/a', repositoryArn: arn('team/a') },
        { repositoryName: 'other/b', repositoryArn: arn('other/b'), registryId: ACCOUNT },
        { repositoryName: 'team/no-arn', registryId: ACCOUNT },
        { repositoryArn: arn('team/no-name'), registryId: ACCOUNT },
      ],
    });
    ecrMock.on(ListTagsForResourceCommand, { resourceArn: arn('team/a') }).resolves({ tags: managedTags() });
    const found = await discover(
      { stackName: STACK, repositoryPattern: 'team/*', discovery: 'list-tags', concurrency: 2 },
      { ecr, tagging: async () => tagging },
    );
    expect(found).toEqual({
      candidates: [
        { name: 'team/a', arn: arn('team/a'), account: '', tags: { [REPOSITORY_TAGS.managedBy]: STACK } },
      ],
      errors: [],
    });
    expect(ecrMock).toHaveReceivedCommandTimes(ListTagsForResourceCommand, 1);
  });

  it('takes no repository from an ARN that only contains a repository ARN', async () => {
    repos(managed('team/a'), { ResourceARN: `arn:aws:s3:::bucket/${arn('team/b')}`, Tags: managedTags() });
    const found = await discover(
      { stackName: STACK, repositoryPattern: '*', discovery: 'tagging-api', concurrency: 2 },
      { ecr, tagging: async () => tagging },
    );
    expect(found.candidates.map((c) => c.name)).toEqual(['team/a']);
  });
});
