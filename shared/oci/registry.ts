/**
 * The few calls of the OCI distribution API that attaching and reading referrers needs: blobs and
 * manifests of one repository, over HTTPS (plain HTTP for a registry on the loopback interface only,
 * the local cloud's), with ECR's Basic `AWS:<password>` login. What is read is checked against the
 * digest it was asked by: a registry (or anything between) cannot hand back other bytes.
 */
import { createHash } from 'node:crypto';
import {
  DOCKER_MANIFEST_LIST,
  MANIFEST_TYPES,
  OCI_INDEX,
  OCI_MANIFEST,
} from '../../functions/shared/media-types.ts';

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** A manifest as the registry stored it. */
export interface StoredManifest {
  mediaType: string;
  digest: string;
  bytes: Buffer;
}

/** The registry answered something other than what the call needs; the message names the call. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export { OCI_INDEX, OCI_MANIFEST };

const MANIFEST_ACCEPT = MANIFEST_TYPES.join(', ');

/** `sha256:<hex>` of the bytes. */
export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** True for a `sha256:<64 hex>` digest (the only algorithm the pipeline reads or writes). */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Plain HTTP only for the loopback interface; every other registry is spoken to over TLS. */
export function registryBase(host: string): string {
  const loopback = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host);
  return `${loopback ? 'http' : 'https'}://${host}`;
}

export interface RegistryClientOptions {
  /** `host[:port]`, as in an image reference. */
  host: string;
  /** The password ECR's GetAuthorizationToken gives (user `AWS`). */
  password: string;
  fetch?: typeof fetch;
  /** Bounds of a paged referrers list (default: 20 pages, 1000 descriptors). */
  referrersLimits?: ReferrersLimits;
}

/** How many pages and descriptors a registry's referrers list may have before it is refused. */
export interface ReferrersLimits {
  pages: number;
  descriptors: number;
}

/** Blobs and manifests of the repositories of one registry. */
export class RegistryClient {
  private readonly base: string;
  private readonly auth: string;
  private readonly fetch: typeof fetch;
  private readonly limits: ReferrersLimits;

  constructor(options: RegistryClientOptions) {
    this.base = registryBase(options.host);
    this.auth = `Basic ${Buffer.from(`AWS:${options.password}`).toString('base64')}`;
    this.fetch = options.fetch ?? fetch;
    this.limits = options.referrersLimits ?? { pages: 20, descriptors: 1000 };
  }

