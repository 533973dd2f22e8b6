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

describe('RegistryBackend.putManifest and manifest', () => {
  /** A registry that answers PUT with 201 and GET with a stored manifest, recording what it was sent. */
  async function manifestRegistry(): Promise<{ port: number; seen: string[] }> {
    const seen: string[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers['content-type'] ?? req.headers.accept} ${body}`);
        if (req.method === 'PUT') res.writeHead(201).end();
        else if (req.url?.endsWith('/v1'))
          res
            .writeHead(200, {
              'docker-content-digest': 'sha256:feed',
              'content-type': 'application/vnd.oci.image.manifest.v1+json',
            })
            .end('{"m":1}');
        else res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, seen };
  }

  it('stores a manifest under a tag with its media type, and answers the status', async () => {
    const { port, seen } = await manifestRegistry();
    const answer = await new RegistryBackend(port, () => {}).putManifest(
      'team/api',
      'v1',
      Buffer.from('{"m":1}'),
      'application/vnd.oci.image.manifest.v1+json',
    );
    expect(answer.status).toBe(201);
    expect(seen).toEqual([
      'PUT /v2/team/api/manifests/v1 application/vnd.oci.image.manifest.v1+json {"m":1}',
    ]);
  });

  it('reads the manifest a tag names with its digest and media type, and nothing for an unknown tag', async () => {
    const { port, seen } = await manifestRegistry();
    const backend = new RegistryBackend(port, () => {});
    expect(await backend.manifest('team/api', 'v1')).toEqual({
      digest: 'sha256:feed',
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      body: Buffer.from('{"m":1}'),
    });
    expect(await backend.manifest('team/api', 'v2')).toBeUndefined();
    expect(seen[0]).toContain('application/vnd.oci.image.index.v1+json');
  });
});
