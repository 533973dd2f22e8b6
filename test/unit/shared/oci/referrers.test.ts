import { describe, expect, it } from 'vitest';
import {
  type Artifact,
  attachReferrers,
  EMPTY_CONFIG,
  fallbackTag,
  listReferrers,
} from '../../../../shared/oci/referrers.ts';
import {
  type Descriptor,
  OCI_INDEX,
  OCI_MANIFEST,
  RegistryClient,
  RegistryError,
  registryBase,
  sha256,
} from '../../../../shared/oci/registry.ts';
import { pushImage, useLocalRegistry } from '../../local-registry.ts';

const SBOM = 'application/vnd.cyclonedx+json';
const PROVENANCE = 'application/vnd.in-toto+json';

const artifact = (artifactType: string, text: string, annotations?: Record<string, string>): Artifact => ({
  artifactType,
  mediaType: artifactType,
  bytes: Buffer.from(text),
  ...(annotations ? { annotations } : {}),
});

describe('fallbackTag', () => {
  it('turns sha256:<hex> into the tag sha256-<hex>', () => {
    expect(fallbackTag(`sha256:${'ab'.repeat(32)}`)).toBe(`sha256-${'ab'.repeat(32)}`);
  });

  it('refuses what is not a sha256 digest, so no other tag is ever written', () => {
    expect(() => fallbackTag('latest')).toThrow(RegistryError);
    expect(() => fallbackTag(`sha256:${'AB'.repeat(32)}`)).toThrow('is not a sha256 digest');
    expect(() => fallbackTag(`sha256:${'ab'.repeat(32)}x`)).toThrow(RegistryError);
  });
});

