import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  LocalSigning,
  loadOrCreateKeys,
  SigningError,
  wildcardMatches,
} from '../../../../local/registry/signing.ts';
import { type RegistryClient, RegistryError } from '../../../../shared/oci/registry.ts';
import { generateSigningKeys } from '../../../../shared/oci/sigstore.ts';

const PROFILE = 'arn:aws:signer:us-east-1:123456789012:/signing-profiles/p1';
const DIGEST = `sha256:${'a'.repeat(64)}`;
const dir = mkdtempSync(join(tmpdir(), 'local-signing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A registry that takes every blob and manifest, or refuses them all. */
function fakeRegistry(refuse = false): RegistryClient & { manifests: string[] } {
  const manifests: string[] = [];
  return {
    manifests,
    putBlob: vi.fn(async (_r: string, mediaType: string, bytes: Buffer) => {
      if (refuse) throw new RegistryError('storage is full', 500);
      return { mediaType, digest: `sha256:${'b'.repeat(64)}`, size: bytes.length };
    }),
    putManifest: vi.fn(async (_r: string, reference: string) => {
      manifests.push(reference);
      return { digest: `sha256:${'c'.repeat(64)}`, subject: undefined };
    }),
  } as unknown as RegistryClient & { manifests: string[] };
}

const signing = (registry = fakeRegistry()) =>
  new LocalSigning({ registry, host: '127.0.0.1:5000', keys: generateSigningKeys(), log: () => {} });

const put = (s: LocalSigning, filters: string[] | undefined) =>
  s.serve('PutSigningConfiguration', {
    signingConfiguration: {
      rules: [
        {
          signingProfileArn: PROFILE,
          ...(filters
            ? { repositoryFilters: filters.map((filter) => ({ filter, filterType: 'WILDCARD_MATCH' })) }
            : {}),
        },
      ],
    },
  });

describe('loadOrCreateKeys', () => {
  it('makes a key pair at the first start, private key 0600, and reads the same one afterwards', () => {
    const first = loadOrCreateKeys(join(dir, 'keys'));
    expect(first.created).toBe(true);
    expect(first.publicKey).toContain('BEGIN PUBLIC KEY');
    expect(statSync(join(dir, 'keys', 'signing-key.pem')).mode & 0o777).toBe(0o600);
    const again = loadOrCreateKeys(join(dir, 'keys'));
    expect(again).toEqual({ ...first, created: false });
    expect(readFileSync(join(dir, 'keys', 'signing-key.pub'), 'utf8')).toBe(first.publicKey);
  });
});

describe('wildcardMatches', () => {
  it('reads * as any sequence and everything else literally', () => {
    expect(wildcardMatches('team-a/*', 'team-a/api')).toBe(true);
    expect(wildcardMatches('team-a/*', 'team-b/api')).toBe(false);
    expect(wildcardMatches('*/prod', 'x/y/prod')).toBe(true);
    expect(wildcardMatches('a.b', 'axb')).toBe(false);
    expect(wildcardMatches('team-a/*', 'xteam-a/api')).toBe(false);
  });
});

describe('LocalSigning', () => {
  it('answers SigningConfigurationNotFound before a configuration is put, then what was put', () => {
    const s = signing();
    expect(() => s.serve('GetSigningConfiguration', {})).toThrow(SigningError);
    expect(() => s.serve('GetSigningConfiguration', {})).toThrow(
      expect.objectContaining({ errorType: 'SigningConfigurationNotFoundException' }),
    );
    put(s, ['team-a/*']);
    expect(s.serve('GetSigningConfiguration', {})).toMatchObject({
      signingConfiguration: { rules: [{ signingProfileArn: PROFILE }] },
    });
    expect(s.serve('DescribeImages', {})).toBeUndefined();
  });

  it('signs a push to a matching repository under its attachment tag, and says COMPLETE', async () => {
    const registry = fakeRegistry();
    const s = signing(registry);
    put(s, ['team-a/*']);
    await s.pushed('team-a/api', DIGEST);
    expect(registry.manifests).toEqual([`sha256-${'a'.repeat(64)}.sig`]);
    expect(
      s.serve('DescribeImageSigningStatus', {
        repositoryName: 'team-a/api',
        imageId: { imageDigest: DIGEST },
      }),
    ).toMatchObject({
      signingStatuses: [{ signingProfileArn: PROFILE, status: 'COMPLETE' }],
    });
    // Pushed again (a tag moved onto it): signed once.
    await s.pushed('team-a/api', DIGEST);
    expect(registry.manifests).toHaveLength(1);
  });

  it('signs nothing no rule matches, and has no status for it', async () => {
    const registry = fakeRegistry();
    const s = signing(registry);
    await s.pushed('team-a/api', DIGEST);
    put(s, ['team-a/*']);
    await s.pushed('team-b/api', DIGEST);
    expect(registry.manifests).toEqual([]);
    expect(
      s.serve('DescribeImageSigningStatus', {
        repositoryName: 'team-b/api',
        imageId: { imageDigest: DIGEST },
      }),
    ).toMatchObject({
      signingStatuses: [],
    });
  });

  it('signs every push under a rule without filters', () => {
    const s = signing();
    put(s, undefined);
    expect(s.profilesFor('anything/at-all')).toEqual([PROFILE]);
  });

  it('says FAILED with the reason when the signature cannot be stored', async () => {
    const s = signing(fakeRegistry(true));
    put(s, ['team-a/*']);
    await s.pushed('team-a/api', DIGEST);
    expect(
      s.serve('DescribeImageSigningStatus', {
        repositoryName: 'team-a/api',
        imageId: { imageDigest: DIGEST },
      }),
    ).toMatchObject({
      signingStatuses: [
        {
          status: 'FAILED',
          failureCode: 'SigningFailed',
          failureReason: expect.stringContaining('storage is full'),
        },
      ],
    });
  });
});
