/**
 * Routes an incoming event: turns it into what to do with it: a notification (and, for a push, clearing the
 * repository's stale mark), a sweep, or nothing. Never throws: a malformed or unknown event is
 * reported as `ignore` with a reason, because retrying it would fail the same way.
 */
import {
  BUILD_ENV,
  BUILD_REJECTED,
  type BuildRejectedDetail,
  CACHE_TAG,
  EVENT_SOURCE,
  RELEASE_VERDICT,
} from '../shared/contract.ts';
import { scanState } from '../shared/scan-status.ts';
import { normalizeCounts, type SeverityCounts, worstSeverity } from '../shared/severity.ts';
import { parseCodeBuildTime } from './codebuild-time.ts';
import type { BuildInfo, Link, LogExcerpt, Notification } from './notify/notification.ts';
import { consoleLinks } from './notify/notification.ts';
import { foreignBuild, foreignOrigin } from './origin/origin.ts';
import { verdictNotification } from './release/verdict.ts';
import { replicationAction } from './replication/replication-action.ts';
import { isSupersededReason } from './uploads/record-transition.ts';

export type Route =
  | {
      action: 'notify';
      notification: Notification;
      clearStaleMarkOf?: string;
      /** The destination region whose replication failure this tells (ECR Replication Action). */
      replicationFailedIn?: string;
    }
  | { action: 'sweep'; trigger: 'schedule' | 'on-demand'; dryRun?: boolean }
  | { action: 'check-replication' }
  | { action: 'ignore'; reason: string; malformed: boolean; detailType?: string; repository?: string };

