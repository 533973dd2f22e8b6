import type { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  type Repository,
  type Tag,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { BoundedMap } from '../shared/bounded-map.ts';
import { CACHE_TAG_PATTERN, REPOSITORY_TAGS } from '../shared/contract.ts';
import { isTagImmutable } from '../shared/tag-immutability.ts';
import { wildcardToRegExp } from '../shared/wildcard.ts';
import type { Config } from './config.ts';
import { classify } from './errors.ts';

/**
 * How this stack stands to a repository: `managed` carries its managed-by tag (it created it),
 * `adopted` was created elsewhere but matches `adoptRepositoryPattern` (pushed to, never modified),
 * `foreign` is neither and is never built into.
 */
export type Ownership = { kind: 'managed' } | { kind: 'adopted' } | { kind: 'foreign'; managedBy?: string };

/** What the function needs to know of a repository. */
export interface RepositoryInfo {
  name: string;
  uri: string;
  arn: string;
  mutability: string;
  /** Tag patterns excluded from the mutability setting (`*_WITH_EXCLUSION`). */
  exclusions: string[];
  /** True when this call created it (the lifecycle policy is then ours to set). */
  created: boolean;
  ownership: Ownership;
  /** The sweeper's stale mark is on it: a build into it must clear the mark first. */
  staleMarked: boolean;
}

/** Repository descriptions kept per container for a short while, so a warm upload skips DescribeRepositories. */
export class RepositoryCache {
  readonly #entries: BoundedMap<string, { info: RepositoryInfo; expires: number }>;

  constructor(
    readonly ttlMs: number,
    readonly capacity = 500,
  ) {
    this.#entries = new BoundedMap(capacity);
  }

  get(name: string, now: number): RepositoryInfo | undefined {
    const entry = this.#entries.get(name);
    if (entry && entry.expires > now) return entry.info;
    this.#entries.delete(name);
    return undefined;
  }

  set(info: RepositoryInfo, now: number): void {
    this.#entries.set(info.name, { info, expires: now + this.ttlMs });
  }

  delete(name: string): void {
    this.#entries.delete(name);
  }
}

/** The lifecycle policy of a created repository: expire untagged images after N days, keep the last N tagged. */
export function lifecyclePolicy(config: Pick<Config, 'untaggedExpiryDays' | 'keepTaggedImages'>): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `Expire untagged images ${config.untaggedExpiryDays} days after push`,
        selection: {
          tagStatus: 'untagged',
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: config.untaggedExpiryDays,
        },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: `Keep the last ${config.keepTaggedImages} tagged images`,
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['*'],
          countType: 'imageCountMoreThan',
          countNumber: config.keepTaggedImages,
        },
        action: { type: 'expire' },
      },
    ],
  });
}

function toInfo(
  repository: Repository | undefined,
  name: string,
  facts: Pick<RepositoryInfo, 'created' | 'ownership' | 'staleMarked'>,
): RepositoryInfo {
  // Stryker disable next-line OptionalChaining: both callers pass a repository ECR described or created
  if (!repository?.repositoryUri || !repository.repositoryArn)
    throw classify(new Error('no repositoryUri or repositoryArn in the response'), `ECR ${name}`);
  return {
    name,
    uri: repository.repositoryUri,
    arn: repository.repositoryArn,
    mutability: repository.imageTagMutability ?? 'MUTABLE',
    // Stryker disable next-line ArrayDeclaration: any list without filter objects gives no exclusions
    exclusions: (repository.imageTagMutabilityExclusionFilters ?? []).flatMap((f) =>
      f.filter ? [f.filter] : [],
    ),
    ...facts,
  };
}

const errorNamed = (error: unknown, name: string): boolean => error instanceof Error && error.name === name;

async function describe(ecr: ECRClient, name: string): Promise<Repository | undefined> {
  try {
    const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
    return out.repositories?.[0];
  } catch (error) {
    if (errorNamed(error, 'RepositoryNotFoundException')) return undefined;
    throw classify(error, `DescribeRepositories ${name}`);
  }
}

/** The repository's tags; undefined when it is gone. */
async function listTags(ecr: ECRClient, name: string, arn: string): Promise<Tag[] | undefined> {
  try {
    const out = await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    // Stryker disable next-line ArrayDeclaration: a list without tags or with keyless items judges alike
    return out.tags ?? [];
  } catch (error) {
    if (errorNamed(error, 'RepositoryNotFoundException')) return undefined;
    throw classify(error, `ListTagsForResource ${name}`);
  }
}

/** Whose a repository is, from its tags and the adoption pattern. */
export function ownershipOf(
  config: Pick<Config, 'stackName' | 'adoptRepositoryPattern'>,
  name: string,
  tags: Tag[],
): Ownership {
  const managedBy = tags.find((tag) => tag.Key === REPOSITORY_TAGS.managedBy)?.Value;
  if (managedBy === config.stackName) return { kind: 'managed' };
  const adopt = config.adoptRepositoryPattern;
  // Stryker disable next-line ConditionalExpression,StringLiteral: an empty pattern matches no name anyway
  if (adopt !== '' && wildcardToRegExp(adopt).test(name)) return { kind: 'adopted' };
  return managedBy === undefined ? { kind: 'foreign' } : { kind: 'foreign', managedBy };
}

