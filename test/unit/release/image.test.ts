import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../functions/release/errors.ts';
import {
  describeImage,
  digestOfTag,
  moveTag,
  scanOf,
  scanOfEvent,
} from '../../../functions/release/image.ts';
import { awsError, DIGEST, ecrMock, OTHER_DIGEST } from './helpers.ts';

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
    await expect(scanOf(ecr, 'r', DIGEST)).rejects.toThrow(
      new TransientError('DescribeImageScanFindings failed: ThrottlingException: ThrottlingException (test)'),
    );
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
    await expect(moveTag(ecr, 'r', DIGEST, 't')).rejects.toThrow(
      new TransientError('BatchGetImage failed: ServerException: ServerException (test)'),
    );
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

  it('describes the image by its digest, and picks the detail of that digest', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [{ imageDigest: OTHER_DIGEST }, { imageDigest: DIGEST, imageTags: ['a'] }],
    });
    expect(await describeImage(ecr, 'team/web', DIGEST)).toEqual({ imageDigest: DIGEST, imageTags: ['a'] });
    expect(ecrMock.commandCalls(DescribeImagesCommand)[0]?.args[0].input).toEqual({
      repositoryName: 'team/web',
      imageIds: [{ imageDigest: DIGEST }],
    });
    ecrMock.on(DescribeImagesCommand).resolves({});
    expect(await describeImage(ecr, 'team/web', DIGEST)).toBeUndefined();
    ecrMock.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
    expect(await describeImage(ecr, 'team/web', DIGEST)).toBeUndefined();
    ecrMock.on(DescribeImagesCommand).rejects(awsError('ThrottlingException', 400));
    await expect(describeImage(ecr, 'team/web', DIGEST)).rejects.toThrow(
      new TransientError('DescribeImages failed: ThrottlingException: ThrottlingException (test)'),
    );
  });

  it('reads the digest a tag names, undefined when none', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: OTHER_DIGEST }] });
    expect(await digestOfTag(ecr, 'team/web', 'v1')).toBe(OTHER_DIGEST);
    expect(ecrMock.commandCalls(DescribeImagesCommand)[0]?.args[0].input).toEqual({
      repositoryName: 'team/web',
      imageIds: [{ imageTag: 'v1' }],
    });
    ecrMock.on(DescribeImagesCommand).resolves({});
    expect(await digestOfTag(ecr, 'team/web', 'v1')).toBeUndefined();
    ecrMock.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
    expect(await digestOfTag(ecr, 'team/web', 'v1')).toBeUndefined();
    ecrMock.on(DescribeImagesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    expect(await digestOfTag(ecr, 'team/web', 'v1')).toBeUndefined();
    ecrMock.on(DescribeImagesCommand).rejects(awsError('AccessDeniedException', 400));
    await expect(digestOfTag(ecr, 'team/web', 'v1')).rejects.toThrow(
      new PermanentError('DescribeImages failed: AccessDeniedException: AccessDeniedException (test)'),
    );
  });

  it('writes nothing when the tag names the image already', async () => {
    ecrMock
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: DIGEST, imageTags: ['x', 't'] }] });
    expect(await moveTag(ecr, 'r', DIGEST, 't')).toEqual({ kind: 'already' });
    expect(ecrMock.commandCalls(BatchGetImageCommand)).toHaveLength(0);
    expect(ecrMock.commandCalls(PutImageCommand)).toHaveLength(0);
  });

  it('puts the manifest of the digest, with its media type, and falls back to the only image given', async () => {
    ecrMock
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: DIGEST, imageTags: ['other'] }] });
    ecrMock.on(BatchGetImageCommand).resolves({
      images: [
        { imageId: { imageDigest: OTHER_DIGEST }, imageManifest: '{"other":1}' },
        {
          imageId: { imageDigest: DIGEST },
          imageManifest: '{"mine":1}',
          imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
      ],
    });
    ecrMock.on(PutImageCommand).resolves({});
    expect(await moveTag(ecr, 'r', DIGEST, 't')).toEqual({ kind: 'moved' });
    expect(ecrMock.commandCalls(BatchGetImageCommand)[0]?.args[0].input).toMatchObject({
      repositoryName: 'r',
      imageIds: [{ imageDigest: DIGEST }],
    });
    expect(ecrMock.commandCalls(PutImageCommand)[0]?.args[0].input).toEqual({
      repositoryName: 'r',
      imageManifest: '{"mine":1}',
      imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      imageTag: 't',
      imageDigest: DIGEST,
    });
    ecrMock.reset();
    ecrMock.on(DescribeImagesCommand).resolves({});
    ecrMock.on(BatchGetImageCommand).resolves({ images: [{ imageManifest: '{"only":1}' }] });
    ecrMock.on(PutImageCommand).resolves({});
    expect(await moveTag(ecr, 'r', DIGEST, 't')).toEqual({ kind: 'moved' });
    expect(ecrMock.commandCalls(PutImageCommand)[0]?.args[0].input.imageManifest).toBe('{"only":1}');
    ecrMock.on(BatchGetImageCommand).resolves({});
    await expect(moveTag(ecr, 'r', DIGEST, 't')).rejects.toThrow(
      new PermanentError(`BatchGetImage found no manifest of r@${DIGEST}`),
    );
  });

  it('says a repository the stack does not manage denied the read or the write', async () => {
    const denied = {
      kind: 'denied',
      reason:
        'repository "r" is not managed by this stack (no managed-by tag): the release may move tags only in the stack\'s repositories',
    };
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecrMock.on(BatchGetImageCommand).rejects(awsError('AccessDeniedException', 400));
    expect(await moveTag(ecr, 'r', DIGEST, 't')).toEqual(denied);
    expect(ecrMock.commandCalls(PutImageCommand)).toHaveLength(0);
    ecrMock
      .on(BatchGetImageCommand)
      .resolves({ images: [{ imageId: { imageDigest: DIGEST }, imageManifest: '{}' }] });
    ecrMock.on(PutImageCommand).rejects(awsError('AccessDeniedException', 400));
    expect(await moveTag(ecr, 'r', DIGEST, 't')).toEqual(denied);
  });

  it('tells a tag taken by another image from one a concurrent release put on this image', async () => {
    ecrMock
      .on(DescribeImagesCommand, { imageIds: [{ imageDigest: DIGEST }] })
      .resolves({ imageDetails: [{ imageDigest: DIGEST }] });
    ecrMock
      .on(BatchGetImageCommand)
      .resolves({ images: [{ imageId: { imageDigest: DIGEST }, imageManifest: '{}' }] });
    for (const refusal of ['ImageTagAlreadyExistsException', 'ImageAlreadyExistsException']) {
      ecrMock.on(PutImageCommand).rejects(awsError(refusal, 400));
      ecrMock
        .on(DescribeImagesCommand, { imageIds: [{ imageTag: 't' }] })
        .resolves({ imageDetails: [{ imageDigest: OTHER_DIGEST }] });
      expect(await moveTag(ecr, 'r', DIGEST, 't')).toEqual({ kind: 'taken', existingDigest: OTHER_DIGEST });
      ecrMock
        .on(DescribeImagesCommand, { imageIds: [{ imageTag: 't' }] })
        .resolves({ imageDetails: [{ imageDigest: DIGEST }] });
      expect(await moveTag(ecr, 'r', DIGEST, 't')).toEqual({ kind: 'already' });
    }
  });
});