  private request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    // Only to the registry itself: a blob GET may be redirected to storage that must not see it.
    if (url.startsWith(this.base)) headers.set('authorization', this.auth);
    return this.fetch(url, { ...init, headers, redirect: 'follow' });
  }

  private url(repository: string, path: string): string {
    return `${this.base}/v2/${repository}/${path}`;
  }

  private async fail(what: string, response: Response): Promise<never> {
    const body = (await response.text().catch(() => '')).slice(0, 300);
    throw new RegistryError(
      `${what}: the registry answered ${response.status} ${body}`.trim(),
      response.status,
    );
  }

  /** Uploads a blob (unless the registry has it) and returns its descriptor. */
  async putBlob(repository: string, mediaType: string, bytes: Buffer): Promise<Descriptor> {
    const digest = sha256(bytes);
    const descriptor = { mediaType, digest, size: bytes.length };
    const head = await this.request(this.url(repository, `blobs/${digest}`), { method: 'HEAD' });
    if (head.ok) return descriptor;
    const started = await this.request(this.url(repository, 'blobs/uploads/'), { method: 'POST' });
    if (started.status !== 202) await this.fail(`starting the upload of ${digest} to ${repository}`, started);
    const location = started.headers.get('location');
    if (!location) throw new RegistryError(`the upload of ${digest} to ${repository} has no location`);
    const target = new URL(location, `${this.base}/`);
    target.searchParams.set('digest', digest);
    const put = await this.request(target.toString(), {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    if (put.status !== 201) await this.fail(`uploading ${digest} to ${repository}`, put);
    return descriptor;
  }

  /** A blob's bytes, checked against its digest. */
  async getBlob(repository: string, digest: string): Promise<Buffer> {
    const response = await this.request(this.url(repository, `blobs/${digest}`));
    if (!response.ok) await this.fail(`reading blob ${digest} of ${repository}`, response);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (sha256(bytes) !== digest)
      throw new RegistryError(`blob ${digest} of ${repository} is not what its digest says`);
    return bytes;
  }

  /** Stores a manifest under a digest or a tag; returns its digest and the OCI-Subject header, if any. */
  async putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    bytes: Buffer,
  ): Promise<{ digest: string; subject: string | undefined }> {
    const response = await this.request(this.url(repository, `manifests/${reference}`), {
      method: 'PUT',
      headers: { 'content-type': mediaType },
      body: new Uint8Array(bytes),
    });
    if (response.status !== 201) await this.fail(`storing manifest ${repository}:${reference}`, response);
    return { digest: sha256(bytes), subject: response.headers.get('oci-subject') ?? undefined };
  }

  /** A manifest, or undefined when the registry has none under the reference. */
  async getManifest(repository: string, reference: string): Promise<StoredManifest | undefined> {
    const response = await this.request(this.url(repository, `manifests/${reference}`), {
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (response.status === 404) return undefined;
    if (!response.ok) await this.fail(`reading manifest ${repository}:${reference}`, response);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256(bytes);
    if (isDigest(reference) && digest !== reference)
      throw new RegistryError(`manifest ${repository}@${reference} is not what its digest says`);
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    return { mediaType, digest, bytes };
  }

  /**
   * The referrers API's list of a subject (OCI distribution 1.1), all its pages, or undefined when
   * the registry has no referrers API (it answers 404, as distribution 2.8 does).
   *
   * distribution-spec, "Listing Referrers": "A `Link` header MUST be included in the response when
   * the descriptor list cannot be returned in a single manifest. Each response is an image index
   * with different descriptors in the `manifests` field. The `Link` header MUST be set according to
   * RFC 5988 with the Relation Type `rel="next"`." The registry chooses the pages, so they are
   * bounded (`referrersLimits`), and a next page on another host than the registry is refused: the
   * request would carry the registry's password there.
   */
  async referrersIndex(
    repository: string,
    subject: string,
  ): Promise<{ manifests: Descriptor[] } | undefined> {
    const what = `the referrers of ${repository}@${subject}`;
    const manifests: Descriptor[] = [];
    let url = this.url(repository, `referrers/${subject}`);
    for (let page = 1; ; page++) {
      const response = await this.request(url, { headers: { accept: OCI_INDEX } });
      if (response.status === 404 && page === 1) return undefined;
      if (!response.ok) await this.fail(`listing ${what} (page ${page})`, response);
      const body = (await response.json()) as { manifests?: unknown };
      if (Array.isArray(body.manifests)) manifests.push(...(body.manifests as Descriptor[]));
      if (manifests.length > this.limits.descriptors)
        throw new RegistryError(`${what} are more than ${this.limits.descriptors} descriptors`);
      const next = nextLink(response.headers.get('link'), url);
      if (next === undefined) return { manifests };
      if (new URL(next).origin !== new URL(this.base).origin)
        throw new RegistryError(`${what}: the next page is on another host (${new URL(next).host})`);
      if (page >= this.limits.pages)
        throw new RegistryError(`${what} take more than ${this.limits.pages} pages`);
      url = next;
    }
  }
}

/**
 * The `rel="next"` target of a `Link` header (RFC 8288: `<uri>; rel="next"`, several links
 * separated by commas, a relation among others in `rel="next last"`), resolved against the URL of
 * the page that sent it; undefined when there is none.
 */
export function nextLink(header: string | null, from: string): string | undefined {
  if (!header) return undefined;
  // Both groups of a link always match (maybe empty); String() only tells TypeScript so.
  for (const [, target, params] of header.matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(String(params));
    if (!rel) continue;
    const relations = String(rel[1] ?? rel[2])
      .toLowerCase()
      .split(' ');
    if (relations.includes('next')) return new URL(String(target), from).toString();
  }
  return undefined;
}

/**
 * The images of a stored manifest: each platform's image of an index (attestation entries, whose
 * platform is unknown, left out), else the image itself.
 */
export function platformImages(stored: StoredManifest): Descriptor[] {
  const isIndex = stored.mediaType === OCI_INDEX || stored.mediaType === DOCKER_MANIFEST_LIST;
  if (!isIndex) return [{ mediaType: stored.mediaType, digest: stored.digest, size: stored.bytes.length }];
  const index = JSON.parse(stored.bytes.toString('utf8')) as {
    manifests?: (Descriptor & { platform?: { architecture?: string } })[];
  };
  return (index.manifests ?? []).filter(
    (m) => m.platform?.architecture !== undefined && m.platform.architecture !== 'unknown',
  );
}
