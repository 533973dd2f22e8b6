/**
 * The names that tie the parts of ecr-pipeline together: the build-trigger function, the buildspec,
 * the ecr-events function, the command-line tool and the local cloud all read them from here.
 * Changing one is a breaking change for deployed stacks and for users' uploads.
 */

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
  | 'TagAlreadyExists';

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
 * `secrets` names build secrets (docs/build-secrets.md).
 */
export const UPLOAD_METADATA = {
  dockerfile: 'dockerfile',
  buildArgs: 'build-args',
  target: 'target',
  platforms: 'platforms',
  /**
   * Build secrets: a JSON object `{"ID": "NAME"}` (or a list `["ID=NAME"]`) of SSM SecureString
   * parameter or Secrets Manager secret names under the stack's buildSecretsPrefix; names, never values.
   */
  secrets: 'secrets',
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
} as const;

/** Variable the buildspec exports (`exported-variables`) with the digest of the pushed image. */
export const BUILD_EXPORTED_DIGEST = 'IMAGE_DIGEST';

/**
 * How the buildspec's refusal line starts (`ecr-pipeline: superseded: ...`, without the `ecr-pipeline: `)
 * when a newer upload of the key exists and this build did not push: the upload is superseded, not failed.
 */
export const BUILD_SUPERSEDED = 'superseded:';

/** Resource tag keys on ECR repositories. */
export const REPOSITORY_TAGS = {
  /** Marks a repository this stack created; its value is the stack name. Only these are ever deleted. */
  managedBy: 'ecr-pipeline:managed-by',
  /** Set by the sweeper when it finds the repository stale (ISO date); cleared by a push. */
  staleSince: 'ecr-pipeline:stale-since',
} as const;
