import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST } from '../../../../functions/shared/media-types.ts';
import { listReferrers } from '../../../../shared/oci/referrers.ts';
import {
  type Descriptor,
  isDigest,
  nextLink,
  OCI_INDEX,
  OCI_MANIFEST,
  platformImages,
  RegistryClient,
  RegistryError,
  sha256,
} from '../../../../shared/oci/registry.ts';

const SUBJECT = `sha256:${'cd'.repeat(32)}`;
const SBOM = 'application/vnd.cyclonedx+json';
const PROVENANCE = 'application/vnd.in-toto+json';
const AUTH = `Basic ${Buffer.from('AWS:pw').toString('base64')}`;

function referrer(n: number, artifactType = SBOM): Descriptor {
  return {
    mediaType: OCI_MANIFEST,
    digest: `sha256:${n.toString(16).padStart(64, '0')}`,
    size: 100 + n,
    artifactType,
  };
}

/** One answer of the paging registry: its status, its `Link` header and the descriptors of the page. */
interface Page {
  status?: number;
  link?: string;
  manifests?: Descriptor[];
  /** The body as sent, instead of an index of `manifests`. */
  raw?: string;
}

interface Seen {
  url: string;
  authorization: string | undefined;
  accept: string | undefined;
}

/** A registry on the loopback interface whose referrers API answers `page(request)`. */
async function pagingRegistry(page: (url: URL, request: IncomingMessage) => Page) {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://registry');
    seen.push({
      url: request.url ?? '',
      authorization: request.headers.authorization,
      accept: request.headers.accept,
    });
    const answer = page(url, request);
    response.writeHead(answer.status ?? 200, {
      'content-type': OCI_INDEX,
      ...(answer.link ? { link: answer.link } : {}),
    });
    response.end(
      answer.raw ??
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: answer.manifests ?? [] }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, seen };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

const path = `/v2/team/app/referrers/${SUBJECT}`;

