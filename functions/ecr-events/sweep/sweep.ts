/**
 * The stale-repository sweeper, in four stages: discover the repositories this stack manages
 * (discover.ts), judge each from its images' push and pull times (judge.ts), act on the
 * judgment (act.ts: mark, unmark, delete; a dry run, the default, changes nothing) and report
 * (report.ts). Protected names are never touched. Safe to run twice at once, and never
 * deletes under a build or a push: see act.ts. Throttling is left to the clients (the SDK's
 * adaptive retry mode, clients.ts).
 */
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { mapLimit } from '../../shared/retry.ts';
import type { SweepConfig } from '../config.ts';
import { describeError, type Logger } from '../logger.ts';
import { act } from './act.ts';
import { discover } from './discover.ts';
import type { ImageReference } from './in-use.ts';
import { isProtected, isStale, judge } from './judge.ts';
import type { Candidate, RepoResult } from './model.ts';
import { readActivity } from './read.ts';
import { buildReport, type SweepReport } from './report.ts';

export { parseMark } from './judge.ts';
export type { RepoNote, SweepReport } from './report.ts';

export interface SweepOptions extends SweepConfig {
  stackName: string;
  /** Managed repositories match this wildcard (the IAM policy is scoped by it too). */
  repositoryPattern: string;
  /** This stack's CodeBuild project: a repository it is building into is never deleted. */
  projectName: string;
  /** Regions the managed repositories replicate to: the summary says their replicas remain. */
  replicaRegions?: readonly string[];
}

export interface SweepDeps {
  ecr: ECRClient;
  /** Loaders of the clients only some sweeps need (clients.ts). */
  tagging: () => Promise<ResourceGroupsTaggingAPIClient>;
  lambda: () => Promise<LambdaClient>;
  ecs: () => Promise<ECSClient>;
  codebuild: () => Promise<CodeBuildClient>;
  now: () => Date;
  logger: Logger;
  /** True when the invocation is about to run out of time: no new repository is started. */
  shouldStop?: () => boolean;
}

/** Runs one sweep and returns what it did (or would do). */
export async function sweep(options: SweepOptions, deps: SweepDeps): Promise<SweepReport> {
  const now = deps.now();
  const { candidates, errors } = await discover(options, deps);
  const lookups = onceLookups(options, deps);
  const results = await mapLimit(candidates, options.concurrency, async (candidate) => {
    if (deps.shouldStop?.()) return { kind: 'skipped' } as RepoResult;
    try {
      return await sweepRepository(candidate, options, deps, now, lookups);
    } catch (error) {
      deps.logger.error('sweep failed for repository', {
        repository: candidate.name,
        error: describeError(error),
      });
      return { kind: 'error', error: describeError(error) } as RepoResult;
    }
  });
  return buildReport(options.dryRun, candidates, results, errors, options.replicaRegions);
}

interface Lookups {
  imagesInUse: () => Promise<Map<string, ImageReference[]>>;
  buildsInProgress: () => Promise<Map<string, string[]>>;
  buildsInProgressNow: () => Promise<Map<string, string[]>>;
}

/** Judges one repository and acts on the judgment. */
async function sweepRepository(
  c: Candidate,
  options: SweepOptions,
  deps: SweepDeps,
  now: Date,
  lookups: Lookups,
): Promise<RepoResult> {
  if (isProtected(c.name, options.protectedPatterns)) return { kind: 'protected' };
  const activity = await readActivity(deps.ecr, c, now);
  if (!activity) return { kind: 'gone' };
  // Only a stale repository is looked up among the images in use (the lookup is once per sweep).
  const usedBy =
    options.checkInUse && isStale(activity, now, options.staleDays)
      ? ((await lookups.imagesInUse()).get(c.name) ?? []).filter(
          (ref) => c.account === '' || ref.registry === c.account,
        )
      : [];
  const judgment = judge({ candidate: c, activity, usedBy, now, ...options });
  return act(judgment, c, activity, {
    ecr: deps.ecr,
    logger: deps.logger,
    dryRun: options.dryRun,
    now,
    buildsInProgress: lookups.buildsInProgress,
    buildsInProgressNow: lookups.buildsInProgressNow,
  });
}

/** The account-wide reads a sweep makes at most once, and only when a repository needs them. */
function onceLookups(options: SweepOptions, deps: SweepDeps): Lookups {
  let inUse: Promise<Map<string, ImageReference[]>> | undefined;
  let builds: Promise<Map<string, string[]>> | undefined;
  return {
    // The Lambda and ECS clients and commands are loaded only then.
    imagesInUse: () => {
      inUse ??= Promise.all([import('./in-use.ts'), deps.lambda(), deps.ecs()]).then(
        ([{ findImagesInUse }, lambda, ecs]) =>
          findImagesInUse({ lambda, ecs, concurrency: options.concurrency }),
      );
      return inUse;
    },
    buildsInProgress: () => {
      builds ??= readBuilds();
      return builds;
    },
    buildsInProgressNow: () => readBuilds(),
  };

  function readBuilds(): Promise<Map<string, string[]>> {
    return Promise.all([import('./running-builds.ts'), deps.codebuild()])
      .then(([{ findBuildsInProgress }, codebuild]) =>
        findBuildsInProgress({ codebuild, projectName: options.projectName, now: deps.now() }),
      )
      .catch((error) => {
        throw new Error(
          `not deleted: cannot read the builds of ${options.projectName || 'the project'} (${describeError(error)})`,
          // Stryker disable next-line ObjectLiteral: nothing reads the cause; the message carries what it says
          { cause: error },
        );
      });
  }
}
