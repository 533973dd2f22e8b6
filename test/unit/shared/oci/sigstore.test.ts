import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type Service, startRegistry } from '../../../../local/processes.ts';
import { OCI_MANIFEST, RegistryClient, RegistryError, sha256 } from '../../../../shared/oci/registry.ts';
import {
  attachSignature,
  generateSigningKeys,
  signatureTag,
  signingPayload,
  verifySignature,
} from '../../../../shared/oci/sigstore.ts';

/** Pushes a small image (an empty config and one layer) and returns its digest. */
async function pushImage(registry: RegistryClient, repository: string, seed: string): Promise<string> {
  const config = await registry.putBlob(
    repository,
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(`{"seed":"${seed}"}`),
  );
  const layer = await registry.putBlob(
    repository,
    'application/vnd.oci.image.layer.v1.tar',
    Buffer.from(seed),
  );
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }),
  );
  return (await registry.putManifest(repository, sha256(bytes), OCI_MANIFEST, bytes)).digest;
}

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
  let dir: string;
  let registry: Service;
  let client: RegistryClient;
  let host: string;
  const keys = generateSigningKeys();
  const otherKeys = generateSigningKeys();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigstore-'));
    const port = await freePort();
    registry = await startRegistry(port, dir);
    host = `127.0.0.1:${port}`;
    client = new RegistryClient({ host, password: 'unused' });
  }, 30_000);

  afterAll(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * openssl's verdict on the signature attached to the image: the payload and the signature as a
   * user reads them from the registry, checked with the public key alone.
   */
  async function opensslAccepts(repository: string, digest: string, publicKey: string): Promise<boolean> {
    const work = mkdtempSync(join(dir, 'openssl-'));
    const stored = await client.getManifest(repository, signatureTag(digest));
    const layer = JSON.parse(stored?.bytes.toString() ?? '{}').layers[0];
    writeFileSync(join(work, 'key.pub'), publicKey);
    writeFileSync(join(work, 'payload'), await client.getBlob(repository, layer.digest));
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
    const digest = await pushImage(client, 'team/api', 'one');
    expect(await verifySignature(client, 'team/api', digest, keys.publicKey)).toEqual({ kind: 'unsigned' });
    await attachSignature(client, { host, repository: 'team/api', digest, privateKey: keys.privateKey });
    expect(await opensslAccepts('team/api', digest, keys.publicKey)).toBe(true);
    expect(await verifySignature(client, 'team/api', digest, keys.publicKey)).toEqual({
      kind: 'signed',
      signatures: 1,
    });
  }, 60_000);

  it('refuses a signature another key made, here and in openssl', async () => {
    const digest = await pushImage(client, 'team/api', 'two');
    await attachSignature(client, { host, repository: 'team/api', digest, privateKey: otherKeys.privateKey });
    expect(await opensslAccepts('team/api', digest, keys.publicKey)).toBe(false);
    expect(await verifySignature(client, 'team/api', digest, keys.publicKey)).toEqual({
      kind: 'invalid',
      reason: 'a signature that the key did not make',
    });
  }, 60_000);

  it("refuses another image's genuine signature copied under this image's tag", async () => {
    const signed = await pushImage(client, 'team/api', 'three');
    const unsigned = await pushImage(client, 'team/api', 'four');
    await attachSignature(client, {
      host,
      repository: 'team/api',
      digest: signed,
      privateKey: keys.privateKey,
    });
    const copied = await client.getManifest('team/api', signatureTag(signed));
    await client.putManifest('team/api', signatureTag(unsigned), OCI_MANIFEST, copied?.bytes as Buffer);
    // The signature itself is genuine (openssl accepts it): only the digest it names tells it is not this image's.
    expect(await opensslAccepts('team/api', unsigned, keys.publicKey)).toBe(true);
    expect(await verifySignature(client, 'team/api', unsigned, keys.publicKey)).toEqual({
      kind: 'invalid',
      reason: `a signature of another image (${signed})`,
    });
  }, 60_000);
});
