import { ECRClient, ListTagsForResourceCommand, UntagResourceCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { clearStaleMark } from '../../../../functions/ecr-events/sweep/stale-mark.ts';
import { REPOSITORY_TAGS } from '../../../../functions/shared/contract.ts';

const ecrMock = mockClient(ECRClient);
const ecr = new ECRClient({ region: 'us-west-2' });
const arn = 'arn:aws:ecr:us-west-2:123456789012:repository/team/web';
const o = {
  ecr,
  repository: 'team/web',
  region: 'us-west-2',
  account: '123456789012',
  stackName: 'ecr-pipeline-dev',
  dryRun: false,
};
const managed = { Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-dev' };
const marked = { Key: REPOSITORY_TAGS.staleSince, Value: '2026-11-01' };

beforeEach(() => ecrMock.reset());

describe('clearing the stale mark on push', () => {
  it('removes the stale-since tag of a marked managed repository', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [managed, marked] });
    await expect(clearStaleMark(o)).resolves.toBe('cleared');
    expect(ecrMock).toHaveReceivedCommandWith(UntagResourceCommand, {
      resourceArn: arn,
      tagKeys: [REPOSITORY_TAGS.staleSince],
    });
  });

  it('leaves an unmarked repository alone', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [managed] });
    await expect(clearStaleMark(o)).resolves.toBe('not-marked');
    expect(ecrMock).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('never touches a repository of another stack', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [{ ...managed, Value: 'other' }, marked] });
    await expect(clearStaleMark(o)).resolves.toBe('unmanaged');
    expect(ecrMock).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('changes nothing in a dry run', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [managed, marked] });
    await expect(clearStaleMark({ ...o, dryRun: true })).resolves.toBe('would-clear');
    expect(ecrMock).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('is done when the repository no longer exists', async () => {
    ecrMock
      .on(ListTagsForResourceCommand)
      .rejects(Object.assign(new Error('x'), { name: 'RepositoryNotFoundException' }));
    await expect(clearStaleMark(o)).resolves.toBe('gone');
  });

  it('uses the partition of the region', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [] });
    await clearStaleMark({ ...o, region: 'cn-north-1' });
    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: 'arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/web',
    });
  });

  it('uses the partition of a GovCloud region, and the commercial one elsewhere', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [] });
    await clearStaleMark({ ...o, region: 'us-gov-west-1' });
    await clearStaleMark({ ...o, region: 'eu-central-1' });
    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: 'arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/team/web',
    });
    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: 'arn:aws:ecr:eu-central-1:123456789012:repository/team/web',
    });
  });

  it('reads the tags of the repository by its ARN', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [managed] });
    await clearStaleMark(o);
    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, { resourceArn: arn });
  });

  it('treats a repository ECR lists no tags for as not managed', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({});
    await expect(clearStaleMark(o)).resolves.toBe('unmanaged');
    expect(ecrMock).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('removes a mark whose value is empty', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [managed, { ...marked, Value: '' }] });
    await expect(clearStaleMark(o)).resolves.toBe('cleared');
  });

  it('lets other errors through, for the platform to retry', async () => {
    ecrMock
      .on(ListTagsForResourceCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(clearStaleMark(o)).rejects.toThrow('denied');
  });
});
