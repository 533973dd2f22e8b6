/**
 * Which repositories a build of this stack's project is queued for or running into, so that the
 * sweeper never deletes one under a build. CodeBuild reports a queued build as IN_PROGRESS too
 * (currentPhase SUBMITTED, QUEUED, PROVISIONING), so every IN_PROGRESS build counts. Read once per
 * sweep, newest first, and only as far back as a build can still be running.
 * The sweeper imports this module (and with it the CodeBuild commands) only when it may delete.
 */
import {
  BatchGetBuildsCommand,
  type CodeBuildClient,
  paginateListBuildsForProject,
} from '@aws-sdk/client-codebuild';
import { BUILD_ENV } from '../../shared/contract.ts';

/** CodeBuild's longest build timeout (36 h) and longest queued timeout (8 h): no build started earlier still runs. */
export const MAX_BUILD_LIFETIME_MS = (2160 + 480) * 60_000;
/** Pages of (up to 100) build ids read at most; a project with more builds in that time deletes nothing. */
export const MAX_BUILD_PAGES = 10;

export interface BuildsDeps {
  codebuild: CodeBuildClient;
  projectName: string;
  now: Date;
  maxPages?: number;
}

/** Map of repository name -> ids of the builds queued or running into it. Throws when it cannot tell. */
export async function findBuildsInProgress(deps: BuildsDeps): Promise<Map<string, string[]>> {
  if (!deps.projectName) throw new Error('no CodeBuild project name (BUILD_PROJECT_NAME)');
  const maxPages = deps.maxPages ?? MAX_BUILD_PAGES;
  const since = deps.now.getTime() - MAX_BUILD_LIFETIME_MS;
  const byRepository = new Map<string, string[]>();
  let pages = 0;
  for await (const page of paginateListBuildsForProject(
    { client: deps.codebuild },
    { projectName: deps.projectName, sortOrder: 'DESCENDING' },
  )) {
    pages++;
    const ids = page.ids ?? [];
    if (ids.length === 0) break;
    // Stryker disable next-line ArrayDeclaration: a placeholder element is no build in progress and has no start time
    const { builds = [] } = await deps.codebuild.send(new BatchGetBuildsCommand({ ids }));
    for (const build of builds) {
      if (build.buildStatus !== 'IN_PROGRESS' || !build.id) continue;
      const repository = build.environment?.environmentVariables?.find(
        (variable) => variable.name === BUILD_ENV.repository,
      )?.value;
      if (repository) byRepository.set(repository, [...(byRepository.get(repository) ?? []), build.id]);
    }
    // Newest first: once a build is older than any build can run, the older pages hold none in progress.
    if (builds.some((build) => build.startTime && build.startTime.getTime() < since)) break;
    if (pages >= maxPages && page.nextToken) {
      throw new Error(
        `more than ${pages} pages of builds of ${deps.projectName} in the last ${MAX_BUILD_LIFETIME_MS / 3_600_000} hours`,
      );
    }
  }
  return byRepository;
}
