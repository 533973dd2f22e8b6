/** Stage 4, report: what the sweep did (or would do), in the order the repositories were discovered. */
import type { Candidate, RepoResult } from './model.ts';

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
  /** Regions the managed repositories replicate to (`replicationRegions`): their replicas stay. */
  replicaRegions?: string[];
}

const SKIPPED = 'not reached before the invocation timeout; next sweep';

/** The summary of a sweep: `results[i]` is what became of `candidates[i]`; `errors` come first (discovery). */
export function buildReport(
  dryRun: boolean,
  candidates: readonly Candidate[],
  results: readonly RepoResult[],
  errors: SweepReport['errors'] = [],
  replicaRegions: readonly string[] = [],
): SweepReport {
  const report: SweepReport = {
    dryRun,
    candidates: candidates.length,
    marked: [],
    deleted: [],
    unmarked: [],
    pending: [],
    inUse: [],
    protected: [],
    kept: 0,
    errors: [...errors],
    ...(replicaRegions.length > 0 ? { replicaRegions: [...replicaRegions] } : {}),
  };
  const lists = {
    marked: report.marked,
    deleted: report.deleted,
    unmarked: report.unmarked,
    pending: report.pending,
    'in-use': report.inUse,
    protected: report.protected,
  } as const;
  results.forEach((result, i) => {
    const repository = (candidates[i] as Candidate).name;
    if (result.kind === 'error') report.errors.push({ repository, error: result.error });
    else if (result.kind === 'skipped') report.errors.push({ repository, error: SKIPPED });
    else if (result.kind !== 'gone') {
      if (result.kind !== 'active') {
        const note = 'note' in result ? result.note : undefined;
        lists[result.kind].push(note ? { repository, note } : { repository });
      }
      if (result.kind !== 'marked' && result.kind !== 'deleted') report.kept++;
    }
  });
  return report;
}

/**
 * What the summary says of the replicas of the deleted repositories, when there are any: they stay.
 * ECR never deletes replicas with their source, and the sweeper leaves them on purpose: it judges a
 * repository by this region's pushes and pulls, and pulls of a replica, in its own region, are not
 * seen here, so a repository stale here may be in use there (or be the copy kept for a disaster).
 */
export function replicaNote(report: SweepReport): string | undefined {
  const regions = report.replicaRegions ?? [];
  if (report.deleted.length === 0 || regions.length === 0) return undefined;
  const deleted = report.dryRun ? 'that would be deleted' : 'deleted';
  return (
    `Replicas of the repositories ${deleted} remain in ${regions.join(', ')}: ` +
    'ECR does not delete replicas with their source, and the sweeper does not judge or delete them ' +
    '(pulls there are not seen here). Delete them there when nobody needs them.'
  );
}