/** An existing repository with its ownership read from its tags; undefined when there is none. */
async function inspect(ecr: ECRClient, config: Config, name: string): Promise<RepositoryInfo | undefined> {
  const existing = await describe(ecr, name);
  if (!existing) return undefined;
  const arn = existing.repositoryArn;
  // Stryker disable next-line ArrayDeclaration: a description without an ARN is refused by toInfo whatever the tags
  const tags = arn ? await listTags(ecr, name, arn) : [];
  if (!tags) return undefined;
  const ownership = ownershipOf(config, name, tags);
  return toInfo(existing, name, {
    created: false,
    ownership,
    // Only a managed repository is ever swept, so only its mark matters (and may be cleared).
    staleMarked: ownership.kind === 'managed' && tags.some((tag) => tag.Key === REPOSITORY_TAGS.staleSince),
  });
}

async function create(ecr: ECRClient, config: Config, name: string): Promise<Repository | undefined> {
  try {
    const out = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        // Immutable release tags, with the cache tag excluded so that every build can move it.
        ...(config.tagMutability === 'IMMUTABLE'
          ? {
              imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
              imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: CACHE_TAG_PATTERN }],
            }
          : { imageTagMutability: config.tagMutability }),
        imageScanningConfiguration: { scanOnPush: config.scanOnPush },
        encryptionConfiguration:
          config.encryptionType === 'KMS'
            ? { encryptionType: 'KMS', ...(config.kmsKey ? { kmsKey: config.kmsKey } : {}) }
            : { encryptionType: 'AES256' },
        // The only way the managed-by tag is ever set: IAM allows it in CreateRepository alone.
        tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: config.stackName }],
      }),
    );
    return out.repository;
  } catch (error) {
    // Someone created it between our describe and create: theirs is judged like any existing one.
    if (errorNamed(error, 'RepositoryAlreadyExistsException')) return undefined;
    throw classify(error, `CreateRepository ${name}`);
  }
}

async function setLifecyclePolicy(deps: { ecr: ECRClient; config: Config; logger: Logger }, name: string) {
  try {
    await deps.ecr.send(
      new PutLifecyclePolicyCommand({
        repositoryName: name,
        lifecyclePolicyText: lifecyclePolicy(deps.config),
      }),
    );
  } catch (error) {
    // The repository exists now, so a retry would find it and never set the policy: build anyway, loudly.
    deps.logger.error(
      'could not set the lifecycle policy of a created repository',
      classify(error, `PutLifecyclePolicy ${name}`),
    );
  }
}

/**
 * Finds the repository and whose it is (cached per container with its tags), or creates it as
 * managed: tagged in the same call, scanned, encrypted, with a lifecycle policy. A repository that
 * already exists is never modified; the caller refuses it unless it is managed or adopted.
 */
export async function ensureRepository(
  deps: { ecr: ECRClient; config: Config; logger: Logger; repositories: RepositoryCache; now: () => Date },
  name: string,
): Promise<RepositoryInfo> {
  const now = deps.now().getTime();
  const cached = deps.repositories.get(name, now);
  if (cached) return cached;

  let info = await inspect(deps.ecr, deps.config, name);
  if (!info) {
    const created = await create(deps.ecr, deps.config, name);
    if (created) {
      info = toInfo(created, name, { created: true, ownership: { kind: 'managed' }, staleMarked: false });
      deps.logger.info('created repository', { repositoryUri: info.uri });
      await setLifecyclePolicy(deps, name);
    } else {
      info = await inspect(deps.ecr, deps.config, name);
      if (!info) throw classify(new Error('created by someone else, then deleted'), `ECR ${name}`);
    }
  }
  // Only this call created it: later uploads must look for existing tags.
  deps.repositories.set({ ...info, created: false }, now);
  return info;
}

/** Removes the sweeper's stale mark (only that tag) from a managed repository about to be built into. */
export async function clearStaleMark(
  deps: { ecr: ECRClient; repositories: RepositoryCache; now: () => Date },
  info: RepositoryInfo,
): Promise<RepositoryInfo> {
  try {
    await deps.ecr.send(
      new UntagResourceCommand({ resourceArn: info.arn, tagKeys: [REPOSITORY_TAGS.staleSince] }),
    );
  } catch (error) {
    throw classify(error, `UntagResource ${info.name}`);
  }
  const cleared = { ...info, staleMarked: false };
  deps.repositories.set({ ...cleared, created: false }, deps.now().getTime());
  return cleared;
}

/** Whether pushing `tag` would be refused because tags are immutable (shared with the CLI). */
export { isTagImmutable };

/** Whether the repository already holds an image with this tag. */
export async function tagExists(ecr: ECRClient, repository: string, tag: string): Promise<boolean> {
  try {
    const out = await ecr.send(
      new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }),
    );
    return (out.imageDetails?.length ?? 0) > 0;
  } catch (error) {
    if (errorNamed(error, 'ImageNotFoundException')) return false;
    throw classify(error, `DescribeImages ${repository}:${tag}`);
  }
}
