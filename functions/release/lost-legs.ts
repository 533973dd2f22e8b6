/**
 * A leg whose success event never comes (EventBridge delivers best effort) must not leave its upload
 * `accepted` forever. Once one leg has pushed, the record has a pending marker, and the periodic
 * check asks CodeBuild (`BatchGetBuilds`) about the builds of the legs still missing: a succeeded
 * one is recorded as its event would have been, one that failed, stopped or timed out fails the
 * upload naming the leg, and a leg whose build is unknown fails it once every build of the upload
 * must have ended (queue time, build time and a margin after the upload was accepted).
 */
import type { CodeBuildClient } from '@aws-sdk/client-codebuild';
import { BUILD_EXPORTED_DIGEST } from '../shared/contract.ts';
import type { UploadRecord } from '../shared/upload-record.ts';
import type { Config } from './config.ts';
import { classify } from './errors.ts';

/** What CodeBuild says of one leg's build. */
export interface LegBuild {
  id: string;
  /** IN_PROGRESS, SUCCEEDED, FAILED, FAULT, STOPPED or TIMED_OUT. */
  status: string;
  /** The digest the build exported (IMAGE_DIGEST), once it succeeded. */
  digest?: string;
  /** The phase the build was in when it ended. */
  phase?: string;
}

/** What the check makes of the missing legs. */
export type LostLeg =
  | { kind: 'succeeded'; platform: string; buildId: string; digest?: string }
  | { kind: 'failed'; reason: string }
  | { kind: 'wait'; missing: string[] };

/** After the builds' own limits, a margin for the last events (a build's end is reported within minutes). */
const MARGIN_MINUTES = 15;

/** What a build that ended without success did, for people. */
function verb(status: string): string {
  if (status === 'STOPPED') return 'was stopped';
  if (status === 'TIMED_OUT') return 'timed out';
  return 'failed';
}

/**
 * When every leg's build of `record` must have ended: the upload's acceptance plus the builds'
 * queue and run limits and a margin. A record without its acceptance time counts from `now`.
 */
export function legDeadline(record: UploadRecord, config: Config, now: Date): Date {
  const accepted = Date.parse(record.at ?? '');
  const from = Number.isNaN(accepted) ? now.getTime() : accepted;
  return new Date(from + config.buildQueuedTimeoutMs + config.buildTimeoutMs + MARGIN_MINUTES * 60_000);
}

/** The builds of `ids` (at least one) as CodeBuild reports them; an id it does not know is left out. */
export async function readLegBuilds(codebuild: CodeBuildClient, ids: string[]): Promise<LegBuild[]> {
  // Loaded here: only the check of an upload with a missing leg asks CodeBuild anything.
  const { BatchGetBuildsCommand } = await import('./sdk/codebuild.ts');
  try {
    const out = await codebuild.send(new BatchGetBuildsCommand({ ids }));
    return (out.builds ?? []).flatMap((build) => {
      if (!build.id || !build.buildStatus) return [];
      const digest = build.exportedEnvironmentVariables?.find((v) => v.name === BUILD_EXPORTED_DIGEST)?.value;
      return [
        {
          id: build.id,
          status: build.buildStatus,
          ...(digest ? { digest } : {}),
          ...(build.currentPhase ? { phase: build.currentPhase } : {}),
        },
      ];
    });
  } catch (error) {
    throw classify(error, 'BatchGetBuilds of the missing legs');
  }
}

/**
 * The first missing leg whose build has ended (in the upload's platform order), or why the upload
 * waits: builds still running, or builds not yet known before `deadline`.
 */
export function findLostLeg(record: UploadRecord, builds: LegBuild[], now: Date, deadline: Date): LostLeg {
  const missing = (record.legs ?? []).filter((leg) => !leg.digest);
  for (const leg of missing) {
    const build = builds.find((b) => b.id === leg.buildId);
    if (!build || build.status === 'IN_PROGRESS') continue;
    if (build.status === 'SUCCEEDED') {
      return {
        kind: 'succeeded',
        platform: leg.platform,
        buildId: build.id,
        ...(build.digest ? { digest: build.digest } : {}),
      };
    }
    const phase = build.phase ? ` in its ${build.phase} phase` : '';
    return {
      kind: 'failed',
      reason: `the ${leg.platform} leg ${verb(build.status)}${phase} (build ${build.id}, ${build.status}); its log says why`,
    };
  }
  const unknown = missing.filter((leg) => !builds.some((b) => b.id === leg.buildId));
  if (unknown.length > 0 && now.getTime() > deadline.getTime()) {
    const names = unknown.map((leg) => leg.platform).join(', ');
    return {
      kind: 'failed',
      reason: `the ${names} leg${unknown.length > 1 ? 's' : ''} never reported a build by ${deadline.toISOString()} (the builds' queue and run limits have passed); upload again`,
    };
  }
  return { kind: 'wait', missing: missing.map((leg) => leg.platform) };
}
