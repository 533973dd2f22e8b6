import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OCI_MANIFEST, RegistryError } from '../../../../shared/oci/registry.ts';
import {
  attachSignature,
  generateSigningKeys,
  signatureTag,
  signingPayload,
  verifySignature,
} from '../../../../shared/oci/sigstore.ts';
import { pushImage, useLocalRegistry } from '../../local-registry.ts';

describe('signatureTag and signingPayload', () => {
  it("names cosign's attachment tag of a digest, and refuses what is not one", () => {
    expect(signatureTag(`sha256:${'ab'.repeat(32)}`)).toBe(`sha256-${'ab'.repeat(32)}.sig`);
    expect(() => signatureTag('latest')).toThrow(RegistryError);
  });

  it('is the simple signing payload containers/image checks', () => {
    expect(JSON.parse(signingPayload('h/r', 'sha256:x').toString())).toEqual({
      critical: {
        identity: { 'docker-reference': 'h/r' },
        image: { 'docker-manifest-digest': 'sha256:x' },
        type: 'cosign container image signature',
      },
      optional: null,
    });
  });
});

describe('sigstore signatures in the real distribution registry', () => {
  const registry = useLocalRegistry('sigstore-');
  const keys = generateSigningKeys();
  const otherKeys = generateSigningKeys();

  /**
   * openssl's verdict on the signature attached to the image: the payload and the signature as a
   * user reads them from the registry, checked with the public key alone.
   */
  async function opensslAccepts(repository: string, digest: string, publicKey: string): Promise<boolean> {
    const work = mkdtempSync(join(registry.dir, 'openssl-'));
    const stored = await registry.client.getManifest(repository, signatureTag(digest));
    const layer = JSON.parse(stored?.bytes.toString() ?? '{}').layers[0];
    writeFileSync(join(work, 'key.pub'), publicKey);
    writeFileSync(join(work, 'payload'), await registry.client.getBlob(repository, layer.digest));
    writeFileSync(
      join(work, 'sig'),
      Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'], 'base64'),
    );
    const run = spawnSync(
      'openssl',
      [
        'dgst',
        '-sha256',
        '-verify',
        join(work, 'key.pub'),
        '-signature',
        join(work, 'sig'),
        join(work, 'payload'),
      ],
      { encoding: 'utf8' },
    );
    return run.status === 0 && run.stdout.includes('Verified OK');
  }

  it('signs an image with a signature openssl checks with the public key alone, and verifies it here', async () => {
    const digest = (await pushImage(registry.client, 'team/api', 'one')).digest;
    expect(await verifySignature(registry.client, 'team/api', digest, keys.publicKey)).toEqual({
      kind: 'unsigned',
    });
    await attachSignature(registry.client, {
      host: registry.host,
      repository: 'team/api',
      digest,
      privateKey: keys.privateKey,
    });
    expect(await opensslAccepts('team/api', digest, keys.publicKey)).toBe(true);
    expect(await verifySignature(registry.client, 'team/api', digest, keys.publicKey)).toEqual({
      kind: 'signed',
      signatures: 1,
    });
  }, 60_000);

  it('refuses a signature another key made, here and in openssl', async () => {
    const digest = (await pushImage(registry.client, 'team/api', 'two')).digest;
    await attachSignature(registry.client, {
      host: registry.host,
      repository: 'team/api',
      digest,
      privateKey: otherKeys.privateKey,
    });
    expect(await opensslAccepts('team/api', digest, keys.publicKey)).toBe(false);
    expect(await verifySignature(registry.client, 'team/api', digest, keys.publicKey)).toEqual({
      kind: 'invalid',
      reason: 'a signature that the key did not make',
    });
  }, 60_000);

  it("refuses another image's genuine signature copied under this image's tag", async () => {
    const signed = (await pushImage(registry.client, 'team/api', 'three')).digest;
    const unsigned = (await pushImage(registry.client, 'team/api', 'four')).digest;
    await attachSignature(registry.client, {
      host: registry.host,
      repository: 'team/api',
      digest: signed,
      privateKey: keys.privateKey,
    });
    const copied = await registry.client.getManifest('team/api', signatureTag(signed));
    await registry.client.putManifest(
      'team/api',
      signatureTag(unsigned),
      OCI_MANIFEST,
      copied?.bytes as Buffer,
    );
    // The signature itself is genuine (openssl accepts it): only the digest it names tells it is not this image's.
    expect(await opensslAccepts('team/api', unsigned, keys.publicKey)).toBe(true);
    expect(await verifySignature(registry.client, 'team/api', unsigned, keys.publicKey)).toEqual({
      kind: 'invalid',
      reason: `a signature of another image (${signed})`,
    });
  }, 60_000);
});
