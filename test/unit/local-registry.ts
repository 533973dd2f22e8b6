/**
 * The distribution registry the local cloud runs, for the tests of one describe block: on a free
 * port, its storage in a new temporary folder; and small images pushed to it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { freePort, type Service, startRegistry } from '../../local/processes.ts';
import { type Descriptor, OCI_MANIFEST, RegistryClient, sha256 } from '../../shared/oci/registry.ts';

/** A running registry: its fields are set once the describe block's `beforeAll` has run. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>`, as image references name it. */
  host: string;
  /** A client of it (the registry asks for no password). */
  client: RegistryClient;
  /** Its storage folder, removed after the tests. */
  dir: string;
}

/**
 * Starts a registry before the tests of the enclosing describe block (storage in a temporary folder
 * named `prefix`...) and stops it after them.
 */
export function useLocalRegistry(prefix: string): LocalRegistry {
  // Filled in by beforeAll, before any test reads it.
  const registry = {} as LocalRegistry;
  let service: Service | undefined;
  beforeAll(async () => {
    registry.dir = mkdtempSync(join(tmpdir(), prefix));
    const port = await freePort();
    service = await startRegistry(port, registry.dir);
    registry.host = `127.0.0.1:${port}`;
    registry.client = new RegistryClient({ host: registry.host, password: 'unused' });
  }, 40_000);
  afterAll(async () => {
    await service?.stop();
    if (registry.dir) rmSync(registry.dir, { recursive: true, force: true });
  });
  return registry;
}

/** Pushes a small image (a config that holds `seed`, and one layer) and returns its descriptor. */
export async function pushImage(
  client: RegistryClient,
  repository: string,
  seed: string,
): Promise<Descriptor> {
  const config = await client.putBlob(
    repository,
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(`{"seed":"${seed}"}`),
  );
  const layer = await client.putBlob(repository, 'application/vnd.oci.image.layer.v1.tar', Buffer.from(seed));
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }),
  );
  const { digest } = await client.putManifest(repository, sha256(bytes), OCI_MANIFEST, bytes);
  return { mediaType: OCI_MANIFEST, digest, size: bytes.length };
}
