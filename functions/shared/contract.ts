/**
 * The names that tie the parts of ecr-pipeline together: the build-trigger function, the buildspec,
 * the ecr-events function, the command-line tool and the local cloud all read them from here.
 * Changing one is a breaking change for deployed stacks and for users' uploads.
 */

import type { BuildDurations } from './build-durations.ts';

/** EventBridge `source` of the events this stack puts on the bus itself. */
export const EVENT_SOURCE = 'ecr-pipeline';

/** `detail-type` of the event the build-trigger function puts when it refuses an upload. */
export const BUILD_REJECTED = 'Build Rejected';

/** Why an upload was refused; stable codes for filters, the reason is for people. */
export type RejectionCode =
  | 'InvalidKey'
  | 'UnsupportedExtension'
  | 'InvalidRepositoryName'
  | 'InvalidTag'
  | 'ContextTooLarge'
  | 'EmptyContext'
  | 'InvalidMetadata'
  | 'RepositoryNotAllowed'
  | 'RepositoryNotManaged'
  | 'TagAlreadyExists'
  | 'NotLambdaSafe';

/** `detail` of a `Build Rejected` event. */
export interface BuildRejectedDetail {
  bucket: string;
  key: string;
  versionId?: string;
  code: RejectionCode;
  reason: string;
  repository?: string;
  tag?: string;
}

/**
 * User metadata an upload may carry (`x-amz-meta-<name>`; S3 returns the names in lower case).
 * Values are US-ASCII. `build-args` is a JSON object of strings; `platforms` a comma-separated list;
 * `lambda-safe` is `true` when the image must run on Lambda (a plain image manifest, never an index:
 * a request for several platforms is refused).
 * `secrets` names build secrets (docs/build-secrets.md).
 */
export const UPLOAD_METADATA = {
  dockerfile: 'dockerfile',
  buildArgs: 'build-args',
  target: 'target',
  platforms: 'platforms',
  lambdaSafe: 'lambda-safe',
  /**
   * Build secrets: a JSON object `{"ID": "NAME"}` (or a list `["ID=NAME"]`) of SSM SecureString
   * parameter or Secrets Manager secret names under the stack's buildSecretsPrefix; names, never values.
   */
  secrets: 'secrets',
} as const;

/** Upload metadata the release function reads (not the build): a stricter gate than the stack's. */
export const RELEASE_METADATA = {
  /** `none` or `scan`: a gate stricter than the stack's (a looser one is ignored, and said so). */
  gate: 'release-gate',
  /** A severity lower than the stack's `releaseMaxSeverity`: holds the image on lesser findings too. */
  maxSeverity: 'release-max-severity',
} as const;

/** Build variables that `StartBuild` passes to `buildspec/buildspec.yml` (all PLAINTEXT, none secret). */
export const BUILD_ENV = {
  bucket: 'CONTEXT_BUCKET',
  key: 'CONTEXT_KEY',
  /** Empty when the bucket is not versioned. */
  versionId: 'CONTEXT_VERSION_ID',
  /** The object's ETag, without quotes: lets the build fetch the exact object when the bucket is not versioned. */
  eTag: 'CONTEXT_ETAG',
  /** `<registry>/<repository>`, as ECR's `repositoryUri` gives it. */
  repositoryUri: 'IMAGE_REPOSITORY_URI',
  repository: 'IMAGE_REPOSITORY',
  tag: 'IMAGE_TAG',
  /** The registry cache's tag in the image's own repository; empty where that tag may not move (no cache). */
  cacheTag: 'IMAGE_CACHE_TAG',
  /**
   * The one platform this build makes, as one leg of a multi-platform upload (`linux/arm64`); empty
   * for an upload that names no platform. The release joins the legs' images into one index.
   */
  platform: 'BUILD_PLATFORM',
} as const;

/**
 * The tag of a repository's BuildKit registry cache. A build's credentials reach its own repository
 * only, so its cache lives there, under a tag that moves with every build.
 */
export const CACHE_TAG = 'ecr-pipeline-cache';

/**
 * The `WILDCARD` tag-mutability exclusion filter of repositories this stack creates
 * (`IMMUTABLE_WITH_EXCLUSION`): the cache tag stays mutable, every release tag is immutable.
 * Uploads may not use a tag it matches.
 */
export const CACHE_TAG_PATTERN = `${CACHE_TAG}*`;

/** Variable the buildspec exports (`exported-variables`) with the digest of the pushed image. */
export const BUILD_EXPORTED_DIGEST = 'IMAGE_DIGEST';

