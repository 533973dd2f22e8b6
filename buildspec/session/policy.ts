/**
 * The session policy of one build: what the credentials the build assumes may do, whatever the
 * build-session role's own policy allows (IAM grants the intersection of the two). Exactly the
 * uploaded object, the registry login, push and pull on the one repository the build makes (its
 * registry cache is a tag there), pull on the private base images the stack allows, and pull and
 * import through the stack's pull-through cache rules.
 */

/** The ECR actions of a push (and of the pulls a push and a cached build make). */
export const PUSH_AND_PULL = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
] as const;

/** The ECR actions of a pull. */
export const PULL = [
  'ecr:BatchCheckLayerAvailability',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
] as const;

/** AWS limits a session policy's plain text to 2,048 characters. */
export const MAX_SESSION_POLICY_CHARS = 2048;

export interface SessionScope {
  /** ARN of the role the build assumes: its partition and account are those of every other ARN. */
  roleArn: string;
  region: string;
  bucket: string;
  key: string;
  repository: string;
  /** IAM wildcard of the base-image repositories (the stack's basePullPattern); empty: none. */
  basePullPattern: string;
  /**
   * The registry mirrors of the stack's pull-through cache rules, "host=prefix,..." as build-image.sh
   * reads them (PULL_THROUGH_CACHE); empty or absent: none.
   */
  pullThroughCache?: string;
  /** The AWS Signer profile of ECR managed signing (SIGNING_PROFILE_ARN); empty or absent: no signing. */
  signingProfileArn?: string;
}

/** The scope cannot be written as a policy that means exactly it; the message says why. */
export class ScopeError extends Error {
  override name = 'ScopeError';
}

// IAM reads `*` and `?` in a Resource as wildcards and `${...}` as a variable: a name holding one
// would widen the policy. The build-trigger never starts a build for such names. (The patterns here
// are built in the functions that use them, not at module load, where mutation testing cannot vary them.)
function literal(what: string, value: string): string {
  if (!/^[^*?$]+$/.test(value))
    throw new ScopeError(`${what} "${value}" holds *, ? or $, which IAM would not read literally`);
  return value;
}

/** The session policy document of one build, as the compact JSON AssumeRole takes. */
export function sessionPolicy(scope: SessionScope): string {
  const role = /^arn:([a-z-]+):iam::(\d{12}):role\/.+$/.exec(scope.roleArn);
  if (!role) throw new ScopeError(`"${scope.roleArn}" is not a role ARN`);
  const [, partition, account] = role;
  const repositoryArn = (name: string) =>
    `arn:${partition}:ecr:${scope.region}:${account}:repository/${name}`;
  const statements: object[] = [
    {
      Sid: 'ThisContext',
      Effect: 'Allow',
      Action: ['s3:GetObject', 's3:GetObjectVersion'],
      Resource: `arn:${partition}:s3:::${literal('bucket', scope.bucket)}/${literal('key', scope.key)}`,
    },
    { Sid: 'RegistryLogin', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    {
      Sid: 'ThisRepository',
      Effect: 'Allow',
      Action: [...PUSH_AND_PULL],
      Resource: repositoryArn(literal('repository', scope.repository)),
    },
  ];
  if (scope.basePullPattern !== '') {
    statements.push({
      Sid: 'BaseImages',
      Effect: 'Allow',
      Action: [...PULL],
      Resource: repositoryArn(scope.basePullPattern),
    });
  }
  const prefixes = pullThroughPrefixes(scope.pullThroughCache ?? '');
  if (prefixes.length > 0) {
    // An image the cache does not hold yet is imported, its repository created the first time (ECR
    // user guide, "IAM permissions required to sync an upstream registry"); BuildSessionRole denies
    // any push there.
    statements.push({
      Sid: 'PullThroughCache',
      Effect: 'Allow',
      Action: [...PULL, 'ecr:BatchImportUpstreamImage', 'ecr:CreateRepository'],
      Resource: prefixes.map((prefix) => repositoryArn(`${prefix}/*`)),
    });
  }
  const profile = scope.signingProfileArn ?? '';
  if (profile !== '') {
    // ECR managed signing signs the push with the pusher's identity (ECR user guide, "Managed signing").
    if (!isSigningProfile(profile) || !profile.startsWith(`arn:${partition}:signer:`))
      throw new ScopeError(`SIGNING_PROFILE_ARN "${profile}" is not a signing profile ARN of this partition`);
    statements.push({ Sid: 'SignPush', Effect: 'Allow', Action: 'signer:SignPayload', Resource: profile });
  }
  const text = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  if (text.length > MAX_SESSION_POLICY_CHARS) {
    throw new ScopeError(
      `the session policy of this build is ${text.length} characters, over AWS's ${MAX_SESSION_POLICY_CHARS}: use a shorter key or repository name`,
    );
  }
  return text;
}

/** Whether `arn` is an AWS Signer signing profile ARN (of any partition). */
function isSigningProfile(arn: string): boolean {
  return /^arn:[a-z-]+:signer:[a-z0-9-]+:\d{12}:\/signing-profiles\/[A-Za-z0-9_]{2,64}$/.test(arn);
}

/** The ECR repository prefixes of a "host=prefix,..." mirror list; a malformed entry is refused. */
export function pullThroughPrefixes(mirrors: string): string[] {
  return mirrors
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const prefix = entry.slice(entry.indexOf('=') + 1);
      if (!entry.includes('=') || !/^[a-z0-9][a-z0-9._/-]*$/.test(prefix))
        throw new ScopeError(`bad PULL_THROUGH_CACHE entry "${entry}": use host=prefix`);
      return prefix;
    });
}

/** A role session name (2-64 of `[\w+=,.@-]`) from the build id. */
export function sessionName(buildId: string): string {
  const name = buildId.replace(/[^\w+=,.@-]/g, '-').slice(-64);
  return name.length >= 2 ? name : `build-${name}`;
}