describe('RegistryClient.referrersIndex: a paged referrers list (Link: <...>; rel="next")', () => {
  it('follows each rel="next" link, relative or absolute, and lists the descriptors of every page in order', async () => {
    const registry = await pagingRegistry((url) => {
      const n = url.searchParams.get('n');
      if (n === null) return { link: `<${path}?n=2>; rel="next"`, manifests: [referrer(1), referrer(2)] };
      if (n === '2')
        return {
          link: `<http://${registry.host}${path}?n=3>; rel="next", <${path}>; rel="first"`,
          manifests: [referrer(3, PROVENANCE)],
        };
      return { manifests: [referrer(4)] };
    });
    const client = new RegistryClient({ host: registry.host, password: 'pw' });
    expect(await client.referrersIndex('team/app', SUBJECT)).toEqual({
      manifests: [referrer(1), referrer(2), referrer(3, PROVENANCE), referrer(4)],
    });
    expect(registry.seen.map((s) => s.url)).toEqual([path, `${path}?n=2`, `${path}?n=3`]);
    expect(registry.seen.every((s) => s.authorization === AUTH && s.accept === OCI_INDEX)).toBe(true);
  });

  it('lists the referrers of every page through listReferrers, the artifact type kept across pages', async () => {
    const registry = await pagingRegistry((url) =>
      url.search === ''
        ? { link: `<${path}?last=1>; rel="next"`, manifests: [referrer(1), referrer(2, PROVENANCE)] }
        : { manifests: [referrer(3), referrer(4, PROVENANCE)] },
    );
    const client = new RegistryClient({ host: registry.host, password: 'pw' });
    expect(await listReferrers(client, 'team/app', SUBJECT, PROVENANCE)).toEqual({
      scheme: 'api',
      descriptors: [referrer(2, PROVENANCE), referrer(4, PROVENANCE)],
    });
  });

  it('stops at a page without a next link: a prev or last link is not followed', async () => {
    const registry = await pagingRegistry(() => ({
      link: `<${path}?n=0>; rel="prev", <${path}?n=9>; rel="last"`,
      manifests: [referrer(1)],
    }));
    const client = new RegistryClient({ host: registry.host, password: 'pw' });
    expect(await client.referrersIndex('team/app', SUBJECT)).toEqual({ manifests: [referrer(1)] });
    expect(registry.seen).toHaveLength(1);
  });

  it('reads a page without a manifests list as no descriptors and goes on to the next', async () => {
    const registry = await pagingRegistry((url) =>
      url.search === ''
        ? { link: `<${path}?p=2>; rel=next`, raw: '{"schemaVersion":2,"manifests":{"0":"x"}}' }
        : { manifests: [referrer(7)] },
    );
    const client = new RegistryClient({ host: registry.host, password: 'pw' });
    expect(await client.referrersIndex('team/app', SUBJECT)).toEqual({ manifests: [referrer(7)] });
  });

  it('refuses a next page on another host, which would be sent the registry password, and asks it nothing', async () => {
    const other = await pagingRegistry(() => ({ manifests: [referrer(9)] }));
    const registry = await pagingRegistry(() => ({
      link: `<http://${other.host}${path}?n=2>; rel="next"`,
      manifests: [referrer(1)],
    }));
    const client = new RegistryClient({ host: registry.host, password: 'pw' });
    await expect(client.referrersIndex('team/app', SUBJECT)).rejects.toThrow(RegistryError);
    await expect(client.referrersIndex('team/app', SUBJECT)).rejects.toThrow(
      `the referrers of team/app@${SUBJECT}: the next page is on another host (${other.host})`,
    );
    expect(other.seen).toEqual([]);
  });

  it('refuses a list of more pages than its bound, after asking that many (a registry that links to itself)', async () => {
    const registry = await pagingRegistry(() => ({
      link: `<${path}>; rel="next"`,
      manifests: [referrer(1)],
    }));
    const client = new RegistryClient({
      host: registry.host,
      password: 'pw',
      referrersLimits: { pages: 3, descriptors: 100 },
    });
    await expect(client.referrersIndex('team/app', SUBJECT)).rejects.toThrow(
      `the referrers of team/app@${SUBJECT} take more than 3 pages`,
    );
    expect(registry.seen).toHaveLength(3);
  });

  it('bounds a list to 20 pages and 1000 descriptors by default', async () => {
    const looping = await pagingRegistry(() => ({ link: `<${path}>; rel="next"` }));
    const client = new RegistryClient({ host: looping.host, password: 'pw' });
    await expect(client.referrersIndex('team/app', SUBJECT)).rejects.toThrow('take more than 20 pages');
    expect(looping.seen).toHaveLength(20);

    const many = Array.from({ length: 1000 }, (_, i) => referrer(i));
    const full = await pagingRegistry(() => ({ manifests: many }));
    expect(
      (await new RegistryClient({ host: full.host, password: 'pw' }).referrersIndex('team/app', SUBJECT))
        ?.manifests,
    ).toHaveLength(1000);
    const over = await pagingRegistry(() => ({ manifests: [...many, referrer(1000)] }));
    await expect(
      new RegistryClient({ host: over.host, password: 'pw' }).referrersIndex('team/app', SUBJECT),
    ).rejects.toThrow('are more than 1000 descriptors');
  });

  it('refuses a list of more descriptors than its bound, counted over the pages', async () => {
    const registry = await pagingRegistry((url) =>
      url.search === ''
        ? { link: `<${path}?p=2>; rel="next"`, manifests: [referrer(1), referrer(2), referrer(3)] }
        : { link: `<${path}?p=3>; rel="next"`, manifests: [referrer(4), referrer(5), referrer(6)] },
    );
    const limits = { pages: 10, descriptors: 5 };
    const client = new RegistryClient({ host: registry.host, password: 'pw', referrersLimits: limits });
    await expect(client.referrersIndex('team/app', SUBJECT)).rejects.toThrow(
      `the referrers of team/app@${SUBJECT} are more than 5 descriptors`,
    );
    expect(registry.seen).toHaveLength(2);
    const exact = new RegistryClient({
      host: registry.host,
      password: 'pw',
      referrersLimits: { pages: 2, descriptors: 6 },
    });
    await expect(exact.referrersIndex('team/app', SUBJECT)).rejects.toThrow('take more than 2 pages');
  });

  it('says there is no referrers API only when the first page is 404; a later page that fails is an error', async () => {
    const none = await pagingRegistry(() => ({ status: 404 }));
    expect(
      await new RegistryClient({ host: none.host, password: 'pw' }).referrersIndex('team/app', SUBJECT),
    ).toBe(undefined);
    for (const status of [404, 500]) {
      const registry = await pagingRegistry((url) =>
        url.search === '' ? { link: `<${path}?p=2>; rel="next"`, manifests: [referrer(1)] } : { status },
      );
      const client = new RegistryClient({ host: registry.host, password: 'pw' });
      const error = await client.referrersIndex('team/app', SUBJECT).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryError);
      expect(error).toMatchObject({ status });
      expect((error as Error).message).toMatch(
        new RegExp(
          `^listing the referrers of team/app@${SUBJECT} \\(page 2\\): the registry answered ${status} `,
        ),
      );
    }
  });
});

