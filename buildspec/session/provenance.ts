/**
 * The build's SLSA v1 provenance: an in-toto statement saying which CodeBuild build made the image,
 * from which uploaded object (bucket, key, version id and the archive's sha256, as the build fetched
 * it), with which parameters (Dockerfile path, target, platforms, build-arg NAMES: values may be
 * credentials and are never written) and which base images (by digest), and when.
 *
 * Every field comes from the build's own variables and from what the build's scripts did before any
 * step of the upload ran or after it ended: never from the build's output, which the uploader's
 * Dockerfile writes.
 */

import { SLSA_PROVENANCE_V1, STATEMENT_TYPE } from '../../shared/oci/attestations.ts';

export { SLSA_PROVENANCE_V1, STATEMENT_TYPE };
/** What `externalParameters` means here (docs/supply-chain.md describes each field). */
// Stryker disable next-line StringLiteral: a name its readers compare, read once at module load
export const BUILD_TYPE = 'https://ecr-pipeline.dev/codebuild-upload/v1';

export interface ProvenanceSource {
  bucket: string;
  key: string;
  /** Empty when the bucket is not versioned. */
  versionId: string;
  /** sha256 (hex) of the archive as fetched. */
  sha256: string;
}

export interface BaseImage {
  /** The reference as the Dockerfile's FROM names it (after build-arg substitution). */
  name: string;
  /** `sha256:<hex>` of what the builder used; undefined when it could not be told. */
  digest?: string;
}

export interface ProvenanceInput {
  /** `<registry>/<repository>` */
  repositoryUri: string;
  /** The pushed image's digest (the statement's subject). */
  digest: string;
  tag: string;
  source: ProvenanceSource;
  dockerfile: string;
  target: string;
  platforms: string;
  /** Names of the build args; their values never reach the statement. */
  buildArgNames: string[];
  baseImages: BaseImage[];
  builder: string;
  /** CodeBuild's CODEBUILD_BUILD_ARN. */
  buildArn: string;
  startedOn: Date;
  finishedOn: Date;
}

/** The CodeBuild project's ARN from one of its build ARNs (`...:build/<project>:<uuid>`). */
export function projectArn(buildArn: string): string {
  // Stryker disable next-line Regex: without `$` the greedy `(.+)` still ends at the last colon
  const match = /^(arn:[^:]+:codebuild:[^:]*:\d*:)build\/(.+):[^:]+$/.exec(buildArn);
  if (!match) throw new Error(`"${buildArn}" is not a CodeBuild build ARN`);
  return `${match[1]}project/${match[2]}`;
}

/** The names of `NAME=VALUE` build-arg entries (the values stay out). */
export function buildArgNames(entries: string[]): string[] {
  return entries.filter((entry) => entry.includes('=')).map((entry) => entry.slice(0, entry.indexOf('=')));
}

/** `s3://bucket/key`, with `?versionId=` when the object has a version. */
export function sourceUri(source: ProvenanceSource): string {
  const version = source.versionId === '' ? '' : `?versionId=${encodeURIComponent(source.versionId)}`;
  return `s3://${source.bucket}/${source.key}${version}`;
}

/** The in-toto statement with the SLSA v1 provenance predicate of one build. */
export function provenanceStatement(input: ProvenanceInput) {
  const source = input.source;
  const hex = (digest: string) => digest.slice('sha256:'.length);
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.repositoryUri, digest: { sha256: hex(input.digest) } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          source: {
            bucket: source.bucket,
            key: source.key,
            versionId: source.versionId,
            sha256: source.sha256,
          },
          dockerfile: input.dockerfile,
          target: input.target,
          platforms: input.platforms,
          buildArgs: input.buildArgNames,
          tag: input.tag,
        },
        internalParameters: { builder: input.builder },
        resolvedDependencies: [
          { uri: sourceUri(source), digest: { sha256: source.sha256 } },
          ...input.baseImages.map((base) => ({
            uri: base.name,
            ...(base.digest ? { digest: { sha256: hex(base.digest) } } : {}),
          })),
        ],
      },
      runDetails: {
        builder: { id: projectArn(input.buildArn) },
        metadata: {
          invocationId: input.buildArn,
          startedOn: input.startedOn.toISOString(),
          finishedOn: input.finishedOn.toISOString(),
        },
      },
    },
  };
}

export type ProvenanceStatement = ReturnType<typeof provenanceStatement>;

/**
 * The images the Dockerfile's stages start FROM: `${NAME}` and `$NAME` replaced by the build arg or
 * the ARG default before the first FROM; stage names and `scratch` are not images.
 */
export function baseImageNames(dockerfile: string, buildArgs: Record<string, string>): string[] {
  const defaults: Record<string, string> = {};
  const stages = new Set<string>();
  const names: string[] = [];
  let seenFrom = false;
  const ARG = /^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/i;
  const FROM = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i;
  const lines = dockerfile.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  for (const line of lines) {
    const arg = ARG.exec(line);
    if (arg && !seenFrom) {
      defaults[arg[1] as string] = (arg[2] ?? '').replace(/^"(.*)"$/, '$1');
      continue;
    }
    const from = FROM.exec(line);
    if (!from) continue;
    seenFrom = true;
    const name = (from[1] as string).replace(
      /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
      (_all, variable: string) => buildArgs[variable] ?? defaults[variable] ?? '',
    );
    if (
      name !== '' &&
      name.toLowerCase() !== 'scratch' &&
      !stages.has(name.toLowerCase()) &&
      !names.includes(name)
    )
      names.push(name);
    if (from[2]) stages.add(from[2].toLowerCase());
  }
  return names;
}