export interface RouteOptions {
  /** Builds of other projects are refused (the rule filters them too); empty: every build is refused. */
  projectName: string;
  /** The function's account and region: an event from any other is refused (origin/origin.ts). */
  account: string;
  region: string;
  /** The clock, for an event that carries no time. */
  now: () => Date;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

const malformed = (reason: string, detailType?: string): Route => ({
  action: 'ignore',
  reason,
  malformed: true,
  detailType,
});
const ignored = (reason: string, detailType: string, repository?: string): Route => ({
  action: 'ignore',
  reason,
  malformed: false,
  detailType,
  repository,
});

/** Repository name from a name or from an ECR repository ARN (`arn:aws:ecr:<region>:<account>:repository/<name>`). */
export function repositoryName(value: string): string {
  const match = /^arn:aws[a-z-]*:ecr:[^:]*:\d*:repository\/(.+)$/.exec(value);
  return match ? (match[1] as string) : value;
}

/** Routes one invocation payload: notify, sweep or ignore. */
export function route(event: unknown, options: RouteOptions): Route {
  if (!isObject(event)) return malformed('payload is not a JSON object');
  // The replication check's schedule sends this constant input (resources/ecr-events.yml).
  if (event.action === 'check-replication') return { action: 'check-replication' };
  if (event.action === 'sweep') {
    return {
      action: 'sweep',
      trigger: 'on-demand',
      dryRun: typeof event.dryRun === 'boolean' ? event.dryRun : undefined,
    };
  }
  const detailType = str(event['detail-type']);
  const source = str(event.source);
  if (!detailType || !source) return malformed('not an EventBridge event (no source or detail-type)');
  const foreign = foreignOrigin(event, options);
  if (foreign) return malformed(foreign, detailType);
  if (source === 'aws.events' && detailType === 'Scheduled Event')
    return { action: 'sweep', trigger: 'schedule' };
  const detail = event.detail;
  if (!isObject(detail)) return malformed('event has no detail object', detailType);
  const base = {
    region: options.region,
    account: options.account,
    time: str(event.time) ?? options.now().toISOString(),
  };
  switch (`${source}|${detailType}`) {
    case 'aws.ecr|ECR Image Action':
      return imageAction(detail, base, detailType);
    case 'aws.ecr|ECR Replication Action': {
      // Put on the destination's bus: the event's own account and region name the destination
      // (its origin, the pushed image's account and region, was checked above).
      const destination = {
        region: str(event.region) ?? options.region,
        account: str(event.account) ?? options.account,
        time: base.time,
      };
      const outcome = replicationAction(detail, destination);
      if (outcome.told)
        return {
          action: 'notify',
          notification: outcome.notification,
          replicationFailedIn: destination.region,
        };
      return outcome.malformed
        ? malformed(outcome.reason, detailType)
        : ignored(outcome.reason, detailType, outcome.repository);
    }
    case 'aws.ecr|ECR Image Scan':
      return scan(detail, base, detailType, 'basic');
    case 'aws.inspector2|Inspector2 Scan':
      return scan(detail, base, detailType, 'enhanced');
    case 'aws.inspector2|Inspector2 Finding':
      return finding(detail, base, detailType);
    case 'aws.codebuild|CodeBuild Build State Change':
      return build(detail, base, detailType, options);
    case `${EVENT_SOURCE}|${BUILD_REJECTED}`:
      return rejected(detail, base, detailType);
    case `${EVENT_SOURCE}|${RELEASE_VERDICT}`: {
      const notification = verdictNotification(detail, base);
      return notification
        ? { action: 'notify', notification }
        : malformed('Release Verdict without verdict, repository, bucket or key', detailType);
    }
    default:
      return ignored(`unknown event ${source} / ${detailType}`, detailType);
  }
}

type Base = Pick<Notification, 'region' | 'account' | 'time'>;

function imageAction(detail: Json, base: Base, detailType: string): Route {
  const repository = str(detail['repository-name']);
  const actionType = str(detail['action-type']);
  const result = str(detail.result);
  if (!repository || !actionType || !result) {
    return malformed('ECR Image Action without repository-name, action-type or result', detailType);
  }
  if (actionType !== 'PUSH' && actionType !== 'DELETE') {
    return ignored(`unknown action-type ${actionType}`, detailType, repository);
  }
  const digest = str(detail['image-digest']);
  const tag = str(detail['image-tag']);
  // The build moves its registry cache's tag in the image's own repository: not an image for people.
  if (tag?.startsWith(CACHE_TAG) && result === 'SUCCESS') {
    return ignored(`the build cache's tag ${tag}`, detailType, repository);
  }
  const links: Link[] = [consoleLinks.repository(base.region, base.account, repository)];
  if (digest && result === 'SUCCESS' && actionType === 'PUSH') {
    links.unshift(consoleLinks.image(base.region, base.account, repository, digest));
  }
  const verb = actionType === 'PUSH' ? 'push' : 'delete';
  if (result !== 'SUCCESS') {
    return {
      action: 'notify',
      notification: {
        ...base,
        kind: 'image-action-failed',
        outcome: 'failure',
        title: `Image ${verb} failed`,
        repository,
        tag,
        digest,
        detail: `ECR reported ${result} for the ${verb}.`,
        links,
      },
    };
  }
  const notification: Notification = {
    ...base,
    kind: actionType === 'PUSH' ? 'image-push' : 'image-delete',
    outcome: actionType === 'PUSH' ? 'success' : 'info',
    title: actionType === 'PUSH' ? 'Image pushed' : 'Image deleted',
    repository,
    tag,
    digest,
    links,
  };
  return actionType === 'PUSH'
    ? { action: 'notify', notification, clearStaleMarkOf: repository }
    : { action: 'notify', notification };
}

function scan(detail: Json, base: Base, detailType: string, scanner: 'basic' | 'enhanced'): Route {
  const rawRepository = str(detail['repository-name']);
  const status = str(detail['scan-status']);
  if (!rawRepository || !status)
    return malformed(`${detailType} without repository-name or scan-status`, detailType);
  const repository = repositoryName(rawRepository);
  const digest = str(detail['image-digest']);
  const tags = Array.isArray(detail['image-tags'])
    ? detail['image-tags'].filter((t): t is string => typeof t === 'string' && t !== '')
    : [];
  const links: Link[] = digest
    ? [
        consoleLinks.findings(base.region, base.account, repository, digest),
        consoleLinks.image(base.region, base.account, repository, digest),
      ]
    : [consoleLinks.repository(base.region, base.account, repository)];
  const common = { ...base, kind: 'scan' as const, scanner, repository, tag: tags[0], digest, links };
  const state = scanState(status);
  if (state === 'failed') {
    return {
      action: 'notify',
      notification: {
        ...common,
        outcome: 'failure',
        title: 'Image scan failed',
        detail: `Scan status ${status}.`,
      },
    };
  }
  if (state !== 'complete') {
    return ignored(`scan-status ${status} carries no results`, detailType, repository);
  }
  return {
    action: 'notify',
    notification: withCounts(common, normalizeCounts(detail['finding-severity-counts'])),
  };
}

/** A scan notification with the image's findings by severity: its title, worst severity and outcome. */
export function withCounts<N extends Omit<Notification, 'outcome' | 'title'>>(n: N, counts: SeverityCounts) {
  const severity = worstSeverity(counts);
  return {
    ...n,
    outcome: severity === 'CRITICAL' || severity === 'HIGH' ? ('warning' as const) : ('success' as const),
    title: severity ? `Vulnerabilities found (worst: ${severity})` : 'Image scan clean',
    counts,
    severity,
  };
}

/**
 * `Inspector2 Finding` (enhanced scanning: one event per finding created, updated or closed; ECR user
 * guide, "EventBridge events sent for enhanced scanning"). One finding says little about the image:
 * the notification is the image's, with its counts read before delivery (`finding` says which
 * finding brought it). Closed findings and findings of other resources are not news.
 */
function finding(detail: Json, base: Base, detailType: string): Route {
  const resources = Array.isArray(detail.resources) ? detail.resources.filter(isObject) : [];
  const image = resources
    .map((r) => (isObject(r.details) ? r.details.awsEcrContainerImage : undefined))
    .find(isObject);
  const arn = str(detail.findingArn);
  const severity = str(detail.severity);
  const status = str(detail.status);
  if (!arn || !severity || !status) {
    return malformed('Inspector2 Finding without findingArn, severity or status', detailType);
  }
  const repository = image ? str(image.repositoryName) : undefined;
  const digest = image ? str(image.imageHash) : undefined;
  if (!repository || !digest) return ignored('finding of a resource other than an ECR image', detailType);
  if (status !== 'ACTIVE') return ignored(`finding status ${status} is not news`, detailType, repository);
  const tags = Array.isArray(image?.imageTags)
    ? image.imageTags.filter((t): t is string => typeof t === 'string' && t !== '')
    : [];
  return {
    action: 'notify',
    notification: {
      ...base,
      kind: 'scan',
      scanner: 'enhanced',
      outcome: 'info',
      title: 'New finding',
      repository,
      tag: tags[0],
      digest,
      finding: { arn, severity, title: str(detail.title) ?? arn },
      links: [
        consoleLinks.findings(base.region, base.account, repository, digest),
        consoleLinks.image(base.region, base.account, repository, digest),
      ],
    },
  };
}

const FAILED_PHASE = new Set(['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED', 'CLIENT_ERROR']);

function build(detail: Json, base: Base, detailType: string, options: RouteOptions): Route {
  const status = str(detail['build-status']);
  const project = str(detail['project-name']);
  const id = str(detail['build-id']);
  if (!status || !project || !id) {
    return malformed('CodeBuild event without build-status, project-name or build-id', detailType);
  }
  if (project !== options.projectName) return malformed(`build of another project (${project})`, detailType);
  const foreign = foreignBuild(id, { account: options.account, region: options.region, project });
  if (foreign) return malformed(foreign, detailType);
  const info = isObject(detail['additional-information']) ? detail['additional-information'] : {};
  const phases = Array.isArray(info.phases) ? info.phases.filter(isObject) : [];
  const env =
    isObject(info.environment) && Array.isArray(info.environment['environment-variables'])
      ? info.environment['environment-variables'].filter(isObject)
      : [];
  const variable = (name: string) => str(env.find((v) => v.name === name)?.value);
  const failing = phases.find((p) => FAILED_PHASE.has(String(p['phase-status'])));
  const context = failing && Array.isArray(failing['phase-context']) ? failing['phase-context'] : [];
  const buildInfo: BuildInfo = {
    id,
    project,
    status,
    buildNumber: typeof info['build-number'] === 'number' ? info['build-number'] : undefined,
    durationSeconds: status === 'IN_PROGRESS' ? undefined : duration(info, phases, base.time),
    failingPhase: failing ? str(failing['phase-type']) : lastPhaseOf(status, str(detail['current-phase'])),
    failingPhaseStatus: failing ? str(failing['phase-status']) : undefined,
    failureMessage: context
      .map((c) => (typeof c === 'string' ? c.trim() : ''))
      .find((c) => c !== '' && c !== ':'),
    initiator: str(info.initiator),
  };
  const logInfo = isObject(info.logs) ? info.logs : {};
  const group = str(logInfo['group-name']);
  const stream = str(logInfo['stream-name']);
  if (group && stream) buildInfo.logStream = { group, stream };
  const platform = variable(BUILD_ENV.platform);
  if (platform) buildInfo.platform = platform;
  const links: Link[] = [consoleLinks.build(base.region, base.account, project, id)];
  // Built from the log group and stream, never the event's `deep-link`: a link is ours to make.
  if (group && stream) links.unshift(consoleLinks.logs(base.region, group, stream));
  const repository = variable(BUILD_ENV.repository);
  if (repository) links.push(consoleLinks.repository(base.region, base.account, repository));
  const common = { ...base, repository, tag: variable(BUILD_ENV.tag), build: buildInfo, links };
  switch (status) {
    case 'IN_PROGRESS':
      return {
        action: 'notify',
        notification: { ...common, kind: 'build-started', outcome: 'info', title: 'Build started' },
      };
    case 'SUCCEEDED':
      return {
        action: 'notify',
        notification: { ...common, kind: 'build-succeeded', outcome: 'success', title: 'Build succeeded' },
      };
    case 'FAILED':
    case 'FAULT':
    case 'STOPPED':
    case 'TIMED_OUT': {
      const word = {
        FAILED: 'failed',
        FAULT: 'failed (CodeBuild fault)',
        STOPPED: 'stopped',
        TIMED_OUT: 'timed out',
      }[status];
      return {
        action: 'notify',
        notification: { ...common, kind: 'build-failed', outcome: 'failure', title: `Build ${word}` },
      };
    }
    default:
      return ignored(`unknown build-status ${status}`, detailType, repository);
  }
}

/** Without phase details, the phase a failed build stopped in (COMPLETED says nothing). */
function lastPhaseOf(status: string, currentPhase: string | undefined): string | undefined {
  if (status === 'SUCCEEDED' || status === 'IN_PROGRESS' || currentPhase === 'COMPLETED') return undefined;
  return currentPhase;
}

/** Wall time of the build: start to the COMPLETED phase, else the sum of the phases' durations. */
function duration(info: Json, phases: Json[], eventTime: string): number | undefined {
  const start = parseCodeBuildTime(info['build-start-time']);
  const completed = phases.find((p) => p['phase-type'] === 'COMPLETED');
  const end =
    parseCodeBuildTime(completed?.['start-time']) ?? parseCodeBuildTime(phases.at(-1)?.['end-time']);
  if (start !== undefined && end !== undefined && end >= start) return Math.round((end - start) / 1000);
  const sum = phases.reduce(
    (total, p) => total + (typeof p['duration-in-seconds'] === 'number' ? p['duration-in-seconds'] : 0),
    0,
  );
  if (sum > 0) return sum;
  const eventEnd = parseCodeBuildTime(eventTime);
  return start !== undefined && eventEnd !== undefined && eventEnd >= start
    ? Math.round((eventEnd - start) / 1000)
    : undefined;
}

function rejected(detail: Json, base: Base, detailType: string): Route {
  const d = detail as Partial<Record<keyof BuildRejectedDetail, unknown>>;
  const code = str(d.code);
  const reason = str(d.reason);
  const bucket = str(d.bucket);
  const key = str(d.key);
  if (!code || !reason || !bucket || !key)
    return malformed('Build Rejected without code, reason, bucket or key', detailType);
  const repository = str(d.repository);
  return {
    action: 'notify',
    notification: {
      ...base,
      kind: 'build-rejected',
      outcome: 'failure',
      title: 'Upload rejected',
      repository,
      tag: str(d.tag),
      rejection: { code, reason, bucket, key },
      links: [consoleLinks.object(base.region, bucket, key)],
    },
  };
}

/**
 * A failed build's notification with what its log says. A build that stopped because a newer upload
 * of its key exists did what it should: it reads "Build superseded", not "Build failed".
 */
export function withBuildLog(n: Notification, log: LogExcerpt): Notification {
  if (!n.build) return n;
  const superseded = n.kind === 'build-failed' && isSupersededReason(log.reason);
  return {
    ...n,
    build: { ...n.build, log },
    ...(superseded ? { title: 'Build superseded', outcome: 'info' as const } : {}),
  };
}
