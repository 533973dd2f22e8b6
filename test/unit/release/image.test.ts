import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../functions/release/errors.ts';
import { describeImage, moveTag, scanOf, scanOfEvent } from '../../../functions/release/image.ts';
import { awsError, DIGEST, ecrMock } from './helpers.ts';

const ecr = new ECRClient({ region: 'us-west-2' });
beforeEach(() => ecrMock.reset());

describe('scanOf', () => {
  it('reads a completed scan, basic or enhanced, with its counts', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findingSeverityCounts: { HIGH: 1, TOTAL: 1 } as Record<string, number> },
    });
    expect(await scanOf(ecr, 'team/web', DIGEST)).toEqual({ kind: 'complete', counts: { HIGH: 1 } });
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImageScanFindingsCommand, {
      repositoryName: 'team/web',
      imageId: { imageDigest: DIGEST },
    });
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'ACTIVE' } });
    expect(await scanOf(ecr, 'team/web', DIGEST)).toEqual({ kind: 'complete', counts: {} });
  });

  it('tells a failed scan, with its description, from a pending one', async () => {
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'UNSUPPORTED_IMAGE', description: 'an index' },
    });
    expect(await scanOf(ecr, 'r', DIGEST)).toEqual({
      kind: 'failed',
      status: 'UNSUPPORTED_IMAGE',
      description: 'an index',
    });
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'FAILED' } });
    expect(await scanOf(ecr, 'r', DIGEST)).toEqual({ kind: 'failed', status: 'FAILED' });
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({ imageScanStatus: { status: 'PENDING' } });
    expect(await scanOf(ecr, 'r', DIGEST)).toEqual({ kind: 'pending', status: 'PENDING' });
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({});
    expect(await scanOf(ecr, 'r', DIGEST)).toEqual({ kind: 'pending', status: 'UNKNOWN' });
    ecrMock.on(DescribeImageScanFindingsCommand).rejects(awsError('ScanNotFoundException', 400));
    expect(await scanOf(ecr, 'r', DIGEST)).toEqual({ kind: 'pending', status: 'NOT_STARTED' });
    ecrMock.on(DescribeImageScanFindingsCommand).rejects(awsError('ThrottlingException', 400));
    await expect(scanOf(ecr, 'r', DIGEST)).rejects.toBeInstanceOf(TransientError);
  });

  it('reads a scan event: complete, failed or neither', () => {
    expect(scanOfEvent('INITIAL_SCAN_COMPLETE', { LOW: 1 })).toEqual({
      kind: 'complete',
      counts: { LOW: 1 },
    });
    expect(scanOfEvent('COMPLETE', {})).toEqual({ kind: 'complete', counts: {} });
    expect(scanOfEvent('SCAN_ELIGIBILITY_EXPIRED', {})).toEqual({
      kind: 'failed',
      status: 'SCAN_ELIGIBILITY_EXPIRED',
    });
    expect(scanOfEvent('UNSUPPORTED_IMAGE_FAILED', {})).toEqual({
      kind: 'failed',
      status: 'UNSUPPORTED_IMAGE_FAILED',
    });
    expect(scanOfEvent('IN_PROGRESS', {})).toEqual({ kind: 'pending', status: 'IN_PROGRESS' });
  });
});

describe('describeImage and moveTag', () => {
  it('answers undefined for a missing image or repository, and classifies the rest', async () => {
    ecrMock.on(DescribeImagesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    expect(await describeImage(ecr, 'r', DIGEST)).toBeUndefined();
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: 'sha256:other' }] });
    expect(await describeImage(ecr, 'r', DIGEST)).toBeUndefined();
    ecrMock.on(DescribeImagesCommand).rejects(awsError('AccessDeniedException', 400));
    await expect(describeImage(ecr, 'r', DIGEST)).rejects.toBeInstanceOf(PermanentError);
  });

  it('refuses a manifest BatchGetImage does not give', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecrMock.on(BatchGetImageCommand).resolves({ images: [] });
    await expect(moveTag(ecr, 'r', DIGEST, 't')).rejects.toThrow(
      `BatchGetImage found no manifest of r@${DIGEST}`,
    );
    ecrMock.on(BatchGetImageCommand).rejects(awsError('ServerException', 500));
    await expect(moveTag(ecr, 'r', DIGEST, 't')).rejects.toBeInstanceOf(TransientError);
  });

  it('offers every manifest type and sends the media type back with PutImage', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecrMock
      .on(BatchGetImageCommand)
      .resolves({ images: [{ imageId: { imageDigest: DIGEST }, imageManifest: '{}' }] });
    ecrMock.on(PutImageCommand).resolves({});
    expect(await moveTag(ecr, 'r', DIGEST, 't')).toEqual({ kind: 'moved' });
    const offered = ecrMock.commandCalls(BatchGetImageCommand)[0]?.args[0].input.acceptedMediaTypes;
    expect([...(offered ?? [])].sort()).toEqual([
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.oci.image.index.v1+json',
      'application/vnd.oci.image.manifest.v1+json',
    ]);
    expect(ecrMock).toHaveReceivedCommandWith(PutImageCommand, {
      repositoryName: 'r',
      imageManifest: '{}',
      imageTag: 't',
      imageDigest: DIGEST,
    });
    expect(ecrMock.commandCalls(PutImageCommand)[0]?.args[0].input).not.toHaveProperty(
      'imageManifestMediaType',
    );
  });

  it('says what PutImage refused: a taken tag that names no image is an error, others are classified', async () => {
    ecrMock
      .on(DescribeImagesCommand, { imageIds: [{ imageDigest: DIGEST }] })
      .resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecrMock.on(DescribeImagesCommand, { imageIds: [{ imageTag: 't' }] }).resolves({ imageDetails: [] });
    ecrMock
      .on(BatchGetImageCommand)
      .resolves({ images: [{ imageId: { imageDigest: DIGEST }, imageManifest: '{}' }] });
    ecrMock.on(PutImageCommand).rejects(awsError('ImageTagAlreadyExistsException', 400));
    await expect(moveTag(ecr, 'r', DIGEST, 't')).rejects.toThrow(
      'PutImage refused r:t, but the tag names no image',
    );
    ecrMock.on(PutImageCommand).rejects(awsError('LayersNotFoundException', 400));
    await expect(moveTag(ecr, 'r', DIGEST, 't')).rejects.toThrow(/PutImage failed: LayersNotFoundException/);
    ecrMock.on(PutImageCommand).rejects(awsError('AccessDeniedException', 400));
    expect(await moveTag(ecr, 'r', DIGEST, 't')).toMatchObject({ kind: 'denied' });
  });
});
