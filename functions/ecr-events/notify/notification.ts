/** What the function tells people, independent of the channel that carries it. */

import type { LogExcerpt } from '../../shared/build-log-excerpt.ts';
import type { Severity, SeverityCounts } from '../../shared/severity.ts';
import { pathSegment, repositoryPath } from '../../shared/url.ts';
import type { NotificationKind } from '../config.ts';
import type { SweepReport } from '../sweep/sweep.ts';

/** How a notification reads (its colour and emoji, and the `outcome` attribute subscribers filter on). */
export type NotificationOutcome = 'success' | 'failure' | 'warning' | 'info';

export interface Link {
  label: string;
  url: string;
}

export interface BuildInfo {
  id: string;
  project: string;
  status: string;
  buildNumber?: number;
  durationSeconds?: number;
  failingPhase?: string;
  failingPhaseStatus?: string;
  /** First message of the failing phase's context (e.g. the command's exit status). */
  failureMessage?: string;
  initiator?: string;
  /** Where the build's log is in CloudWatch Logs (from the event). */
  logStream?: { group: string; stream: string };
  /** The build is one leg of a multi-platform upload: its platform (BUILD_PLATFORM). */
  platform?: string;
  /** What the log says about the failure; set before delivery for failed builds. */
  log?: LogExcerpt;
}

/** The part of a failed build's log that tells people why (shared with the command-line tool). */
export type { LogExcerpt };

export interface RejectionInfo {
  code: string;
  reason: string;
  bucket: string;
  key: string;
}

export interface Notification {
  kind: NotificationKind;
  outcome: NotificationOutcome;
  /** One line: what happened. */
  title: string;
  region: string;
  account: string;
  /** ISO time of the event. */
  time: string;
  repository?: string;
  /** Undefined for an untagged image. */
  tag?: string;
  digest?: string;
  /** Scans only. */
  counts?: SeverityCounts;
  /** The worst severity found by a scan; undefined elsewhere and for a clean scan. */
  severity?: Severity;
  /** Scans: `basic` (ECR) or `enhanced` (Inspector). */
  scanner?: 'basic' | 'enhanced';
  /** `Inspector2 Finding` events: the finding that brought an enhanced scan's notification. */
  finding?: { arn: string; severity: string; title: string };
  build?: BuildInfo;
  rejection?: RejectionInfo;
  sweep?: SweepReport;
  /** Extra sentence for failures and unusual states. */
  detail?: string;
  links: Link[];
}

/** `sha256:0123456789ab…` -> `0123456789ab`: enough to tell images apart at a glance. */
export function shortDigest(digest: string | undefined): string | undefined {
  if (!digest) return undefined;
  // Without a colon, indexOf gives -1 and the slice starts at 0: the digest as it is.
  const hex = digest.slice(digest.indexOf(':') + 1);
  return hex.slice(0, 12);
}

/** `repository:tag`, `repository@sha256:0123…` for an untagged image, or the repository alone. */
export function imageRef(n: Pick<Notification, 'repository' | 'tag' | 'digest'>): string | undefined {
  if (!n.repository) return undefined;
  if (n.tag) return `${n.repository}:${n.tag}`;
  const short = shortDigest(n.digest);
  return short ? `${n.repository}@${short} (untagged)` : n.repository;
}

const consoleBase = (region: string) => `https://${region}.console.aws.amazon.com`;
const consoleFragment = (text: string) => encodeURIComponent(text).replace(/%/g, '$25');

/** Links to the AWS console pages a person opens next. */
export const consoleLinks = {
  repository: (region: string, account: string, repository: string): Link => ({
    label: 'Repository',
    url: `${consoleBase(region)}/ecr/repositories/private/${account}/${repositoryPath(repository)}?region=${region}`,
  }),
  image: (region: string, account: string, repository: string, digest: string): Link => ({
    label: 'Image',
    url: `${consoleBase(region)}/ecr/repositories/private/${account}/${repositoryPath(repository)}/_/image/${pathSegment(digest)}/details?region=${region}`,
  }),
  findings: (region: string, account: string, repository: string, digest: string): Link => ({
    label: 'Scan findings',
    url: `${consoleBase(region)}/ecr/repositories/private/${account}/${repositoryPath(repository)}/_/image/${pathSegment(digest)}/scan-results?region=${region}`,
  }),
  build: (region: string, account: string, project: string, buildId: string): Link => ({
    label: 'Build',
    url: `${consoleBase(region)}/codesuite/codebuild/${account}/projects/${encodeURIComponent(project)}/build/${encodeURIComponent(buildId)}/?region=${region}`,
  }),
  /** CloudWatch Logs' page of one stream; the console's fragment escapes with `$25` where a URL has `%`. */
  logs: (region: string, group: string, stream: string): Link => ({
    label: 'Build logs',
    url: `${consoleBase(region)}/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${consoleFragment(group)}/log-events/${consoleFragment(stream)}`,
  }),
  object: (region: string, bucket: string, key: string): Link => ({
    label: 'Upload',
    url: `https://s3.console.aws.amazon.com/s3/object/${pathSegment(bucket)}?region=${region}&prefix=${encodeURIComponent(key)}`,
  }),
};
