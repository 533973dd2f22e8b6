import type { Logger } from '@aws-lambda-powertools/logger';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  PutLifecyclePolicyCommand,
  type Repository,
} from '@aws-sdk/client-ecr';
import { REPOSITORY_TAGS } from '../shared/contract.ts';
import { wildcardToRegExp } from '../shared/wildcard.ts';
import type { Config } from './config.ts';
import { classify } from './errors.ts';

/** What the function needs to know of a repository. */
export interface RepositoryInfo {
  name: string;
  uri: string;
  mutability: string;
  /** Tag patterns excluded from the mutability setting (`*_WITH_EXCLUSION`). */
  exclusions: string[];
  /** True when this call created it (the lifecycle policy is then ours to set). */
  created: boolean;
}

/** Repository descriptions kept per container for a short while, so a warm upload skips DescribeRepositories. */
export class RepositoryCache {
  readonly #entries = new Map<string, { info: RepositoryInfo; expires: number }>();

  constructor(
    readonly ttlMs: number,
    readonly capacity = 500,
  ) {}

  get(name: string, now: number): RepositoryInfo | undefined {
    const entry = this.#entries.get(name);
    if (entry && entry.expires > now) return entry.info;
    this.#entries.delete(name);
    return undefined;
  }

  set(info: RepositoryInfo, now: number): void {
    this.#entries.delete(info.name);
    this.#entries.set(info.name, { info, expires: now + this.ttlMs });
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
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

function toInfo(repository: Repository | undefined, name: string, created: boolean): RepositoryInfo {
  if (!repository?.repositoryUri)
    throw classify(new Error('no repositoryUri in the response'), `ECR ${name}`);
  return {
    name,
    uri: repository.repositoryUri,
    mutability: repository.imageTagMutability ?? 'MUTABLE',
    exclusions: (repository.imageTagMutabilityExclusionFilters ?? []).flatMap((f) =>
      f.filter ? [f.filter] : [],
    ),
    created,
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

async function create(ecr: ECRClient, config: Config, name: string): Promise<Repository | undefined> {
  try {
    const out = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        imageTagMutability: config.tagMutability,
        imageScanningConfiguration: { scanOnPush: config.scanOnPush },
        encryptionConfiguration:
          config.encryptionType === 'KMS'
            ? { encryptionType: 'KMS', ...(config.kmsKey ? { kmsKey: config.kmsKey } : {}) }
            : { encryptionType: 'AES256' },
        tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: config.stackName }],
      }),
    );
    return out.repository;
  } catch (error) {
    // Another container created it between our describe and create: use theirs.
    if (errorNamed(error, 'RepositoryAlreadyExistsException')) return undefined;
    throw classify(error, `CreateRepository ${name}`);
  }
}

/**
 * Finds the repository or creates it (managed: tagged, scanned, encrypted, with a lifecycle policy).
 * A repository that already exists is used as it is and never modified.
 */
export async function ensureRepository(
  deps: { ecr: ECRClient; config: Config; logger: Logger; repositories: RepositoryCache; now: () => Date },
  name: string,
): Promise<RepositoryInfo> {
  const now = deps.now().getTime();
  const cached = deps.repositories.get(name, now);
  if (cached) return cached;

  let info: RepositoryInfo;
  const existing = await describe(deps.ecr, name);
  if (existing) {
    info = toInfo(existing, name, false);
  } else {
    const created = await create(deps.ecr, deps.config, name);
    if (created) {
      info = toInfo(created, name, true);
      deps.logger.info('created repository', { repositoryUri: info.uri });
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
    } else {
      info = toInfo(await describe(deps.ecr, name), name, false);
    }
  }
  // Only this call created it: later uploads must look for existing tags.
  deps.repositories.set({ ...info, created: false }, now);
  return info;
}

/** Whether pushing `tag` to the repository would be refused because tags there are immutable. */
export function isTagImmutable(
  info: Pick<RepositoryInfo, 'mutability' | 'exclusions'>,
  tag: string,
): boolean {
  const excluded = info.exclusions.some((pattern) => wildcardToRegExp(pattern).test(tag));
  switch (info.mutability) {
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
    default:
      return false;
  }
}

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
