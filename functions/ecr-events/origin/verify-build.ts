/**
 * Asks CodeBuild about the build a state-change event names, before anything is written about it:
 * the build must exist, belong to this stack's project, and, when the event says the build ended,
 * have ended that way. The upload the build is about is read from CodeBuild's answer, not from the
 * event, so that no payload can point a real build's outcome at another upload's record.
 */
import type { Build } from '@aws-sdk/client-codebuild';
import { BUILD_ENV } from '../../shared/contract.ts';
import type { BuildUpload } from '../uploads/progress.ts';

export interface BuildQuestion {
  /** The build ARN of the event (`build-id`). */
  id: string;
  /** The event's `build-status`. */
  status: string;
  projectName: string;
}

export type BuildCheck = { ok: true; build: Build } | { ok: false; reason: string };

/** The build as CodeBuild describes it (BatchGetBuilds), or undefined when it has none by that id. */
export type DescribeBuild = (id: string) => Promise<Build | undefined>;

/** Whether CodeBuild confirms the event's build: its project and, for an ended build, its status. */
export async function verifyBuild(describe: DescribeBuild, question: BuildQuestion): Promise<BuildCheck> {
  const build = await describe(question.id);
  if (!build) return { ok: false, reason: `CodeBuild has no build ${question.id}` };
  if (build.projectName !== question.projectName) {
    return {
      ok: false,
      reason: `build ${question.id} belongs to project ${build.projectName ?? '(none)'}, not ${question.projectName}`,
    };
  }
  // An IN_PROGRESS event may arrive after the build ended; an ended build's status never changes.
  if (question.status !== 'IN_PROGRESS' && build.buildStatus !== question.status) {
    return {
      ok: false,
      reason: `the event says build ${question.id} ended ${question.status}; CodeBuild says ${build.buildStatus ?? 'nothing'}`,
    };
  }
  return { ok: true, build };
}

/** The upload a build is about, from the environment CodeBuild reports for it. */
export function uploadOfBuild(build: Build): BuildUpload | undefined {
  const variables = build.environment?.environmentVariables ?? [];
  const value = (name: string) => variables.find((v) => v.name === name)?.value || undefined;
  const bucket = value(BUILD_ENV.bucket);
  const key = value(BUILD_ENV.key);
  const buildId = build.arn ?? build.id;
  if (!bucket || !key || !buildId) return undefined;
  return {
    identity: { bucket, key, versionId: value(BUILD_ENV.versionId), eTag: value(BUILD_ENV.eTag) },
    buildId,
  };
}
