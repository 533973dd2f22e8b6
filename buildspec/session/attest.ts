/**
 * What a build attaches to the image it pushed, as OCI referrers of the image's digest: an SBOM of
 * each image (each platform's image of a multi-platform one; CycloneDX JSON made by the pinned
 * trivy from the pushed image itself) and one SLSA v1 provenance statement (provenance.ts). The
 * image stays what was pushed: nothing is added to its manifest or index.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PREDICATE_ANNOTATION, PROVENANCE_TYPE, SBOM_TYPE } from '../../shared/oci/attestations.ts';
import { type Artifact, attachReferrers } from '../../shared/oci/referrers.ts';
import { type Descriptor, isDigest, platformImages, type RegistryClient } from '../../shared/oci/registry.ts';
import {
  type BaseImage,
  baseImageNames,
  buildArgNames,
  type ProvenanceSource,
  provenanceStatement,
  SLSA_PROVENANCE_V1,
} from './provenance.ts';

export { PREDICATE_ANNOTATION, PROVENANCE_TYPE, SBOM_TYPE };

/** Files of the work folder attest reads and writes. */
export const ATTEST_FILES = {
  digest: 'digest',
  buildArgs: 'build-args',
  contextSha256: 'context.sha256',
  /** What was attached, comma-separated (`sbom,provenance`): the buildspec exports it. */
  attestations: 'attestations',
} as const;

export interface AttestInput {
  workDir: string;
  contextDir: string;
  /** `<registry>/<repository>` */
  repositoryUri: string;
  repository: string;
  tag: string;
  source: Omit<ProvenanceSource, 'sha256'>;
  dockerfile: string;
  target: string;
  platforms: string;
  builder: string;
  buildArn: string;
  startedOn: Date;
}

export interface AttestDeps {
  registry: RegistryClient;
  /** CycloneDX JSON of the image at `<repositoryUri>@<digest>`. */
  sbom: (reference: string) => Promise<Buffer>;
  /** The digest of the base image the builder used, or undefined when it cannot tell. */
  baseDigest: (name: string) => Promise<string | undefined>;
  now: () => Date;
  say: (line: string) => void;
}

/** The attach failed; the message says which step. */
export class AttestError extends Error {
  override name = 'AttestError';
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new AttestError(`${what} (${path}) cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

/** Attaches the SBOMs and the provenance; writes what it attached to the work folder. */
export async function attest(deps: AttestDeps, input: AttestInput): Promise<string[]> {
  const digest = (await readText(join(input.workDir, ATTEST_FILES.digest), 'the pushed digest')).trim();
  if (!isDigest(digest)) throw new AttestError(`the pushed digest "${digest}" is not a sha256 digest`);
  const sha256 = (
    await readText(join(input.workDir, ATTEST_FILES.contextSha256), "the archive's sha256")
  ).trim();
  const stored = await deps.registry.getManifest(input.repository, digest);
  if (!stored) throw new AttestError(`${input.repository}@${digest} is not in the registry`);
  const subject: Descriptor = { mediaType: stored.mediaType, digest, size: stored.bytes.length };
  const images = platformImages(stored);

  // Each subject's artifacts in one attach: on a registry without the referrers API its fallback
  // tag is written once (a repository with immutable tags would refuse to move it).
  const sboms = new Map<string, Artifact[]>();
  for (const image of images) {
    const sbom = await deps.sbom(`${input.repositoryUri}@${image.digest}`);
    sboms.set(image.digest, [{ artifactType: SBOM_TYPE, mediaType: SBOM_TYPE, bytes: sbom }]);
  }

  const argEntries = (await readFile(join(input.workDir, ATTEST_FILES.buildArgs), 'utf8').catch(() => ''))
    .split('\0')
    .filter((entry) => entry !== '');
  const buildArgs = Object.fromEntries(
    argEntries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
  const dockerfileText = await readText(join(input.contextDir, input.dockerfile), 'the Dockerfile');
  const baseImages: BaseImage[] = [];
  for (const name of baseImageNames(dockerfileText, buildArgs)) {
    const pinned = /@(sha256:[0-9a-f]{64})$/.exec(name)?.[1];
    const resolved = pinned ?? (await baseDigestOf(deps, name));
    baseImages.push(resolved ? { name, digest: resolved } : { name });
  }
  const statement = provenanceStatement({
    repositoryUri: input.repositoryUri,
    digest,
    tag: input.tag,
    source: { ...input.source, sha256 },
    dockerfile: input.dockerfile,
    target: input.target,
    platforms: input.platforms,
    buildArgNames: buildArgNames(argEntries),
    baseImages,
    builder: input.builder,
    buildArn: input.buildArn,
    startedOn: input.startedOn,
    finishedOn: deps.now(),
  });
  const provenance: Artifact = {
    artifactType: PROVENANCE_TYPE,
    mediaType: PROVENANCE_TYPE,
    bytes: Buffer.from(JSON.stringify(statement)),
    annotations: { [PREDICATE_ANNOTATION]: SLSA_PROVENANCE_V1 },
  };
  for (const image of images) {
    if (image.digest === digest) continue;
    await attachReferrers(deps.registry, input.repository, image, sboms.get(image.digest) ?? []);
    deps.say(`attached the SBOM of ${input.repositoryUri}@${image.digest}`);
  }
  const own = [...(sboms.get(digest) ?? []), provenance];
  const { scheme } = await attachReferrers(deps.registry, input.repository, subject, own);
  deps.say(
    `attached ${own.length > 1 ? 'the SBOM and ' : ''}the provenance of ${input.repositoryUri}@${digest} (${scheme === 'api' ? 'referrers API' : 'fallback tag'})`,
  );
  const attached = ['sbom', 'provenance'];
  await writeFile(join(input.workDir, ATTEST_FILES.attestations), attached.join(','));
  return attached;
}

/** The digest the builder used for a base image; when it cannot be told, the build log says why. */
async function baseDigestOf(deps: AttestDeps, name: string): Promise<string | undefined> {
  let reason = 'the builder reports none';
  const digest = await deps.baseDigest(name).catch((error: unknown) => {
    reason = String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
    return undefined;
  });
  if (!digest)
    deps.say(`no digest for the base image ${name} (${reason}): the provenance names it without one`);
  return digest;
}
