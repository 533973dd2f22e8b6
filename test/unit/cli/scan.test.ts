import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/errors.ts';
import { describeCounts, findingsAtOrAbove, waitForScan } from '../../../cli/scan.ts';
import { createClients } from '../../../cli/target.ts';

const s3 = mockClient(S3Client);
const ecr = mockClient(ECRClient);
const clients = createClients({ region: 'us-east-1' });
const noSuchKey = () => Object.assign(new Error('no'), { name: 'NoSuchKey' });
const wait = {
  clients,
  repository: 'team/api',
  digest: 'sha256:feed',
  pollMs: 1,
};

beforeEach(() => {
  s3.reset();
  ecr.reset();
  s3.on(GetObjectCommand).rejects(noSuchKey());
});

describe('waiting for the scan', () => {
  it('falls back to DescribeImages for basic scanning and polls until COMPLETE', async () => {
    ecr
      .on(DescribeImagesCommand)
      .resolvesOnce({ imageDetails: [{ imageScanStatus: { status: 'IN_PROGRESS' } }] })
      .resolves({
        imageDetails: [
          {
            imageScanStatus: { status: 'COMPLETE' },
            imageScanFindingsSummary: { findingSeverityCounts: { CRITICAL: 1, MEDIUM: 4 } },
          },
        ],
      });
    expect(await waitForScan(wait)).toEqual({ scanner: 'basic', counts: { CRITICAL: 1, MEDIUM: 4 } });
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'team/api',
      imageIds: [{ imageDigest: 'sha256:feed' }],
    });
  });

  it('takes an enhanced scan (ACTIVE) from ECR', async () => {
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        {
          imageScanStatus: { status: 'ACTIVE' },
          imageScanFindingsSummary: { findingSeverityCounts: { HIGH: 2 } },
        },
      ],
    });
    expect(await waitForScan(wait)).toEqual({ scanner: 'enhanced', counts: { HIGH: 2 } });
  });

  it('says a failed scan, and a scan that never came, plainly', async () => {
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [{ imageScanStatus: { status: 'UNSUPPORTED_IMAGE', description: 'index' } }],
    });
    await expect(waitForScan(wait)).rejects.toThrow(/ended UNSUPPORTED_IMAGE: index/);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{}] });
    let t = 0;
    await expect(waitForScan({ ...wait, timeoutMs: 5, now: () => (t += 10) })).rejects.toThrow(CliError);
  });
});

describe('the --fail-on gate', () => {
  it('takes its verdict from ECR, not from an upload record that says the scan was clean', async () => {
    // A record as an uploader who could write the state prefix would forge it: built, scan clean.
    const forged = {
      status: 'built',
      bucket: 'contexts',
      key: 'team/api/v1.tar.gz',
      digest: 'sha256:feed',
      scan: { status: 'COMPLETE', scanner: 'basic', counts: {}, at: '2026-12-03T09:00:00Z' },
      at: '2026-12-03T09:00:00Z',
    };
    s3.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => JSON.stringify(forged) },
    } as never);
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        {
          imageScanStatus: { status: 'COMPLETE' },
          imageScanFindingsSummary: { findingSeverityCounts: { CRITICAL: 2 } },
        },
      ],
    });
    const found = await waitForScan(wait);
    expect(found.counts).toEqual({ CRITICAL: 2 });
    expect(findingsAtOrAbove(found.counts, 'HIGH')).toEqual(['CRITICAL']);
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'team/api',
      imageIds: [{ imageDigest: 'sha256:feed' }],
    });
  });

  it.each([
    ['CRITICAL', { HIGH: 3 }, []],
    ['HIGH', { HIGH: 3, LOW: 1 }, ['HIGH']],
    ['LOW', { CRITICAL: 1, LOW: 1, INFORMATIONAL: 9 }, ['CRITICAL', 'LOW']],
    ['INFORMATIONAL', { UNDEFINED: 2 }, []],
  ] as const)('at %s with %j fails on %j', (threshold, counts, expected) => {
    expect(findingsAtOrAbove(counts, threshold)).toEqual(expected);
  });

  it('prints counts highest first', () => {
    expect(describeCounts({ LOW: 1, CRITICAL: 2, UNDEFINED: 1 })).toBe('CRITICAL 2, LOW 1, UNDEFINED 1');
    expect(describeCounts({})).toBe('no findings');
  });
});
