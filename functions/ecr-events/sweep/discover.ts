/**
 * Stage 1, discover: the repositories this stack manages (tagged managed-by with the stack's name)
 * whose names match the repository pattern. Through the Tagging API (one call per 100, the tags come
 * with the ARNs) or, for emulators without it, DescribeRepositories and ListTagsForResource.
 */
import { type ECRClient, paginateDescribeRepositories } from '@aws-sdk/client-ecr';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { REPOSITORY_TAGS } from '../../shared/contract.ts';
import { mapLimit } from '../../shared/retry.ts';
import { wildcardToRegExp } from '../../shared/wildcard.ts';
import type { Discovery } from '../config.ts';
import { describeError } from '../logger.ts';
import { type Candidate, isNotFound } from './model.ts';
import { readTags, tagRecord } from './read.ts';

export interface DiscoverOptions {
  stackName: string;
  repositoryPattern: string;
  discovery: Discovery;
  concurrency: number;
}

export interface DiscoverDeps {
  ecr: ECRClient;
  tagging: () => Promise<ResourceGroupsTaggingAPIClient>;
}

export interface Discovered {
  candidates: Candidate[];
  /** Repositories whose tags could not be read: maybe ours, so reported. */
  errors: { repository: string; error: string }[];
}

/** The candidates of a sweep. Throws when the repositories cannot be listed. */
export async function discover(options: DiscoverOptions, deps: DiscoverDeps): Promise<Discovered> {
  const inPattern = wildcardToRegExp(options.repositoryPattern);
  const found =
    options.discovery === 'tagging-api'
      ? { candidates: await discoverByTaggingApi(options.stackName, deps.tagging), errors: [] }
      : await discoverByListTags(options, deps.ecr, inPattern);
  return { ...found, candidates: found.candidates.filter((c) => inPattern.test(c.name)) };
}

/** One call per 100 managed repositories: the tags come with the ARNs. */
async function discoverByTaggingApi(
  stackName: string,
  loadTagging: DiscoverDeps['tagging'],
): Promise<Candidate[]> {
  const [{ paginateGetResources }, tagging] = await Promise.all([import('../sdk/tagging.ts'), loadTagging()]);
  const found: Candidate[] = [];
  for await (const page of paginateGetResources(
    { client: tagging, pageSize: 100 },
    {
      ResourceTypeFilters: ['ecr:repository'],
      TagFilters: [{ Key: REPOSITORY_TAGS.managedBy, Values: [stackName] }],
    },
  )) {
    // Stryker disable next-line ArrayDeclaration: a made-up element has no ResourceARN and is skipped below
    for (const mapping of page.ResourceTagMappingList ?? []) {
      const arn = mapping.ResourceARN;
      const parsed = arn ? /^arn:[^:]+:ecr:[^:]*:(\d*):repository\/(.+)$/.exec(arn) : null;
      if (!arn || !parsed) continue;
      found.push({
        name: parsed[2] as string,
        arn,
        account: parsed[1] as string,
        tags: tagRecord(mapping.Tags),
      });
    }
  }
  return found;
}

/** DescribeRepositories pages, then ListTagsForResource per repository in the pattern. */
async function discoverByListTags(
  options: DiscoverOptions,
  ecr: ECRClient,
  inPattern: RegExp,
): Promise<Discovered> {
  const repositories: Candidate[] = [];
  for await (const page of paginateDescribeRepositories({ client: ecr, pageSize: 1000 }, {})) {
    // Stryker disable next-line ArrayDeclaration: a made-up element has no repositoryName and is skipped below
    for (const repo of page.repositories ?? []) {
      if (!repo.repositoryName || !repo.repositoryArn || !inPattern.test(repo.repositoryName)) continue;
      repositories.push({
        name: repo.repositoryName,
        arn: repo.repositoryArn,
        account: repo.registryId ?? '',
        tags: {},
        createdAt: repo.createdAt,
      });
    }
  }
  const errors: Discovered['errors'] = [];
  const tagged = await mapLimit(repositories, options.concurrency, async (repo) => {
    try {
      return { ...repo, tags: await readTags(ecr, repo.arn) };
    } catch (error) {
      // Unknown tags: not a candidate this time. Reported, because it may be one of ours.
      if (!isNotFound(error)) errors.push({ repository: repo.name, error: describeError(error) });
      return undefined;
    }
  });
  const candidates = tagged.filter(
    (repo): repo is Candidate => repo?.tags[REPOSITORY_TAGS.managedBy] === options.stackName,
  );
  return { candidates, errors };
}
