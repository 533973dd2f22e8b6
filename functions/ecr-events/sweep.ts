/**
 * The stale-repository sweeper. Only repositories tagged as managed by this stack are candidates;
 * protected names are never touched. A stale repository (no push and no recorded pull for N days)
 * is first marked with the date and reported; one still stale when the grace period has passed is
 * deleted. Dry run (the default) reports the same and changes nothing. Safe to run twice at once:
 * the mark is re-read just before deleting, and a repository that is already gone is not reported.
 * Never deletes under a build or a push: a repository with a build of this stack's project queued or
 * running is kept (the builds are read once per sweep; unreadable, nothing is deleted), and right
 * before deleting its images are read again: anything pushed since the judgment keeps it.
 */

import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { REPOSITORY_TAGS } from '../shared/contract.ts';
import { AdaptiveRate, isThrottling, mapLimit, withRetry } from '../shared/retry.ts';
import { wildcardToRegExp } from '../shared/wildcard.ts';
import type { SweepConfig } from './config.ts';
import type { ImageReference } from './in-use.ts';
import { describeError, type Logger } from './logger.ts';
import type { Sender } from './sender.ts';

const DAY_MS = 86_400_000;
/** `lastRecordedPullTime` is refreshed about once a day: a pull may be up to a day later than recorded. */
const PULL_TIME_SLACK_DAYS = 1;

export interface RepoNote {
  repository: string;
  note?: string;
}

export interface SweepReport {
  dryRun: boolean;
  /** Managed repositories looked at. */
  candidates: number;
  /** Newly marked stale (or that would be, in a dry run). */
  marked: RepoNote[];
  /** Deleted (or that would be). */
  deleted: RepoNote[];
  /** Marked earlier, no longer stale (pushed, pulled or in use): the mark was removed. */
  unmarked: RepoNote[];
  /** Marked, grace period not over yet. */
  pending: RepoNote[];
  /** Stale but referenced by a Lambda function or an ECS task definition, or with a build queued or running. */
  inUse: RepoNote[];
  protected: RepoNote[];
  /** Everything not marked, deleted or in error this time. */
  kept: number;
  errors: { repository: string; error: string }[];
}

export interface SweepOptions extends SweepConfig {
  stackName: string;
  /** Managed repositories match this wildcard (the IAM policy is scoped by it too). */
  repositoryPattern: string;
  /** This stack's CodeBuild project: a repository it is building into is never deleted. */
  projectName: string;
}

export interface SweepDeps {
  ecr: Sender;
  /** Loaders of the clients only some sweeps need (clients.ts). */
  tagging: () => Promise<Pick<ResourceGroupsTaggingAPIClient, 'send'>>;
  lambda: () => Promise<LambdaClient>;
  ecs: () => Promise<ECSClient>;
  codebuild: () => Promise<CodeBuildClient>;
  now: () => Date;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** True when the invocation is about to run out of time: no new repository is started. */
  shouldStop?: () => boolean;
}

interface Candidate {
  name: string;
  arn: string;
  account: string;
  tags: Record<string, string>;
  createdAt?: Date;
}

type Outcome =
  | { kind: 'active' | 'gone' | 'skipped' }
  | { kind: 'protected' | 'marked' | 'deleted' | 'unmarked' | 'pending' | 'in-use'; note?: string };

const errorName = (error: unknown) => (error as { name?: string } | undefined)?.name;
const isNotFound = (error: unknown) => errorName(error) === 'RepositoryNotFoundException';
const isoDay = (date: Date) => date.toISOString().slice(0, 10);
/** Tags as ECR and the Tagging API list them, as a key -> value record. */
function tagRecord(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags ?? []) if (tag.Key) record[tag.Key] = tag.Value ?? '';
  return record;
}

