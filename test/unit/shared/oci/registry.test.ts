import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listReferrers } from '../../../../shared/oci/referrers.ts';
import {
  type Descriptor,
  nextLink,
  OCI_INDEX,
  OCI_MANIFEST,
  RegistryClient,
  RegistryError,
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