describe('registryBase', () => {
  it('speaks plain HTTP to the loopback interface only', () => {
    expect(registryBase('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBase('localhost:5000')).toBe('http://localhost:5000');
    expect(registryBase('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryBase('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe(
      'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    );
    expect(registryBase('127.0.0.1.example.com')).toBe('https://127.0.0.1.example.com');
  });
});

describe('referrers on a registry without the referrers API (distribution 2.8: the fallback tag)', () => {
  const registry = useLocalRegistry('referrers-');

  it('attaches an SBOM and a provenance under the subject fallback tag, and lists them', async () => {
    const image = await pushImage(registry.client, 'team/app', 'one');
    const attached = await attachReferrers(registry.client, 'team/app', image, [
      artifact(SBOM, '{"bomFormat":"CycloneDX"}'),
      artifact(PROVENANCE, '{"_type":"statement"}', {
        'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1',
      }),
    ]);
    expect(attached.scheme).toBe('tag');
    const listed = await listReferrers(registry.client, 'team/app', image.digest);
    expect(listed.scheme).toBe('tag');
    expect(listed.descriptors.map((d) => d.artifactType)).toEqual([SBOM, PROVENANCE]);
    expect(listed.descriptors).toEqual(attached.descriptors);
    expect(listed.descriptors[1]?.annotations).toEqual({
      'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v1',
    });

    const index = await registry.client.getManifest('team/app', fallbackTag(image.digest));
    expect(index?.mediaType).toBe(OCI_INDEX);
    const sbom = await registry.client.getManifest('team/app', attached.descriptors[0]?.digest ?? '');
    const manifest = JSON.parse(sbom?.bytes.toString('utf8') ?? '{}');
    expect(manifest).toMatchObject({
      mediaType: OCI_MANIFEST,
      artifactType: SBOM,
      config: EMPTY_CONFIG,
      subject: image,
      layers: [{ mediaType: SBOM, size: 25 }],
    });
    expect((await registry.client.getBlob('team/app', manifest.layers[0].digest)).toString()).toBe(
      '{"bomFormat":"CycloneDX"}',
    );
    expect((await registry.client.getBlob('team/app', EMPTY_CONFIG.digest)).toString()).toBe('{}');
  });

  it('keeps the referrers already listed and lists each digest once when the same attach runs again', async () => {
    const image = await pushImage(registry.client, 'team/app', 'two');
    const first = await attachReferrers(registry.client, 'team/app', image, [artifact(SBOM, 'sbom')]);
    await attachReferrers(registry.client, 'team/app', image, [artifact(SBOM, 'sbom')]);
    await attachReferrers(registry.client, 'team/app', image, [artifact(PROVENANCE, 'provenance')]);
    const listed = await listReferrers(registry.client, 'team/app', image.digest);
    expect(listed.descriptors.map((d) => d.artifactType)).toEqual([SBOM, PROVENANCE]);
    expect(listed.descriptors[0]?.digest).toBe(first.descriptors[0]?.digest);
  });

  it('lists only the referrers of the subject asked, and only the type asked', async () => {
    const image = await pushImage(registry.client, 'team/app', 'three');
    const other = await pushImage(registry.client, 'team/app', 'four');
    await attachReferrers(registry.client, 'team/app', other, [
      artifact(SBOM, 'other'),
      artifact(PROVENANCE, 'other'),
    ]);
    expect((await listReferrers(registry.client, 'team/app', image.digest)).descriptors).toEqual([]);
    const provenance = await listReferrers(registry.client, 'team/app', other.digest, PROVENANCE);
    expect(provenance.descriptors.map((d) => d.artifactType)).toEqual([PROVENANCE]);
  });

  it('refuses a blob or a manifest whose bytes are not what the digest says', async () => {
    const image = await pushImage(registry.client, 'team/app', 'five');
    const lying = new RegistryClient({
      host: 'registry.invalid',
      password: 'p',
      fetch: async () =>
        new Response('other bytes', { status: 200, headers: { 'content-type': OCI_MANIFEST } }),
    });
    await expect(lying.getManifest('team/app', image.digest)).rejects.toThrow('is not what its digest says');
    await expect(lying.getBlob('team/app', image.digest)).rejects.toThrow('is not what its digest says');
  });
});

/**
 * A registry with the referrers API, as ECR answers it: a manifest PUT with a subject answers
 * OCI-Subject, and GET /referrers/<digest> lists the manifests whose subject it is.
 */
function apiRegistry(options: { subjectHeader: boolean }) {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, Buffer>();
  const requests: string[] = [];
  const auth: string[] = [];
  const fetcher = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const method = init.method ?? 'GET';
    requests.push(`${method} ${url.pathname}`);
    auth.push(new Headers(init.headers).get('authorization') ?? '');
    const body = init.body ? Buffer.from(init.body as Uint8Array) : Buffer.alloc(0);
    const [, repository, kind, reference] =
      /^\/v2\/(.+?)\/(blobs|manifests|referrers)\/(.*)$/.exec(url.pathname) ?? [];
    expect(repository).toBe('team/app');
    if (kind === 'blobs' && reference === 'uploads/')
      return new Response(null, {
        status: 202,
        headers: { location: '/v2/team/app/blobs/uploads/u1?state=x' },
      });
    if (kind === 'blobs' && method === 'PUT') {
      blobs.set(url.searchParams.get('digest') ?? '', body);
      return new Response(null, { status: 201 });
    }
    if (kind === 'blobs')
      return new Response(blobs.get(reference ?? '') ?? null, {
        status: blobs.has(reference ?? '') ? 200 : 404,
      });
    if (kind === 'manifests' && method === 'PUT') {
      manifests.set(sha256(body), body);
      const subject = JSON.parse(body.toString()).subject?.digest;
      return new Response(null, {
        status: 201,
        headers: subject && options.subjectHeader ? { 'oci-subject': subject } : {},
      });
    }
    if (kind === 'referrers') {
      const found = [...manifests.entries()]
        .map(([digest, bytes]) => ({ digest, manifest: JSON.parse(bytes.toString()) }))
        .filter(({ manifest }) => manifest.subject?.digest === reference)
        .map(({ digest, manifest }) => ({
          mediaType: OCI_MANIFEST,
          digest,
          size: 1,
          artifactType: manifest.artifactType,
        }));
      return Response.json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: found });
    }
    return new Response(null, { status: 404 });
  };
  return { fetcher, requests, auth };
}

describe('referrers on a registry with the referrers API (ECR)', () => {
  const subject: Descriptor = { mediaType: OCI_MANIFEST, digest: `sha256:${'cd'.repeat(32)}`, size: 400 };

  it('stores the artifacts by digest, writes no fallback tag, and lists them through the API', async () => {
    const fake = apiRegistry({ subjectHeader: true });
    const client = new RegistryClient({
      host: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      password: 'pw',
      fetch: fake.fetcher,
    });
    const attached = await attachReferrers(client, 'team/app', subject, [
      artifact(SBOM, 'sbom'),
      artifact(PROVENANCE, 'prov'),
    ]);
    expect(attached.scheme).toBe('api');
    expect(fake.requests.filter((r) => r.startsWith('PUT /v2/team/app/manifests/'))).toEqual(
      attached.descriptors.map((d) => `PUT /v2/team/app/manifests/${d.digest}`),
    );
    expect(fake.requests.some((r) => r.includes('sha256-'))).toBe(false);
    const listed = await listReferrers(client, 'team/app', subject.digest, SBOM);
    expect(listed).toEqual({
      scheme: 'api',
      descriptors: [expect.objectContaining({ artifactType: SBOM, digest: attached.descriptors[0]?.digest })],
    });
    expect(new Set(fake.auth)).toEqual(new Set([`Basic ${Buffer.from('AWS:pw').toString('base64')}`]));
  });

  it('asks the referrers API before writing a fallback tag when the PUT answered no OCI-Subject', async () => {
    const fake = apiRegistry({ subjectHeader: false });
    const client = new RegistryClient({ host: 'registry.example.com', password: 'pw', fetch: fake.fetcher });
    const attached = await attachReferrers(client, 'team/app', subject, [artifact(SBOM, 'sbom')]);
    expect(attached.scheme).toBe('api');
    expect(fake.requests).toContain(`GET /v2/team/app/referrers/${subject.digest}`);
    expect(fake.requests.some((r) => r.includes('sha256-'))).toBe(false);
  });

  it('refuses to list the referrers of what is not a digest', async () => {
    const fake = apiRegistry({ subjectHeader: true });
    const client = new RegistryClient({ host: 'registry.example.com', password: 'pw', fetch: fake.fetcher });
    await expect(listReferrers(client, 'team/app', 'latest')).rejects.toThrow(RegistryError);
    expect(fake.requests).toEqual([]);
  });
});