describe('nextLink', () => {
  const from = 'https://registry.example.com/v2/team/app/referrers/x?n=1';

  it('finds the rel="next" link among others and resolves it against the page that sent it', () => {
    expect(nextLink('</v2/a?n=2&last=b>; rel="next"', from)).toBe(
      'https://registry.example.com/v2/a?n=2&last=b',
    );
    expect(nextLink('<?n=2>; rel="prev", <page2>; rel="next"', from)).toBe(
      'https://registry.example.com/v2/team/app/referrers/page2',
    );
    expect(nextLink('<https://other.example.com/p>;rel=next', from)).toBe('https://other.example.com/p');
    expect(nextLink('</p>; title="a"; REL="Next Last"', from)).toBe('https://registry.example.com/p');
    expect(nextLink('</a,b>; rel="next"', from)).toBe('https://registry.example.com/a,b');
    expect(nextLink('</spaced>; rel = "next"', from)).toBe('https://registry.example.com/spaced');
  });

  it('is undefined without a next relation', () => {
    expect(nextLink(null, from)).toBeUndefined();
    expect(nextLink('', from)).toBeUndefined();
    expect(nextLink('</p>; rel="prev"', from)).toBeUndefined();
    expect(nextLink('</p>; rel="nextpage"', from)).toBeUndefined();
    expect(nextLink('</p>; title="next"', from)).toBeUndefined();
    expect(nextLink('</p>', from)).toBeUndefined();
  });
});

