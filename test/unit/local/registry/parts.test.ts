/** The parts of the registry front on their own: image records, events, access, the tag lock, ECR corrections. */
import type { IncomingMessage } from 'node:http';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
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
  const setup = () => {
    const deleted: string[] = [];
    const events: EventEntry[] = [];
    const backend = {
      deleteManifest: async (name: string, digest: string) => {
        deleted.push(`${name}@${digest}`);
      },
    } as unknown as RegistryBackend;
    const corrections = new EcrCorrections({
      ecr: new ECRClient({ region: 'us-east-1' }),
      backend,
      images: new ImageRecords(),
      storage: '/nonexistent',
      emit: async (entries) => {
        events.push(...entries);
      },
      now: () => 1_000_000,
    });
    return { corrections, deleted, events };
  };

  it('gives authorization tokens a 12-hour expiry', async () => {
    const { corrections } = setup();
    const out = await corrections.correct(
      'GetAuthorizationToken',
      {},
      { authorizationData: [{ expiresAt: 1 }] },
    );
    expect(out).toEqual({ authorizationData: [{ expiresAt: 1000 + 12 * 3600 }] });
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
