/** The parts of the registry front on their own: image records, events, access, the tag lock, ECR corrections. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchDeleteImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  PutImageCommand,
  StartImageScanCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RegistryAccess } from '../../../../local/registry/access.ts';
import type { RegistryBackend } from '../../../../local/registry/backend.ts';
import { EcrCorrections } from '../../../../local/registry/ecr-hook.ts';
import {
  bestEffort,
  type EventEntry,
  imageAction,
  imageScan,
} from '../../../../local/registry/image-events.ts';
import { ImageRecords } from '../../../../local/registry/images.ts';
import { isReferrer, KeyedLock } from '../../../../local/registry/push.ts';
import { ScanOnPush } from '../../../../local/registry/scans.ts';

const ecrMock = mockClient(ECRClient);
beforeEach(() => ecrMock.reset());

const MANIFEST = JSON.stringify({ layers: [{ size: 10 }, { size: 5 }] });

describe('ImageRecords', () => {
  it('writes size, last pull and scan into DescribeImages details of the same repository only', () => {
    const images = new ImageRecords();
    images.pushed('app', 'sha256:a', MANIFEST);
    images.pulled('app', 'sha256:a', new Date(2_000));
    images.scanned('app', 'sha256:a', {
      status: 'COMPLETE',
      completedAt: new Date(3_000),
      counts: { HIGH: 1 },
    });
    const details: Array<Record<string, unknown>> = [
      { imageDigest: 'sha256:a' },
      { imageDigest: 'sha256:b' },
    ];
    images.describe('app', details);
    expect(details).toEqual([
      {
        imageDigest: 'sha256:a',
        imageSizeInBytes: 15,
        lastRecordedPullTime: 2,
        imageScanStatus: { status: 'COMPLETE', description: 'The scan was completed successfully.' },
        imageScanFindingsSummary: { imageScanCompletedAt: 3, findingSeverityCounts: { HIGH: 1 } },
      },
      { imageDigest: 'sha256:b' },
    ]);
    const other = [{ imageDigest: 'sha256:a' }];
    images.describe('other', other);
    expect(other).toEqual([{ imageDigest: 'sha256:a' }]);
    images.forgetRepository('app');
    const after = [{ imageDigest: 'sha256:a' }];
    images.describe('app', after);
    expect(after).toEqual([{ imageDigest: 'sha256:a' }]);
  });
});

describe('ECR image events', () => {
  it('write the action and scan events as ECR puts them', () => {
    expect(JSON.parse(imageAction('PUSH', 'app', 'sha256:a', 'v1').Detail)).toEqual({
      result: 'SUCCESS',
      'repository-name': 'app',
      'image-digest': 'sha256:a',
      'action-type': 'PUSH',
      'image-tag': 'v1',
    });
    const scan = imageScan({ status: 'FAILED', name: 'app', digest: 'sha256:a', tags: [], counts: {} });
    expect(scan).toMatchObject({ Source: 'aws.ecr', DetailType: 'ECR Image Scan', Resources: [] });
  });

  it('are put best effort: a failing PutEvents is logged, not thrown', async () => {
    const lines: string[] = [];
    const emit = bestEffort(
      async () => {
        throw new Error('bus down');
      },
      (line) => lines.push(line),
    );
    await emit([imageAction('DELETE', 'app', 'sha256:a')]);
    expect(lines).toEqual(['registry: could not put 1 ECR event(s): Error: bus down']);
  });
});

describe('RegistryAccess', () => {
  const request = (user: string, password: string) =>
    ({
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
    }) as unknown as IncomingMessage;

  it('lets in user AWS with the password GetAuthorizationToken gives, asking ECR once', async () => {
    ecrMock.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [{ authorizationToken: Buffer.from('AWS:secret:with:colons').toString('base64') }],
    });
    const access = new RegistryAccess(new ECRClient({ region: 'us-east-1' }));
    expect(await access.caller(request('AWS', 'secret:with:colons'))).toEqual({ kind: 'console' });
    expect(await access.caller(request('AWS', 'wrong'))).toBeUndefined();
    expect(await access.caller(request('other', 'secret:with:colons'))).toBeUndefined();
    expect(await access.caller({ headers: {} } as IncomingMessage)).toBeUndefined();
    expect(ecrMock.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
  });

  it('finds no repository where ECR has none', async () => {
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejects(Object.assign(new Error('none'), { name: 'RepositoryNotFoundException' }));
    const access = new RegistryAccess(new ECRClient({ region: 'us-east-1' }));
    expect(await access.repository('missing')).toBeUndefined();
  });
});

describe('KeyedLock', () => {
  it('runs work of one key one at a time, in order, even after a failure', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    let release = () => {};
    const first = lock.run('k', async () => {
      order.push('first');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      throw new Error('failed');
    });
    const second = lock.run('k', async () => {
      order.push('second');
    });
    await Promise.resolve();
    expect(order).toEqual(['first']);
    release();
    await expect(first).rejects.toThrow('failed');
    await second;
    expect(order).toEqual(['first', 'second']);
  });
});

describe('EcrCorrections', () => {
  const OCI = 'application/vnd.oci.image.manifest.v1+json';
  const manifestOf = (n: number) =>
    JSON.stringify({ schemaVersion: 2, mediaType: OCI, layers: [{ size: n }] });
  const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

  const setup = (registry: { putStatus?: number; tagged?: Record<string, string> } = {}) => {
    const deleted: string[] = [];
    const stored: Array<{ name: string; reference: string; body: string; mediaType: string }> = [];
    const events: EventEntry[] = [];
    const storage = mkdtempSync(join(tmpdir(), 'ecr-hook-'));
    const backend = {
      deleteManifest: async (name: string, digest: string) => {
        deleted.push(`${name}@${digest}`);
      },
      putManifest: async (name: string, reference: string, body: Buffer, mediaType: string) => {
        stored.push({ name, reference, body: body.toString('utf8'), mediaType });
        return { status: registry.putStatus ?? 201, text: '{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}' };
      },
      manifest: async (_name: string, reference: string) => {
        const text = registry.tagged?.[reference];
        return text ? { digest: digestOf(text), mediaType: OCI, body: Buffer.from(text) } : undefined;
      },
    } as unknown as RegistryBackend;
    const corrections = new EcrCorrections({
      ecr: new ECRClient({ region: 'us-east-1' }),
      backend,
      images: new ImageRecords(),
      storage,
      emit: async (entries) => {
        events.push(...entries);
      },
      now: () => 1_000_000,
    });
    return { corrections, deleted, stored, events, storage };
  };
  const detailsOf = (events: EventEntry[]) => events.map((event) => JSON.parse(event.Detail));

  it('gives authorization tokens a 12-hour expiry', async () => {
    const { corrections } = setup();
    const out = await corrections.correct(
      'GetAuthorizationToken',
      {},
      { authorizationData: [{ expiresAt: 1 }] },
    );
    expect(out).toEqual({ authorizationData: [{ expiresAt: 1000 + 12 * 3600 }] });
  });

  it('stores the manifest of a PutImage moto accepted under its tag in the registry, with the PUSH event ECR emits', async () => {
    const manifest = manifestOf(1);
    const { corrections, stored, events } = setup();
    const output = { image: { imageId: { imageDigest: digestOf(manifest), imageTag: 'v1' } } };
    const out = await corrections.correct(
      'PutImage',
      { repositoryName: 'app', imageManifest: manifest, imageTag: 'v1', imageDigest: digestOf(manifest) },
      output,
    );
    expect(out).toBe(output);
    expect(stored).toEqual([{ name: 'app', reference: 'v1', body: manifest, mediaType: OCI }]);
    expect(detailsOf(events)).toEqual([
      {
        result: 'SUCCESS',
        'repository-name': 'app',
        'image-digest': digestOf(manifest),
        'action-type': 'PUSH',
        'image-tag': 'v1',
      },
    ]);
    // Nothing was taken back from moto.
    expect(ecrMock.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });

  it('stores an untagged PutImage by its digest, with the media type given', async () => {
    const manifest = manifestOf(2);
    const { corrections, stored } = setup();
    await corrections.correct(
      'PutImage',
      { repositoryName: 'app', imageManifest: manifest, imageManifestMediaType: 'application/x-given' },
      {},
    );
    expect(stored).toEqual([
      { name: 'app', reference: digestOf(manifest), body: manifest, mediaType: 'application/x-given' },
    ]);
  });

  it('puts back, untagged, the image a moved tag left when moto dropped it', async () => {
    const old = manifestOf(1);
    const manifest = manifestOf(2);
    ecrMock
      .on(DescribeImagesCommand)
      .rejects(Object.assign(new Error('none'), { name: 'ImageNotFoundException' }));
    ecrMock.on(PutImageCommand).resolves({});
    const { corrections } = setup({ tagged: { v1: old } });
    await corrections.correct(
      'PutImage',
      { repositoryName: 'app', imageManifest: manifest, imageTag: 'v1' },
      {},
    );
    expect(ecrMock).toHaveReceivedCommandWith(PutImageCommand, {
      repositoryName: 'app',
      imageManifest: old,
      imageDigest: digestOf(old),
      imageManifestMediaType: OCI,
    });
    expect(ecrMock.commandCalls(PutImageCommand)[0]?.args[0].input.imageTag).toBeUndefined();
  });

  it('leaves the image a moved tag left alone when moto still has it', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: 'sha256:old' }] });
    const { corrections } = setup({ tagged: { v1: manifestOf(1) } });
    await corrections.correct(
      'PutImage',
      { repositoryName: 'app', imageManifest: manifestOf(2), imageTag: 'v1' },
      {},
    );
    expect(ecrMock.commandCalls(PutImageCommand)).toHaveLength(0);
  });

  it('refuses a PutImage whose layers the registry lacks as ECR does, and takes it back from moto', async () => {
    ecrMock.on(BatchDeleteImageCommand).resolves({});
    const { corrections, events } = setup({ putStatus: 400 });
    await expect(
      corrections.correct(
        'PutImage',
        { repositoryName: 'app', imageManifest: manifestOf(3), imageTag: 'v1' },
        {},
      ),
    ).rejects.toMatchObject({ errorType: 'LayersNotFoundException', message: /MANIFEST_BLOB_UNKNOWN/ });
    expect(ecrMock).toHaveReceivedCommandWith(BatchDeleteImageCommand, {
      repositoryName: 'app',
      imageIds: [{ imageTag: 'v1' }],
    });
    expect(events).toEqual([]);
  });

  it('refuses a PutImage whose digest is not its manifest’s, storing nothing in the registry', async () => {
    ecrMock.on(BatchDeleteImageCommand).resolves({});
    const { corrections, stored } = setup();
    const forged = `sha256:${'0'.repeat(64)}`;
    await expect(
      corrections.correct(
        'PutImage',
        { repositoryName: 'app', imageManifest: manifestOf(4), imageDigest: forged },
        {},
      ),
    ).rejects.toMatchObject({ errorType: 'ImageDigestDoesNotMatchException' });
    expect(stored).toEqual([]);
    expect(ecrMock).toHaveReceivedCommandWith(BatchDeleteImageCommand, {
      imageIds: [{ imageDigest: forged }],
    });
  });

  it('deletes from the registry the images BatchDeleteImage left without any tag, with a DELETE event per id', async () => {
    ecrMock
      .on(DescribeImagesCommand, { imageIds: [{ imageDigest: 'sha256:gone' }] })
      .rejects(Object.assign(new Error('none'), { name: 'ImageNotFoundException' }))
      .on(DescribeImagesCommand, { imageIds: [{ imageDigest: 'sha256:kept' }] })
      .resolves({ imageDetails: [{ imageDigest: 'sha256:kept' }] });
    const { corrections, deleted, events } = setup();
    await corrections.correct(
      'BatchDeleteImage',
      { repositoryName: 'app' },
      {
        imageIds: [
          { imageDigest: 'sha256:gone', imageTag: 'v1' },
          { imageDigest: 'sha256:kept', imageTag: 'v2' },
        ],
      },
    );
    expect(deleted).toEqual(['app@sha256:gone']);
    expect(events.map((event) => JSON.parse(event.Detail)['image-tag'])).toEqual(['v1', 'v2']);
  });

  it('takes a tag BatchDeleteImage removed out of the registry storage, never a path a tag cannot be', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageDigest: 'sha256:kept' }] });
    const { corrections, storage } = setup();
    const tags = join(storage, 'docker/registry/v2/repositories/app/_manifests/tags');
    mkdirSync(join(tags, 'v2/current'), { recursive: true });
    mkdirSync(join(tags, 'v3/current'), { recursive: true });
    await corrections.correct(
      'BatchDeleteImage',
      { repositoryName: 'app' },
      {
        imageIds: [
          { imageDigest: 'sha256:kept', imageTag: 'v2' },
          { imageDigest: 'sha256:kept', imageTag: '..' },
        ],
      },
    );
    expect(existsSync(join(tags, 'v2'))).toBe(false);
    expect(existsSync(join(tags, 'v3'))).toBe(true);
    expect(existsSync(tags)).toBe(true);
    rmSync(storage, { recursive: true, force: true });
  });
});

describe('ScanOnPush without a scanner', () => {
  const setup = () => {
    const events: EventEntry[] = [];
    const lines: string[] = [];
    const images = new ImageRecords();
    const scans = new ScanOnPush({
      scanner: undefined,
      ecr: new ECRClient({ region: 'us-east-1' }),
      access: {} as RegistryAccess,
      images,
      port: 0,
      emit: async (entries) => {
        events.push(...entries);
      },
      log: (line) => lines.push(line),
    });
    return { scans, events, lines, images };
  };
  const SCANNING = { repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/app' };

  it("reports the result moto's ECR gives as the image's scan, labelled as moto's in the log", async () => {
    ecrMock.on(StartImageScanCommand).resolves({});
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findingSeverityCounts: { HIGH: 1 } },
    });
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['v1'] }] });
    const { scans, events, lines, images } = setup();
    scans.pushed('app', 'sha256:a', { ...SCANNING, imageScanningConfiguration: { scanOnPush: true } });
    await scans.done();
    expect(ecrMock).toHaveReceivedCommandWith(StartImageScanCommand, {
      repositoryName: 'app',
      imageId: { imageDigest: 'sha256:a' },
    });
    expect(events.map((e) => [e.DetailType, JSON.parse(e.Detail), e.Resources])).toEqual([
      [
        'ECR Image Scan',
        {
          'scan-status': 'COMPLETE',
          'repository-name': 'app',
          'image-digest': 'sha256:a',
          'image-tags': ['v1'],
          'finding-severity-counts': { HIGH: 1 },
        },
        [SCANNING.repositoryArn],
      ],
    ]);
    expect(lines).toEqual([expect.stringContaining("moto's reported result, not a scan of the image")]);
    const details: Array<Record<string, unknown>> = [{ imageDigest: 'sha256:a' }];
    images.describe('app', details);
    expect(details[0]?.imageScanFindingsSummary).toMatchObject({ findingSeverityCounts: { HIGH: 1 } });
  });

  it('reads the result moto already has when it refuses a second scan of the day', async () => {
    ecrMock
      .on(StartImageScanCommand)
      .rejects(Object.assign(new Error('once a day'), { name: 'LimitExceededException' }));
    ecrMock.on(DescribeImageScanFindingsCommand).resolves({
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findingSeverityCounts: {} },
    });
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    const { scans, events } = setup();
    scans.pushed('app', 'sha256:a', { imageScanningConfiguration: { scanOnPush: true } });
    await scans.done();
    expect(JSON.parse(events[0]?.Detail ?? '{}')['scan-status']).toBe('COMPLETE');
  });

  it('reports a scan moto could not give as FAILED, and scans nothing where scan on push is off', async () => {
    ecrMock.on(StartImageScanCommand).rejects(Object.assign(new Error('down'), { name: 'ServerException' }));
    ecrMock.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    const { scans, events, lines } = setup();
    scans.pushed('quiet', 'sha256:b', { imageScanningConfiguration: { scanOnPush: false } });
    scans.pushed('app', 'sha256:a', { imageScanningConfiguration: { scanOnPush: true } });
    await scans.done();
    expect(events.map((e) => JSON.parse(e.Detail))).toEqual([
      expect.objectContaining({ 'scan-status': 'FAILED', 'repository-name': 'app' }),
    ]);
    expect(lines[0]).toContain("moto's ECR gave no scan result for app@sha256:a");
  });
});

describe('isReferrer', () => {
  it('tells a referrer (a manifest with a subject, or a fallback tag index) from an image', () => {
    const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:ab', size: 1 };
    expect(isReferrer(JSON.stringify({ schemaVersion: 2, subject }), undefined)).toBe(true);
    expect(isReferrer(JSON.stringify({ schemaVersion: 2, layers: [] }), `sha256-${'ab'.repeat(32)}`)).toBe(
      true,
    );
    expect(isReferrer(JSON.stringify({ schemaVersion: 2, layers: [] }), 'v1')).toBe(false);
    expect(isReferrer(JSON.stringify({ schemaVersion: 2, subject: null }), undefined)).toBe(false);
    expect(isReferrer(JSON.stringify({ schemaVersion: 2 }), `sha256-${'ab'.repeat(31)}`)).toBe(false);
    expect(isReferrer('not json', undefined)).toBe(false);
  });
});
