/** What the sweeper reads of one repository: its tags, and its last push and pull over every image. */
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import type { Candidate } from '../../../../functions/ecr-events/sweep/model.ts';
import { readActivity, readTags, tagRecord } from '../../../../functions/ecr-events/sweep/read.ts';
import { ACCOUNT, arn, daysAgo, ecr, ecrMock, NOW, notFound, resetBeforeEach } from './fixtures.ts';

resetBeforeEach();

const candidate = (name: string, extra: Partial<Candidate> = {}): Candidate => ({
  name,
  arn: arn(name),
  account: ACCOUNT,
  tags: {},
  ...extra,
});

describe('tags', () => {
  it('keeps every tag with a key, an absent value as empty', () => {
    expect(tagRecord([{ Key: 'a', Value: '1' }, { Key: 'b' }, { Value: 'orphan' }])).toEqual({
      a: '1',
      b: '',
    });
    expect(tagRecord(undefined)).toEqual({});
  });

  it("reads a repository's tags by its ARN", async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [{ Key: 'team', Value: 'web' }] });
    expect(await readTags(ecr, arn('team/web'))).toEqual({ team: 'web' });
    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, { resourceArn: arn('team/web') });
  });
});

describe('activity', () => {
  it('takes the latest push and the latest pull over every page, in the registry of the repository', async () => {
    ecrMock
      .on(DescribeImagesCommand)
      .resolvesOnce({
        imageDetails: [
          { imagePushedAt: daysAgo(30), lastRecordedPullTime: daysAgo(2) },
          { imagePushedAt: daysAgo(10) },
        ],
        nextToken: 'n2',
      })
      .resolvesOnce({ imageDetails: [{ imagePushedAt: daysAgo(20), lastRecordedPullTime: daysAgo(5) }] });
    expect(await readActivity(ecr, candidate('web'), NOW)).toEqual({
      lastPush: daysAgo(10),
      lastPull: daysAgo(2),
    });
    expect(ecrMock).toHaveReceivedNthCommandWith(DescribeImagesCommand, 1, {
      repositoryName: 'web',
      registryId: ACCOUNT,
      maxResults: 1000,
    });
    expect(ecrMock).toHaveReceivedNthCommandWith(DescribeImagesCommand, 2, { nextToken: 'n2' });
    expect(ecrMock).not.toHaveReceivedCommand(DescribeRepositoriesCommand);
  });

  it('leaves the registry to the caller when the account is unknown, and has no pull when none was recorded', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imagePushedAt: daysAgo(3) }] });
    expect(await readActivity(ecr, candidate('web', { account: '' }), NOW)).toEqual({
      lastPush: daysAgo(3),
      lastPull: undefined,
    });
    expect(ecrMock.commandCalls(DescribeImagesCommand)[0]?.args[0].input.registryId).toBeUndefined();
  });

  it('reads times given as text or numbers, and counts what is not a time as never', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [
        {
          imagePushedAt: daysAgo(9).toISOString() as never,
          lastRecordedPullTime: daysAgo(4).getTime() as never,
        },
        { imagePushedAt: 'not a time' as never, lastRecordedPullTime: { at: 1 } as never },
        { imagePushedAt: daysAgo(20), lastRecordedPullTime: true as never },
      ],
    });
    expect(await readActivity(ecr, candidate('web'), NOW)).toEqual({
      lastPush: daysAgo(9),
      lastPull: daysAgo(4),
    });
  });

  it('has no pull when the only pull time recorded is not a time', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [{ imagePushedAt: daysAgo(3), lastRecordedPullTime: true as never }],
    });
    expect(await readActivity(ecr, candidate('web'), NOW)).toEqual({
      lastPush: daysAgo(3),
      lastPull: undefined,
    });
  });

  it('counts an empty repository from its creation, as discovery found it', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    expect(await readActivity(ecr, candidate('empty', { createdAt: daysAgo(40) }), NOW)).toEqual({
      lastPush: daysAgo(40),
      lastPull: undefined,
    });
    expect(ecrMock).not.toHaveReceivedCommand(DescribeRepositoriesCommand);
  });

  it('asks ECR when an empty repository was created when discovery did not say', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({});
    ecrMock.on(DescribeRepositoriesCommand).resolves({ repositories: [{ createdAt: daysAgo(50) }] });
    expect(await readActivity(ecr, candidate('empty'), NOW)).toEqual({
      lastPush: daysAgo(50),
      lastPull: undefined,
    });
    expect(ecrMock).toHaveReceivedCommandWith(DescribeRepositoriesCommand, { repositoryNames: ['empty'] });
  });

  it('treats an empty repository of unknown creation as just created, the safe side', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    ecrMock.on(DescribeRepositoriesCommand).resolves({ repositories: [] });
    expect(await readActivity(ecr, candidate('empty'), NOW)).toEqual({ lastPush: NOW, lastPull: undefined });
    ecrMock.on(DescribeRepositoriesCommand).resolves({});
    expect(await readActivity(ecr, candidate('empty'), NOW)).toEqual({ lastPush: NOW, lastPull: undefined });
  });

  it('is undefined for a repository deleted since discovery, and throws other errors', async () => {
    ecrMock.on(DescribeImagesCommand).rejects(notFound());
    expect(await readActivity(ecr, candidate('gone'), NOW)).toBeUndefined();
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    ecrMock.on(DescribeRepositoriesCommand).rejects(notFound());
    expect(await readActivity(ecr, candidate('gone'), NOW)).toBeUndefined();
    ecrMock
      .on(DescribeImagesCommand)
      .rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    await expect(readActivity(ecr, candidate('web'), NOW)).rejects.toThrow('no');
  });
});
