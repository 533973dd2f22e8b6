import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryBackend } from '../../../../local/registry/backend.ts';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A registry on a loopback port that records the method and raw path of every request. */
async function recordingRegistry(): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(202).end();
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, requests };
}

describe('RegistryBackend.deleteManifest', () => {
  it('deletes the manifest at the repository path, the namespaces kept', async () => {
    const { port, requests } = await recordingRegistry();
    await new RegistryBackend(port, () => {}).deleteManifest('team/api', 'sha256:feed');
    expect(requests).toEqual(['DELETE /v2/team/api/manifests/sha256:feed']);
  });

  it('encodes a repository name and a digest that are no names at all', async () => {
    const { port, requests } = await recordingRegistry();
    await new RegistryBackend(port, () => {}).deleteManifest('team/a b?c#d', 'sha256:fe ed');
    expect(requests).toEqual(['DELETE /v2/team/a%20b%3Fc%23d/manifests/sha256:fe%20ed']);
  });
});
