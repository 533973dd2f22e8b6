/**
 * `ecr-pipeline status`: what became of an upload or a build, as lines for people or one JSON object
 * (`--output json`) for scripts. Both are rendered from one view, so they never tell different things.
 */
import type { Build } from '@aws-sdk/client-codebuild';
import {
  type BuildDurations,
  durationsOf,
  durationsOfBuild,
  durationsText,
} from '../functions/shared/build-durations.ts';
import { BUILD_ENV } from '../functions/shared/contract.ts';
import type { UploadIdentity, UploadRecord } from '../functions/shared/upload-record.ts';
import { EXIT } from './exit-codes.ts';
import { failureLines } from './failure.ts';
import { describeRejection, outcomeOf, type Rejected } from './follow.ts';
import { shortBuildId } from './list.ts';
import { formatBytes } from './progress.ts';
import { overrideHint, type ReleaseSummary, releaseLine, releaseSummary } from './release.ts';
import { replicationLines } from './replication.ts';
import type { Clients } from './target.ts';
import { stripControl } from './terminal-text.ts';

/** A reason's further lines line up under its first (a function: Stryker cannot mutate module-load code per test). */
function reasonIndent(): string {
  return ' '.repeat(9);
}

/** What `status` found: the upload (when named by key), its record, its build. */
export interface Found {
  identity?: UploadIdentity;
  build?: Build | undefined;
  rejected?: Rejected | undefined;
  accepted?: boolean;
  /** The record, when it holds the upload's final state (built, failed, superseded): no build lookup. */
  final?: UploadRecord | undefined;
  size?: number | undefined;
}

/** What `status --output json` prints: one object. */
export interface StatusView {
  exitCode: number;
  /** uploaded: not handled yet; accepted/building: on its way; then built, failed, superseded or rejected. */
  status:
    | 'uploaded'
    | 'accepted'
    | 'building'
    | 'built'
    | 'released'
    | 'held'
    | 'failed'
    | 'superseded'
    | 'rejected'
    | 'unknown';
  upload?: { bucket: string; key: string; versionId?: string | undefined; size?: number | undefined };
  buildId?: string | undefined;
  buildStatus?: string | undefined;
  phase?: string | undefined;
  logLink?: string | undefined;
  image?: string | undefined;
  digest?: string | undefined;
  code?: string | undefined;
  reason?: string | undefined;
  /** CodeBuild's own message for the failing phase (a build not yet in a final record). */
  detail?: string | undefined;
  finishedAt?: string | undefined;
  /** Where the build spent its time, in seconds per CodeBuild phase (queued, provisioning, ...). */
  durations?: BuildDurations | undefined;
  scan?: UploadRecord['scan'];
  /** One line per replication destination (or why it is unknown). */
  replication?: string[];
  /** The release gate and its verdict, when the stack has the release step. */
  release?: ReleaseSummary | undefined;
  /** The record's gate line and override, for people (not in JSON's own fields). */
  releaseLines?: string[];
  /** A multi-platform upload: one build per platform, joined into one index. */
  legs?: LegView[];
}

/** One leg of a multi-platform upload, as status shows it. */
export interface LegView {
  platform: string;
  emulated: boolean;
  buildId?: string | undefined;
  digest?: string | undefined;
  /** From the upload's acceptance to the leg's end. */
  durationSeconds?: number | undefined;
  /** Where the leg's build spent its time, per CodeBuild phase. */
  durations?: BuildDurations | undefined;
}

/** The legs of a record (several platforms), or undefined. */
export function legsOf(record: UploadRecord): LegView[] | undefined {
  if ((record.legs?.length ?? 0) < 2) return undefined;
  const started = Date.parse(record.at);
  return (record.legs ?? []).map((leg) => {
    const ended = leg.finishedAt ? Date.parse(leg.finishedAt) : Number.NaN;
    const seconds = Math.round((ended - started) / 1000);
    return {
      platform: leg.platform,
      emulated: leg.emulated,
      buildId: leg.buildId,
      digest: leg.digest,
      durationSeconds: Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined,
      durations: durationsOf(leg.durations),
    };
  });
}