/** What the generic registry below was asked. */
interface Asked {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A registry on the loopback interface that answers each request with `answer(request)`. */
async function scriptedRegistry(answer: (asked: Asked) => Answer) {
  const asked: Asked[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry = {
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      };
      asked.push(entry);
      const out = answer(entry);
      response.writeHead(out.status, out.headers ?? {});
      response.end(out.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, asked, client: new RegistryClient({ host, password: 'pw' }) };
}

describe('RegistryClient: blobs', () => {
  const bytes = Buffer.from('layer bytes');
  const digest = sha256(bytes);

  it('uploads a blob the registry lacks to the location it names, with the digest, and returns its descriptor', async () => {
    const registry = await scriptedRegistry(({ method }) =>
      method === 'HEAD'
        ? { status: 404 }
        : method === 'POST'
          ? { status: 202, headers: { location: '/v2/team/app/blobs/uploads/u1?state=abc' } }
          : { status: 201 },
    );
    expect(await registry.client.putBlob('team/app', 'text/plain', bytes)).toEqual({
      mediaType: 'text/plain',
      digest,
      size: bytes.length,
    });
    expect(registry.asked.map((a) => `${a.method} ${a.url}`)).toEqual([
      `HEAD /v2/team/app/blobs/${digest}`,
      'POST /v2/team/app/blobs/uploads/',
      `PUT /v2/team/app/blobs/uploads/u1?state=abc&digest=${encodeURIComponent(digest)}`,
    ]);
    const put = registry.asked[2];
    expect(put?.headers['content-type']).toBe('application/octet-stream');
    expect(put?.body).toEqual(bytes);
    expect(registry.asked.every((a) => a.headers.authorization === AUTH)).toBe(true);
  });

  it('uploads nothing when the registry has the blob', async () => {
    const registry = await scriptedRegistry(() => ({ status: 200 }));
    expect(await registry.client.putBlob('team/app', 'text/plain', bytes)).toEqual({
      mediaType: 'text/plain',
      digest,
      size: bytes.length,
    });
    expect(registry.asked.map((a) => a.method)).toEqual(['HEAD']);
  });

  it('sends the registry password to the registry only, not to an upload location on another host', async () => {
    const storage = await scriptedRegistry(() => ({ status: 201 }));
    const registry = await scriptedRegistry(({ method }) =>
      method === 'HEAD'
        ? { status: 404 }
        : { status: 202, headers: { location: `http://${storage.host}/upload/u1` } },
    );
    await registry.client.putBlob('team/app', 'text/plain', bytes);
    expect(storage.asked.map((a) => [a.method, a.headers.authorization])).toEqual([['PUT', undefined]]);
  });

  it('names the step and the answer when an upload is refused', async () => {
    const refusing = (post: Answer, put: Answer = { status: 201 }) =>
      scriptedRegistry(({ method }) =>
        method === 'HEAD' ? { status: 404 } : method === 'POST' ? post : put,
      );
    const denied = await refusing({ status: 403, body: 'denied' });
    await expect(denied.client.putBlob('team/app', 'text/plain', bytes)).rejects.toMatchObject({
      name: 'RegistryError',
      status: 403,
      message: `starting the upload of ${digest} to team/app: the registry answered 403 denied`,
    });
    const ok = await refusing({ status: 200, headers: { location: '/u' } });
    await expect(ok.client.putBlob('team/app', 'text/plain', bytes)).rejects.toThrow(
      `starting the upload of ${digest} to team/app: the registry answered 200`,
    );
    const nowhere = await refusing({ status: 202 });
    await expect(nowhere.client.putBlob('team/app', 'text/plain', bytes)).rejects.toThrow(
      new RegistryError(`the upload of ${digest} to team/app has no location`),
    );
    const invalid = await refusing(
      { status: 202, headers: { location: '/u' } },
      { status: 400, body: `DIGEST_INVALID${'x'.repeat(400)}` },
    );
    await expect(invalid.client.putBlob('team/app', 'text/plain', bytes)).rejects.toThrow(
      new RegistryError(
        `uploading ${digest} to team/app: the registry answered 400 DIGEST_INVALID${'x'.repeat(300 - 14)}`,
        400,
      ),
    );
    const accepted = await refusing({ status: 202, headers: { location: '/u' } }, { status: 202 });
    await expect(accepted.client.putBlob('team/app', 'text/plain', bytes)).rejects.toThrow(
      `uploading ${digest} to team/app: the registry answered 202`,
    );
  });

  it('reads a blob, and names the blob when the registry will not give it', async () => {
    const registry = await scriptedRegistry(({ url }) =>
      url.endsWith(digest) ? { status: 200, body: bytes } : { status: 404, body: ' BLOB_UNKNOWN ' },
    );
    expect(await registry.client.getBlob('team/app', digest)).toEqual(bytes);
    await expect(registry.client.getBlob('team/app', sha256('other'))).rejects.toMatchObject({
      status: 404,
      message: `reading blob ${sha256('other')} of team/app: the registry answered 404  BLOB_UNKNOWN`,
    });
  });
});

describe('RegistryClient: manifests', () => {
  const bytes = Buffer.from('{"schemaVersion":2}');
  const digest = sha256(bytes);

  it('stores a manifest with its media type and answers the OCI-Subject header, or none', async () => {
    const registry = await scriptedRegistry(({ url }) =>
      url.endsWith('/with') ? { status: 201, headers: { 'oci-subject': SUBJECT } } : { status: 201 },
    );
    expect(await registry.client.putManifest('team/app', 'with', OCI_INDEX, bytes)).toEqual({
      digest,
      subject: SUBJECT,
    });
    expect(await registry.client.putManifest('team/app', 'without', OCI_INDEX, bytes)).toEqual({
      digest,
      subject: undefined,
    });
    expect(registry.asked[0]).toMatchObject({
      method: 'PUT',
      url: '/v2/team/app/manifests/with',
      body: bytes,
    });
    expect(registry.asked[0]?.headers['content-type']).toBe(OCI_INDEX);
  });

  it('names the manifest when the registry will not store it', async () => {
    const registry = await scriptedRegistry(() => ({ status: 200 }));
    await expect(registry.client.putManifest('team/app', 'v1', OCI_INDEX, bytes)).rejects.toMatchObject({
      status: 200,
      message: 'storing manifest team/app:v1: the registry answered 200',
    });
  });

  it('reads a manifest by tag with every manifest type accepted, its media type without parameters', async () => {
    const registry = await scriptedRegistry(({ url }) =>
      url.endsWith('/plain')
        ? { status: 200, body: bytes }
        : { status: 200, headers: { 'content-type': `${OCI_MANIFEST} ; charset=utf-8` }, body: bytes },
    );
    expect(await registry.client.getManifest('team/app', 'v1')).toEqual({
      mediaType: OCI_MANIFEST,
      digest,
      bytes,
    });
    expect(registry.asked[0]?.headers.accept).toBe(
      [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST].join(', '),
    );
    expect((await registry.client.getManifest('team/app', 'plain'))?.mediaType).toBe('');
  });

  it('has no manifest where the registry answers 404, and names the manifest on any other failure', async () => {
    const registry = await scriptedRegistry(({ url }) => ({ status: url.endsWith('/gone') ? 404 : 500 }));
    expect(await registry.client.getManifest('team/app', 'gone')).toBeUndefined();
    await expect(registry.client.getManifest('team/app', 'v1')).rejects.toMatchObject({
      status: 500,
      message: 'reading manifest team/app:v1: the registry answered 500',
    });
  });
});

describe('platformImages', () => {
  const entry = (architecture: string | undefined, n: number) => ({
    mediaType: OCI_MANIFEST,
    digest: `sha256:${String(n).repeat(64)}`,
    size: n,
    ...(architecture ? { platform: { architecture, os: 'linux' } } : {}),
  });

  it("is each platform's image of an index or a Docker manifest list, attestation entries left out", () => {
    const manifests = [entry('amd64', 1), entry('unknown', 2), entry(undefined, 3), entry('arm64', 4)];
    for (const mediaType of [OCI_INDEX, DOCKER_MANIFEST_LIST]) {
      const stored = { mediaType, digest: SUBJECT, bytes: Buffer.from(JSON.stringify({ manifests })) };
      expect(platformImages(stored)).toEqual([entry('amd64', 1), entry('arm64', 4)]);
    }
    expect(platformImages({ mediaType: OCI_INDEX, digest: SUBJECT, bytes: Buffer.from('{}') })).toEqual([]);
  });

  it('is the image itself for an image manifest', () => {
    const bytes = Buffer.from('{"schemaVersion":2,"manifests":[{"platform":{"architecture":"amd64"}}]}');
    for (const mediaType of [OCI_MANIFEST, DOCKER_MANIFEST])
      expect(platformImages({ mediaType, digest: SUBJECT, bytes })).toEqual([
        { mediaType, digest: SUBJECT, size: bytes.length },
      ]);
  });
});

describe('sha256 and isDigest', () => {
  it('names bytes and strings by their sha256', () => {
    expect(sha256('')).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256(Buffer.from('{}'))).toBe(
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
  });

  it('takes sha256:<64 lowercase hex> only', () => {
    expect(isDigest(`sha256:${'a'.repeat(64)}`)).toBe(true);
    for (const value of [
      `sha256:${'a'.repeat(63)}`,
      `sha256:${'A'.repeat(64)}`,
      `x sha256:${'a'.repeat(64)}`,
      `sha512:${'a'.repeat(64)}`,
      `sha256:${'a'.repeat(64)}\n`,
    ])
      expect(isDigest(value)).toBe(false);
  });
});
