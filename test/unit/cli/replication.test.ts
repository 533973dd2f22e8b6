import { DescribeImageReplicationStatusCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { replicationLines } from '../../../cli/replication.ts';

const ecr = new ECRClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const ecrMock = mockClient(ecr);
const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';

beforeEach(() => ecrMock.reset());

describe('status: replication of a built image', () => {
  it('prints one line per destination, with the failure code of a failed one', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves({
      repositoryName: 'team-a/api',
      imageId: { imageDigest: DIGEST },
      replicationStatuses: [
        { region: 'eu-west-1', registryId: '123456789012', status: 'COMPLETE' },
        {
          region: 'us-west-2',
          registryId: '210987654321',
          status: 'FAILED',
          failureCode: 'REPOSITORY_LIMIT_EXCEEDED',
        },
        { region: 'ap-south-1', registryId: '123456789012', status: 'IN_PROGRESS' },
      ],
    });
    expect(await replicationLines(ecr, 'team-a/api', DIGEST)).toEqual([
      'replica  eu-west-1 (123456789012)  COMPLETE',
      'replica  us-west-2 (210987654321)  FAILED: REPOSITORY_LIMIT_EXCEEDED',
      'replica  ap-south-1 (123456789012)  IN_PROGRESS',
    ]);
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImageReplicationStatusCommand, {
      repositoryName: 'team-a/api',
      imageId: { imageDigest: DIGEST },
    });
  });

  it('says when no replication rule covers the repository', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves({ replicationStatuses: [] });
    expect(await replicationLines(ecr, 'team-a/api', DIGEST)).toEqual([
      'replicas none (no replication rule covers this repository)',
    ]);
  });

  it('says why in one line, and does not fail, when the status cannot be read', async () => {
    ecrMock
      .on(DescribeImageReplicationStatusCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    expect(await replicationLines(ecr, 'team-a/api', DIGEST)).toEqual([
      'replicas unknown: not allowed (ecr:DescribeImageReplicationStatus)',
    ]);
    ecrMock.on(DescribeImageReplicationStatusCommand).rejects(
      Object.assign(new Error('Internal Server Error'), {
        name: 'InternalServerError',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    expect(await replicationLines(ecr, 'team-a/api', DIGEST)).toEqual([
      'replicas unknown: this endpoint does not answer DescribeImageReplicationStatus',
    ]);
  });
});