/** One line per leg: platform, native or emulated, its image, how long it took. */
export function legLines(legs: LegView[] | undefined): string[] {
  return (legs ?? []).map((leg) => {
    const parts = [
      `leg      ${stripControl(leg.platform)}`,
      leg.emulated ? 'emulated' : 'native',
      leg.digest ? leg.digest.slice(0, 19) : 'not pushed',
      ...(leg.durationSeconds !== undefined ? [`${leg.durationSeconds}s`] : []),
      ...(durationsText(leg.durations) ? [`(${durationsText(leg.durations)})`] : []),
    ];
    return parts.join('  ');
  });
}

/** The line of where the build's time went, when CodeBuild reported it. */
function timeLines(view: StatusView): string[] {
  const text = durationsText(view.durations);
  return text ? [`time     ${text}`] : [];
}

/** Whether the record tells the whole outcome (the build need not be asked); `built`: pushed, releasing. */
export function isFinal(record: UploadRecord | undefined): boolean {
  const finalStates: ReadonlySet<string> = new Set(['built', 'released', 'held', 'superseded', 'failed']);
  return record !== undefined && finalStates.has(record.status);
}

/** The lines of a record's release gate, its override and, for a held image, what to do. */
function releaseLinesOf(record: UploadRecord): string[] {
  const lines: string[] = [];
  const gate = releaseLine(record);
  if (gate) lines.push(stripControl(gate));
  const override = record.release?.override;
  if (override) lines.push(stripControl(`override ${override.by} at ${override.at}: ${override.reason}`));
  if (record.status === 'held') lines.push(`next     ${overrideHint(record.key)}`);
  return lines;
}

/** The view of a record in a final state. */
export function finalView(record: UploadRecord): StatusView {
  const status = record.status as 'built' | 'released' | 'held' | 'failed' | 'superseded';
  const pushed = status === 'built' || status === 'released' || status === 'held';
  const exitCode = status === 'held' ? EXIT.held : pushed ? EXIT.success : EXIT.failed;
  const supersededReason = record.release
    ? `${record.reason ?? 'a newer upload of the same key won'}; its tag was not moved`
    : 'a newer upload of the same key won; this one pushed nothing';
  return {
    exitCode,
    status,
    buildId: record.buildId,
    buildStatus: record.buildStatus,
    finishedAt: record.finishedAt,
    durations: durationsOf(record.durations),
    release: releaseSummary(record),
    releaseLines: releaseLinesOf(record),
    ...(legsOf(record) ? { legs: legsOf(record) } : {}),
    ...(pushed
      ? {
          image:
            status === 'held'
              ? `${record.repository ?? ''}@${record.digest ?? ''} (pushed by digest; the tag ${record.tag ?? ''} was not moved)`
              : `${record.repository ?? ''}:${record.tag ?? ''}${record.digest ? `@${record.digest}` : ''}`,
          digest: record.digest,
          scan: record.scan,
        }
      : {
          phase: record.phase,
          reason: stripControl(
            status === 'superseded' ? supersededReason : (record.reason ?? 'no reason given'),
          ),
        }),
  };
}

