import {
  BatchGetBuildsCommand,
  type CodeBuildClient,
  ListBuildsForProjectCommand,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import { BUILD_ENV } from '../shared/contract.ts';
import { classify } from './errors.ts';
import type { BuildEnvironment } from './platforms.ts';

/** What one build makes: the exact object version and the target image. */
export interface BuildRequest {
  projectName: string;
  bucket: string;
  key: string;
  versionId?: string | undefined;
  eTag?: string | undefined;
  repository: string;
  repositoryUri: string;
  tag: string;
  /** The registry cache's tag in the repository, or empty when that tag may not move there. */
  cacheTag: string;
  /** Same object version, same token: CodeBuild starts one build for both requests (within 5 minutes). */
  idempotencyToken: string;
  /**
   * An upload that names platforms: the environment of its build, and, when it is one leg of
   * several (joined into an index by the release), the one platform this build makes.
   */
  leg?: { platform?: string | undefined; environment: BuildEnvironment } | undefined;
}

/** The build variables of a request; all PLAINTEXT and none secret (they are echoed in build events). */
export function buildVariables(request: BuildRequest): { name: string; value: string; type: 'PLAINTEXT' }[] {
  const values: Record<string, string> = {
    [BUILD_ENV.bucket]: request.bucket,
    [BUILD_ENV.key]: request.key,
    [BUILD_ENV.versionId]: request.versionId ?? '',
    [BUILD_ENV.eTag]: request.eTag ?? '',
    [BUILD_ENV.repositoryUri]: request.repositoryUri,
    [BUILD_ENV.repository]: request.repository,
    [BUILD_ENV.tag]: request.tag,
    [BUILD_ENV.cacheTag]: request.cacheTag,
    ...(request.leg?.platform ? { [BUILD_ENV.platform]: request.leg.platform } : {}),
  };
  return Object.entries(values).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' }));
}

/**
 * The id of a build already started for this object version among the project's newest (one page:
 * 100), or undefined. A StartBuild whose answer was lost (a timeout after CodeBuild started the
 * build) and that is replayed after the idempotency token's five minutes would otherwise build twice.
 */
export async function existingBuild(
  codebuild: CodeBuildClient,
  request: BuildRequest,
): Promise<string | undefined> {
  const listed = await codebuild.send(
    new ListBuildsForProjectCommand({ projectName: request.projectName, sortOrder: 'DESCENDING' }),
  );
  const ids = listed?.ids ?? [];
  if (ids.length === 0) return undefined;
  const got = await codebuild.send(new BatchGetBuildsCommand({ ids: ids.slice(0, 100) }));
  const wanted = buildVariables(request).filter((v) =>
    [BUILD_ENV.bucket, BUILD_ENV.key, BUILD_ENV.versionId, BUILD_ENV.eTag, BUILD_ENV.platform].includes(
      v.name as never,
    ),
  );
  if (!request.leg?.platform) wanted.push({ name: BUILD_ENV.platform, value: '', type: 'PLAINTEXT' });
  const same = (got?.builds ?? []).find((build) => {
    const variables = build.environment?.environmentVariables ?? [];
    return wanted.every(({ name, value }) => (variables.find((v) => v.name === name)?.value ?? '') === value);
  });
  return same?.id;
}

/**
 * Starts the build; returns its id. `resumed`: an earlier attempt of this upload may have started
 * one (its answer lost), so a build of this object version already there is answered instead.
 */
export async function startBuild(
  codebuild: CodeBuildClient,
  request: BuildRequest,
  resumed = false,
): Promise<string> {
  try {
    const started = resumed ? await existingBuild(codebuild, request) : undefined;
    if (started) return started;
    const out = await codebuild.send(
      new StartBuildCommand({
        projectName: request.projectName,
        environmentVariablesOverride: buildVariables(request),
        idempotencyToken: request.idempotencyToken,
        ...(request.leg
          ? {
              environmentTypeOverride: request.leg.environment.type,
              imageOverride: request.leg.environment.image,
              computeTypeOverride: request.leg.environment.computeType as never,
            }
          : {}),
      }),
    );
    return out.build?.id ?? '';
  } catch (error) {
    throw classify(error, `StartBuild ${request.projectName}`);
  }
}
