/**
 * Why a build stopped, in the pipeline's own words: the variable the buildspec exports
 * (BUILD_EXPORTED_VERDICT), which only the buildspec's scripts write, read back with BatchGetBuilds.
 * Never a line of the log: the build's RUN steps write the log too, and could print
 * `ecr-pipeline: superseded: ...` to turn a failure into a superseded upload.
 */
import type { Build, CodeBuildClient } from '@aws-sdk/client-codebuild';
import { BUILD_EXPORTED_VERDICT } from '../../shared/contract.ts';

/** The build's verdict, or undefined when its scripts did not stop it (or the build is unknown). */
export async function readBuildVerdict(
  codebuild: () => Promise<Pick<CodeBuildClient, 'send'>>,
  buildId: string,
): Promise<string | undefined> {
  const [client, { BatchGetBuildsCommand }] = await Promise.all([codebuild(), import('../sdk/codebuild.ts')]);
  const out = await client.send(new BatchGetBuildsCommand({ ids: [buildId] }));
  return verdictOf(out?.builds?.[0]);
}

/** The verdict of a build CodeBuild already described (BatchGetBuilds), or undefined. */
export function verdictOf(build: Build | undefined): string | undefined {
  const verdict = build?.exportedEnvironmentVariables?.find((v) => v.name === BUILD_EXPORTED_VERDICT);
  return verdict?.value?.trim() || undefined;
}
