/**
 * OCI 1.1 referrers of an image: artifacts (an SBOM, a provenance statement) stored as image
 * manifests whose `subject` is the image's descriptor. One way to attach and one way to list them,
 * whatever the registry: ECR keeps referrers itself (the referrers API, and `OCI-Subject` in the
 * answer to a manifest PUT); a registry without that API (Debian's distribution 2.8, the local
 * cloud's) gets the OCI 1.1 fallback, a tag `sha256-<hex>` naming an index of the subject's referrers.
 */
import {
  type Descriptor,
  isDigest,
  OCI_INDEX,
  OCI_MANIFEST,
  type RegistryClient,
  RegistryError,
  sha256,
} from './registry.ts';

/** The empty config of an artifact manifest (OCI image-spec 1.1: `{}`). */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

/** One artifact to attach: its type, its one layer's bytes and the manifest's annotations. */
export interface Artifact {
  artifactType: string;
  mediaType: string;
  bytes: Buffer;
  annotations?: Record<string, string>;
}

/** The fallback tag of a subject: `sha256:<hex>` becomes `sha256-<hex>`. */
export function fallbackTag(subject: string): string {
  if (!isDigest(subject)) throw new RegistryError(`"${subject}" is not a sha256 digest`);
  return subject.replace(':', '-');
}

/** How a registry keeps referrers: its API, or the fallback tag. */
export type ReferrersScheme = 'api' | 'tag';

function index(manifests: Descriptor[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

/** The descriptors the fallback tag's index lists now (none when there is no tag yet). */
async function fallbackEntries(registry: RegistryClient, repository: string, subject: string) {
  const stored = await registry.getManifest(repository, fallbackTag(subject));
  if (!stored) return [];
  const parsed = JSON.parse(stored.bytes.toString('utf8')) as { manifests?: Descriptor[] };
  return Array.isArray(parsed.manifests) ? parsed.manifests : [];
}

/**
 * Attaches the artifacts to the subject, in its repository, and returns their descriptors and how
 * the registry keeps them. On a registry without the referrers API the fallback index is written
 * once, with the entries it had (another build's, an earlier run's) and these, each digest once: a
 * second run of the same attach writes the same index.
 */
export async function attachReferrers(
  registry: RegistryClient,
  repository: string,
  subject: Descriptor,
  artifacts: Artifact[],
): Promise<{ scheme: ReferrersScheme; descriptors: Descriptor[] }> {
  await registry.putBlob(repository, EMPTY_CONFIG.mediaType, Buffer.from('{}'));
  const descriptors: Descriptor[] = [];
  let honoured = true;
  for (const artifact of artifacts) {
    const layer = await registry.putBlob(repository, artifact.mediaType, artifact.bytes);
    const manifest = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: artifact.artifactType,
      config: EMPTY_CONFIG,
      layers: [layer],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      ...(artifact.annotations ? { annotations: artifact.annotations } : {}),
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const put = await registry.putManifest(repository, sha256(bytes), OCI_MANIFEST, bytes);
    if (put.subject !== subject.digest) honoured = false;
    descriptors.push({
      mediaType: OCI_MANIFEST,
      digest: put.digest,
      size: bytes.length,
      artifactType: artifact.artifactType,
      ...(artifact.annotations ? { annotations: artifact.annotations } : {}),
    });
  }
  if (honoured || (await registry.referrersIndex(repository, subject.digest)) !== undefined)
    return { scheme: 'api', descriptors };
  const existing = await fallbackEntries(registry, repository, subject.digest);
  const kept = existing.filter((entry) => !descriptors.some((d) => d.digest === entry.digest));
  await registry.putManifest(
    repository,
    fallbackTag(subject.digest),
    OCI_INDEX,
    index([...kept, ...descriptors]),
  );
  return { scheme: 'tag', descriptors };
}

/**
 * The referrers of a subject, as the registry keeps them: its referrers API when it has one (every
 * page of it, bounded: `RegistryClient.referrersIndex`), else the fallback tag's index. `artifactType` keeps only those of that type.
 */
export async function listReferrers(
  registry: RegistryClient,
  repository: string,
  subject: string,
  artifactType?: string,
): Promise<{ scheme: ReferrersScheme; descriptors: Descriptor[] }> {
  if (!isDigest(subject)) throw new RegistryError(`"${subject}" is not a sha256 digest`);
  const answered = await registry.referrersIndex(repository, subject);
  const scheme: ReferrersScheme = answered ? 'api' : 'tag';
  const all = answered ? answered.manifests : await fallbackEntries(registry, repository, subject);
  const descriptors = artifactType ? all.filter((d) => d.artifactType === artifactType) : all;
  return { scheme, descriptors };
}
