import { type CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { BUILD_ENV } from '../shared/contract.ts';
import { classify } from './errors.ts';

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
  };
  return Object.entries(values).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' }));
}

/** Starts the build; returns its id. */
export async function startBuild(codebuild: CodeBuildClient, request: BuildRequest): Promise<string> {
  try {
    const out = await codebuild.send(
      new StartBuildCommand({
        projectName: request.projectName,
        environmentVariablesOverride: buildVariables(request),
        idempotencyToken: request.idempotencyToken,
      }),
    );
    return out.build?.id ?? '';
  } catch (error) {
    throw classify(error, `StartBuild ${request.projectName}`);
  }
}