/** Builds the view: from the final record alone when there is one, else from the build. */
export async function statusView(
  clients: Clients,
  _project: string | undefined,
  found: Found,
): Promise<StatusView> {
  const upload = found.identity
    ? {
        bucket: found.identity.bucket,
        key: found.identity.key,
        versionId: found.identity.versionId,
        size: found.size,
      }
    : undefined;
  if (found.rejected) {
    return {
      exitCode: EXIT.rejected,
      status: 'rejected',
      upload,
      code: found.rejected.code,
      reason: found.rejected.reason,
    };
  }
  if (found.final) {
    const view = { ...finalView(found.final), upload };
    const { repository, digest } = found.final;
    if ((view.status === 'built' || view.status === 'released') && repository && digest)
      view.replication = await replicationLines(clients.ecr, repository, digest);
    return view;
  }
  const build = found.build;
  const before = found.accepted ? 'accepted' : upload ? 'uploaded' : 'unknown';
  if (!build) return { exitCode: EXIT.success, status: before, upload };
  const view: StatusView = {
    exitCode: EXIT.success,
    status: 'building',
    upload,
    buildId: build.id,
    buildStatus: build.buildStatus,
    phase: build.buildComplete ? undefined : build.currentPhase,
    logLink: build.logs?.deepLink,
    durations: durationsOfBuild(build.phases),
  };
  if (!build.buildComplete) return view;
  const outcome = await outcomeOf(clients, build);
  if (outcome.kind === 'pushed') {
    const repository = build.environment?.environmentVariables?.find(
      (v) => v.name === BUILD_ENV.repository,
    )?.value;
    return {
      ...view,
      status: 'built',
      image: outcome.image,
      digest: outcome.digest,
      ...(repository && outcome.digest
        ? { replication: await replicationLines(clients.ecr, repository, outcome.digest) }
        : {}),
    };
  }
  return {
    ...view,
    exitCode: EXIT.failed,
    status: 'failed',
    phase: outcome.phase,
    reason: outcome.reason,
    detail: outcome.detail,
  };
}

/** The lines `status` prints for a view. `project` says whether a missing build could be looked for. */
export function statusLines(view: StatusView, found: Found, project: string | undefined): string[] {
  const lines: string[] = [];
  const reason = () =>
    failureLines({ phase: view.phase, reason: view.reason ?? '' }, reasonIndent()).map((line, i) =>
      i === 0 ? `reason   ${line}` : line,
    );
  if (view.upload) {
    const { bucket, key, versionId, size } = view.upload;
    lines.push(
      `upload   s3://${bucket}/${key}${versionId ? ` version ${versionId}` : ''}${size !== undefined ? `  ${formatBytes(size)}` : ''}`,
    );
    if (!found.final)
      lines.push(
        `record   ${found.rejected ? describeRejection(found.rejected) : found.accepted ? 'accepted' : 'not handled yet'}`,
      );
  }
  if (found.rejected) return lines;
  if (found.final) {
    lines.push(`record   ${view.status}${view.finishedAt ? ` at ${view.finishedAt}` : ''}`);
    if (view.buildId)
      lines.push(`build    ${shortBuildId(view.buildId)}${view.buildStatus ? `  ${view.buildStatus}` : ''}`);
    lines.push(...timeLines(view), ...legLines(view.legs));
    if (view.status === 'built' || view.status === 'released' || view.status === 'held') {
      lines.push(`image    ${view.image}`);
      if (view.scan) {
        const counts = Object.entries(view.scan.counts).map(([severity, n]) => `${severity} ${n}`);
        lines.push(
          `scan     ${view.scan.scanner} ${view.scan.status}: ${counts.join(', ') || 'no findings'}`,
        );
      }
      lines.push(...(view.releaseLines ?? []));
    } else if (view.status === 'superseded')
      lines.push(`reason   ${view.reason}`, ...(view.releaseLines ?? []));
    else lines.push(...reason());
    return [...lines, ...(view.replication ?? [])];
  }
  const build = found.build;
  if (!build) {
    lines.push(`build    ${project ? 'none yet' : 'unknown (pass --project or set ECR_PIPELINE_PROJECT)'}`);
    return lines;
  }
  lines.push(
    `build    ${build.id}  ${build.buildStatus}${build.buildComplete ? '' : `  phase ${build.currentPhase}`}`,
  );
  if (view.logLink) lines.push(`log      ${view.logLink}`);
  lines.push(...timeLines(view));
  if (view.status === 'built') lines.push(`image    ${view.image}`, ...(view.replication ?? []));
  if (view.status === 'failed' && view.reason !== undefined) lines.push(...reason());
  return lines;
}