/** Parses a stale-since tag value (`YYYY-MM-DD`); anything else counts as no mark. */
export function parseMark(value: string | undefined): Date | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Runs one sweep and returns what it did (or would do). */
export async function sweep(options: SweepOptions, deps: SweepDeps): Promise<SweepReport> {
  const now = deps.now();
  // One adaptive rate per API operation, shared by every worker of this sweep.
  const rates = new Map<string, AdaptiveRate>();
  const call = <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    let rate = rates.get(operation);
    if (!rate) {
      rate = new AdaptiveRate({ maxPerSecond: 200, sleep: deps.sleep });
      rates.set(operation, rate);
    }
    const gate = rate;
    return withRetry(
      async () => {
        await gate.acquire();
        try {
          const result = await fn();
          gate.succeeded();
          return result;
        } catch (error) {
          if (isThrottling(error)) gate.throttled();
          throw error;
        }
      },
      {
        attempts: 10,
        baseDelayMs: 100,
        maxDelayMs: 5000,
        sleep: deps.sleep,
        random: deps.random,
        onRetry: (error, attempt, delayMs) =>
          deps.logger.debug('retrying', { operation, error: errorName(error), attempt, delayMs }),
      },
    );
  };
  const protectedNames = options.protectedPatterns.map(wildcardToRegExp);
  const inPattern = wildcardToRegExp(options.repositoryPattern);
  const report: SweepReport = {
    dryRun: options.dryRun,
    candidates: 0,
    marked: [],
    deleted: [],
    unmarked: [],
    pending: [],
    inUse: [],
    protected: [],
    kept: 0,
    errors: [],
  };

  const discovered =
    options.discovery === 'tagging-api' ? await discoverByTaggingApi() : await discoverByListTags();
  const candidates = discovered.filter((c) => inPattern.test(c.name));
  report.candidates = candidates.length;

  let inUseIndex: Promise<Map<string, ImageReference[]>> | undefined;
  const imagesInUse = () => {
    // Loaded only when a stale repository is found: the Lambda and ECS clients and commands.
    inUseIndex ??= Promise.all([import('./in-use.ts'), deps.lambda(), deps.ecs()]).then(
      ([{ findImagesInUse }, lambda, ecs]) =>
        findImagesInUse({ lambda, ecs, concurrency: options.concurrency }),
    );
    return inUseIndex;
  };

  let buildIndex: Promise<Map<string, string[]>> | undefined;
  const buildsInProgress = () => {
    // Loaded only when a repository is due for deletion, once per sweep.
    buildIndex ??= Promise.all([import('./builds.ts'), deps.codebuild()])
      .then(([{ findBuildsInProgress }, codebuild]) =>
        findBuildsInProgress({ codebuild, projectName: options.projectName, now }),
      )
      .catch((error) => {
        throw new Error(
          `not deleted: cannot read the builds of ${options.projectName || 'the project'} (${describeError(error)})`,
          { cause: error },
        );
      });
    return buildIndex;
  };

  const outcomes = await mapLimit(candidates, options.concurrency, async (candidate) => {
    if (deps.shouldStop?.()) return { kind: 'skipped' } as Outcome;
    try {
      return await evaluate(candidate);
    } catch (error) {
      deps.logger.error('sweep failed for repository', {
        repository: candidate.name,
        error: describeError(error),
      });
      report.errors.push({ repository: candidate.name, error: describeError(error) });
      return undefined;
    }
  });

  outcomes.forEach((outcome, i) => {
    const repository = (candidates[i] as Candidate).name;
    if (!outcome) return;
    const note = 'note' in outcome ? outcome.note : undefined;
    const entry = note ? { repository, note } : { repository };
    switch (outcome.kind) {
      case 'marked':
        report.marked.push(entry);
        return;
      case 'deleted':
        report.deleted.push(entry);
        return;
      case 'gone':
        return;
      case 'skipped':
        report.errors.push({ repository, error: 'not reached before the invocation timeout; next sweep' });
        return;
      case 'unmarked':
        report.unmarked.push(entry);
        break;
      case 'pending':
        report.pending.push(entry);
        break;
      case 'in-use':
        report.inUse.push(entry);
        break;
      case 'protected':
        report.protected.push(entry);
        break;
    }
    report.kept++;
  });
  return report;

  /** One call per 100 managed repositories: the tags come with the ARNs. */
  async function discoverByTaggingApi(): Promise<Candidate[]> {
    const found: Candidate[] = [];
    const [{ GetResourcesCommand }, tagging] = await Promise.all([
      import('./sdk/tagging.ts'),
      deps.tagging(),
    ]);
    let token: string | undefined;
    do {
      const page = await call('GetResources', () =>
        tagging.send(
          new GetResourcesCommand({
            ResourceTypeFilters: ['ecr:repository'],
            TagFilters: [{ Key: REPOSITORY_TAGS.managedBy, Values: [options.stackName] }],
            ResourcesPerPage: 100,
            PaginationToken: token,
          }),
        ),
      );
      for (const mapping of page.ResourceTagMappingList ?? []) {
        const arn: string | undefined = mapping.ResourceARN;
        const parsed = arn ? /^arn:[^:]+:ecr:[^:]*:(\d*):repository\/(.+)$/.exec(arn) : null;
        if (!arn || !parsed) continue;
        found.push({
          name: parsed[2] as string,
          arn,
          account: parsed[1] as string,
          tags: tagRecord(mapping.Tags),
        });
      }
      token = page.PaginationToken || undefined;
    } while (token);
    return found;
  }

  /** DescribeRepositories pages, then ListTagsForResource per repository (for emulators without the Tagging API). */
  async function discoverByListTags(): Promise<Candidate[]> {
    const repositories: Candidate[] = [];
    let token: string | undefined;
    do {
      const page = await call('DescribeRepositories', () =>
        deps.ecr.send(new DescribeRepositoriesCommand({ maxResults: 1000, nextToken: token })),
      );
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
      token = page.nextToken;
    } while (token);
    const tagged = await mapLimit(repositories, options.concurrency, async (repo) => {
      try {
        repo.tags = await readTags(repo.arn);
        return repo;
      } catch (error) {
        // Unknown tags: not a candidate this time. Reported, because it may be one of ours.
        if (!isNotFound(error)) report.errors.push({ repository: repo.name, error: describeError(error) });
        return undefined;
      }
    });
    return tagged.filter(
      (repo): repo is Candidate => repo?.tags[REPOSITORY_TAGS.managedBy] === options.stackName,
    );
  }

  async function readTags(arn: string): Promise<Record<string, string>> {
    const out = await call('ListTagsForResource', () =>
      deps.ecr.send(new ListTagsForResourceCommand({ resourceArn: arn })),
    );
    return tagRecord(out.tags);
  }

  async function evaluate(c: Candidate): Promise<Outcome> {
    if (protectedNames.some((pattern) => pattern.test(c.name))) return { kind: 'protected' };
    const activity = await lastActivity(c);
    if (!activity) return { kind: 'gone' };
    const mark = parseMark(c.tags[REPOSITORY_TAGS.staleSince]);
    const pushedBefore = now.getTime() - options.staleDays * DAY_MS;
    const pulledBefore = now.getTime() - (options.staleDays + PULL_TIME_SLACK_DAYS) * DAY_MS;
    const stale =
      activity.lastPush.getTime() < pushedBefore &&
      (!activity.lastPull || activity.lastPull.getTime() < pulledBefore);
    if (!stale) return mark ? unmark(c, 'used again') : { kind: 'active' };

    if (options.checkInUse) {
      const refs = (await imagesInUse())
        .get(c.name)
        ?.filter((ref) => c.account === '' || ref.registry === c.account);
      if (refs && refs.length > 0) {
        const users = [...new Set(refs.map((ref) => ref.user))];
        const note = `(used by ${users.slice(0, 3).join(', ')}${users.length > 3 ? ', ...' : ''})`;
        if (mark) await unmark(c, note);
        return { kind: 'in-use', note };
      }
    }
    const idle = `(no push since ${isoDay(activity.lastPush)}${activity.lastPull ? `, last pull ${isoDay(activity.lastPull)}` : ', never pulled'})`;
    if (!mark) {
      const deleteAfter = new Date(now.getTime() + options.graceDays * DAY_MS);
      if (!options.dryRun) {
        await call('TagResource', () =>
          deps.ecr.send(
            new TagResourceCommand({
              resourceArn: c.arn,
              tags: [{ Key: REPOSITORY_TAGS.staleSince, Value: isoDay(now) }],
            }),
          ),
        );
      }
      deps.logger.info(options.dryRun ? 'would mark stale' : 'marked stale', { repository: c.name });
      return { kind: 'marked', note: `${idle}; deletion on or after ${isoDay(deleteAfter)}` };
    }
    const deleteAfter = mark.getTime() + options.graceDays * DAY_MS;
    if (now.getTime() < deleteAfter)
      return { kind: 'pending', note: `(deletion on or after ${isoDay(new Date(deleteAfter))})` };
    // build-trigger removes the mark before it starts a build into a marked repository, and the mark
    // is re-read below: a build started after this read stops the deletion too.
    const building = (await buildsInProgress()).get(c.name);
    if (building && building.length > 0)
      return { kind: 'in-use', note: `(being built: ${building.slice(0, 3).join(', ')})` };
    if (!options.dryRun) {
      // Another sweep or a push may have acted since the tags were read: re-read the mark right before deleting.
      const current = await readTags(c.arn).catch((error) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
      if (!current) return { kind: 'gone' };
      if (current[REPOSITORY_TAGS.staleSince] !== c.tags[REPOSITORY_TAGS.staleSince])
        return { kind: 'active' };
      // A push since the judgment (or since the mark, should its event have been lost) keeps it.
      const again = await lastActivity(c);
      if (!again) return { kind: 'gone' };
      const pushedSince = Math.max(activity.lastPush.getTime() + 1, mark.getTime());
      if (again.lastPush.getTime() >= pushedSince)
        return unmark(c, `pushed ${again.lastPush.toISOString()}, after it was judged stale`);
      try {
        await call('DeleteRepository', () =>
          deps.ecr.send(
            new DeleteRepositoryCommand({
              repositoryName: c.name,
              registryId: c.account || undefined,
              force: true,
            }),
          ),
        );
      } catch (error) {
        // Already deleted by an overlapping sweep, which reports it: not reported twice.
        if (isNotFound(error)) return { kind: 'gone' };
        throw error;
      }
    }
    deps.logger.info(options.dryRun ? 'would delete' : 'deleted', { repository: c.name });
    return { kind: 'deleted', note: `${idle}; marked ${isoDay(mark)}` };
  }

  async function unmark(c: Candidate, note: string): Promise<Outcome> {
    if (!options.dryRun) {
      await call('UntagResource', () =>
        deps.ecr.send(
          new UntagResourceCommand({ resourceArn: c.arn, tagKeys: [REPOSITORY_TAGS.staleSince] }),
        ),
      );
    }
    return { kind: 'unmarked', note };
  }

  /** Latest push and recorded pull over every image; an empty repository counts from its creation. */
  async function lastActivity(c: Candidate): Promise<{ lastPush: Date; lastPull?: Date } | undefined> {
    let lastPush = 0;
    let lastPull = 0;
    let images = 0;
    let token: string | undefined;
    try {
      do {
        const page = await call('DescribeImages', () =>
          deps.ecr.send(
            new DescribeImagesCommand({
              repositoryName: c.name,
              registryId: c.account || undefined,
              maxResults: 1000,
              nextToken: token,
            }),
          ),
        );
        for (const image of page.imageDetails ?? []) {
          images++;
          lastPush = Math.max(lastPush, toTime(image.imagePushedAt));
          lastPull = Math.max(lastPull, toTime(image.lastRecordedPullTime));
        }
        token = page.nextToken;
      } while (token);
      if (images === 0) {
        let created = c.createdAt;
        if (!created) {
          const out = await call('DescribeRepositories', () =>
            deps.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [c.name] })),
          );
          created = out.repositories?.[0]?.createdAt;
        }
        // Unknown creation time: treat as just created, the safe side.
        lastPush = created ? toTime(created) : now.getTime();
      }
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    return { lastPush: new Date(lastPush), lastPull: lastPull > 0 ? new Date(lastPull) : undefined };
  }
}

function toTime(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' || typeof value === 'number') {
    const time = new Date(value).getTime();
    return Number.isNaN(time) ? 0 : time;
  }
  return 0;
}