/**
 * Variable the buildspec exports with what the build attached to the image as OCI referrers of its
 * digest, comma-separated (`sbom,provenance`), as the buildspec's own scripts wrote it.
 */
export const BUILD_EXPORTED_ATTESTATIONS = 'IMAGE_ATTESTATIONS';

/** What a build attaches to its image (docs/supply-chain.md). */
export type Attestation = 'sbom' | 'provenance' | 'signed';
/** What a build attaches and exports (IMAGE_ATTESTATIONS); `signed` is the release's own finding. */
export const ATTESTATIONS: readonly Attestation[] = ['sbom', 'provenance'];

/**
 * Variable the buildspec exports with why the build stopped (`superseded: ...`, `TagAlreadyExists:
 * ...`), as the buildspec's own scripts wrote it to a file outside the context; empty when they did
 * not stop it. The pipeline's verdict travels here, never in the log, which the build's RUN steps
 * write too.
 */
export const BUILD_EXPORTED_VERDICT = 'PIPELINE_VERDICT';

/**
 * How the build's verdict (BUILD_EXPORTED_VERDICT) starts when a newer upload of the key exists and
 * this build did not push: the upload is superseded, not failed.
 */
export const BUILD_SUPERSEDED = 'superseded:';

/** Resource tag keys on ECR repositories. */
export const REPOSITORY_TAGS = {
  /** Marks a repository this stack created; its value is the stack name. Only these are ever deleted. */
  managedBy: 'ecr-pipeline:managed-by',
  /** Set by the sweeper when it finds the repository stale (ISO date); cleared by a push. */
  staleSince: 'ecr-pipeline:stale-since',
} as const;

/** `detail-type` of the event the release function puts on the stack's bus once per upload outcome. */
export const RELEASE_VERDICT = 'Release Verdict';

/**
 * What became of a built image: `released` (the tag points at it), `held` (a gate stopped it; the
 * image stays pushed by digest), `superseded` (a newer upload of the key won), `rejected` (the tag
 * already names another image in an immutable repository), `failed` (the release could not be done).
 */
export type ReleaseVerdict = 'released' | 'held' | 'superseded' | 'rejected' | 'failed';

/** The release gates: `none` releases once the build succeeded; `scan` waits for the image's scan. */
export type ReleaseGate = 'none' | 'scan';

/**
 * The values of the stack's releaseGate parameter (and of an upload's release-gate metadata): the
 * scan gate, the signature (ECR managed signing), both, or neither. resources/release.yml's
 * RequiresSigned condition reads the same spellings.
 */
export const RELEASE_GATES = ['none', 'scan', 'signed', 'scan,signed'] as const;
export type ReleaseGateSetting = (typeof RELEASE_GATES)[number];

/** `detail` of a `Release Verdict` event. */
export interface ReleaseVerdictDetail {
  verdict: ReleaseVerdict;
  bucket: string;
  key: string;
  versionId?: string;
  repository: string;
  tag: string;
  digest?: string;
  buildId?: string;
  gate: ReleaseGate;
  /** `scan`: the worst severity that holds the image. */
  maxSeverity?: string;
  /** Why, for people (every verdict but `released`, and a released override). */
  reason?: string;
  /** The scan's findings by severity, when the gate read them. */
  counts?: Partial<Record<string, number>>;
  /** `rejected`: the image the tag already names. */
  existingDigest?: string;
  /** A held image released by an operator. */
  override?: { reason: string; by: string; at: string };
  /**
   * What the build attached to the image as referrers (`sbom`, `provenance`), and `signed` when the
   * release found the image signed (releaseGate signed: DescribeImageSigningStatus COMPLETE).
   */
  attestations?: Attestation[];
  /** Where the build spent its time, as CodeBuild reported it (one build). */
  durations?: BuildDurations;
  /** Several platforms: the legs joined into the index, in order, which were emulated, their times. */
  legs?: { platform: string; emulated: boolean; durations?: BuildDurations }[];
}

/**
 * A direct invocation of the release function that releases a held image anyway (`ecr-pipeline
 * release --override`). Only a principal allowed `lambda:InvokeFunction` on the release function can
 * send it; the uploader's role is not.
 */
export interface ReleaseOverrideRequest {
  action: 'override';
  /** Key of the upload record, under the stack's records folder. */
  record: string;
  reason: string;
  /** Who asks, as the caller states it (the CLI sends its STS caller identity). */
  by: string;
}
