/**
 * The ecr-events function's settings, read from the environment once, at module load (handler.ts).
 * A missing or invalid variable fails the cold start with a message that names it.
 */
import {
  boolean,
  ConfigError,
  type Env,
  integer,
  list,
  oneOf,
  repositoryWildcard,
  text,
} from '../shared/env-config.ts';
import { SEVERITIES, type Severity } from '../shared/severity.ts';

/** The kinds of notification; each can be switched on or off (`NOTIFY_EVENTS`). */
export const NOTIFICATION_KINDS = [
  'release',
  'image-push',
  'image-delete',
  'image-action-failed',
  'scan',
  'build-started',
  'build-succeeded',
  'build-failed',
  'build-rejected',
  'replication-failed',
  'sweep',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/**
 * The default set when NOTIFY_EVENTS is unset: every kind but `build-started`, which only repeats
 * what the upload already said. The stack sets it (serverless.yml `notifyEvents`) to one message per
 * upload outcome: `release` instead of `build-succeeded` and `image-push`.
 */
export const DEFAULT_NOTIFY_EVENTS: readonly NotificationKind[] = NOTIFICATION_KINDS.filter(
  (kind) => kind !== 'build-started',
);

export type SecretSource = 'ssm' | 'secretsmanager';
export type Discovery = 'tagging-api' | 'list-tags';

export interface SweepConfig {
  /** Reports what it would do and changes nothing. On unless `SWEEP_DRY_RUN=false`. */
  dryRun: boolean;
  /** No push and no recorded pull for this many days makes a repository stale. */
  staleDays: number;
  /** Days between the mark and the deletion. */
  graceDays: number;
  /** Names or IAM-style wildcards (`*`, `?`) the sweeper never touches. */
  protectedPatterns: string[];
  /** Keep repositories whose images a Lambda function or an ECS task definition references. */
  checkInUse: boolean;
  /** Repository API calls in flight at once. */
  concurrency: number;
  /** How managed repositories are found: one Tagging API call per 100, or ListTagsForResource per repository. */
  discovery: Discovery;
}

export interface Config {
  /** Value of the managed-by tag on the repositories this stack created. */
  stackName: string;
  /** IAM-style wildcard that managed repository names match (`*` = any). */
  repositoryPattern: string;
  /** Names or wildcards whose events are dropped (the build cache repository's pushes are not news). */
  ignoredRepositories: string[];
  /** CodeBuild project whose builds are reported; others are ignored. */
  projectName: string;
  /** SNS topic; empty turns the SNS channel off. */
  topicArn: string;
  /** Where the Slack webhook URL is kept; undefined turns the Slack channel off. */
  slackWebhook: { source: SecretSource; name: string } | undefined;
  secretTtlMs: number;
  /** Timeout of each outgoing call (Slack, SNS, SSM). */
  httpTimeoutMs: number;
  notify: ReadonlySet<NotificationKind>;
  /** Scans whose worst finding is below this are not notified; `ALL` notifies clean scans too. */
  minScanSeverity: Severity | 'ALL';
  /** Log lines a failed build's notification shows (its refusal line instead when it has one); 0 reads no log. */
  logLines: number;
  sweep: SweepConfig;
  /** The contexts bucket and key prefix, where builds and scans go into upload records; empty bucket: off. */
  uploads: { bucket: string; keyPrefix: string };
  /**
   * Regions the managed repositories replicate to (`replicationRegions`; empty: none): pushed images
   * are watched until their replication ends, and the sweep summary names the replicas it leaves.
   */
  replication: { regions: string[]; timeoutMs: number };
  /** The function's region (`AWS_REGION`, set by Lambda): events from any other are refused. */
  region: string;
  /** The function's account (`ACCOUNT_ID`, from the template): events from any other are refused. */
  account: string;
  /**
   * How far ahead of the system clock the function's clock runs: 0 unless `LOCAL_CLOCK_OFFSET_MS` is
   * set, which only the local cloud's tests of the sweeper's "no push for N days" do.
   */
  clockOffsetMs: number;
}

export { ConfigError };

/** `ACCOUNT_ID`: twelve digits. */
function accountId(env: Env): string {
  const value = text(env, 'ACCOUNT_ID');
  if (!/^\d{12}$/.test(value)) {
    throw new ConfigError(`environment variable ACCOUNT_ID must be a 12-digit account id, got "${value}"`);
  }
  return value;
}

/** Reads and validates the configuration from `env`. */
export function loadConfig(env: Env): Config {
  const notifyRaw = env.NOTIFY_EVENTS?.trim();
  const notify =
    notifyRaw === undefined || notifyRaw === '' ? [...DEFAULT_NOTIFY_EVENTS] : list(env, 'NOTIFY_EVENTS');
  for (const kind of notify) {
    if (kind !== 'none' && !(NOTIFICATION_KINDS as readonly string[]).includes(kind)) {
      throw new ConfigError(
        `environment variable NOTIFY_EVENTS lists "${kind}"; known kinds: ${NOTIFICATION_KINDS.join(', ')}, none`,
      );
    }
  }
  const webhookName = text(env, 'SLACK_WEBHOOK_PARAMETER', '');
  const topicArn = text(env, 'SNS_TOPIC_ARN', '');
  if (topicArn !== '' && !topicArn.startsWith('arn:')) {
    throw new ConfigError(`environment variable SNS_TOPIC_ARN must be a topic ARN, got "${topicArn}"`);
  }
  const webhookSource = oneOf(env, 'SLACK_WEBHOOK_SOURCE', ['ssm', 'secretsmanager'], 'ssm');
  if (webhookSource === 'ssm' && webhookName !== '' && !webhookName.startsWith('/')) {
    throw new ConfigError(
      `environment variable SLACK_WEBHOOK_PARAMETER must be a parameter name starting with "/", got "${webhookName}"`,
    );
  }
  return {
    stackName: text(env, 'STACK_NAME'),
    repositoryPattern: repositoryWildcard(env, 'REPOSITORY_PATTERN'),
    ignoredRepositories: list(env, 'IGNORE_REPOSITORIES'),
    projectName: text(env, 'BUILD_PROJECT_NAME', ''),
    topicArn,
    slackWebhook: webhookName === '' ? undefined : { source: webhookSource, name: webhookName },
    secretTtlMs: integer(env, 'SECRET_CACHE_TTL_SECONDS', 300, 0, 86_400) * 1000,
    httpTimeoutMs: integer(env, 'HTTP_TIMEOUT_MS', 5000, 100, 60_000),
    notify: new Set(notify.filter((kind): kind is NotificationKind => kind !== 'none')),
    minScanSeverity: oneOf(env, 'MIN_SCAN_SEVERITY', [...SEVERITIES, 'ALL'] as const, 'HIGH'),
    logLines: integer(env, 'NOTIFY_LOG_LINES', 20, 0, 100),
    sweep: {
      // Deleting is opt-in: only an explicit "false" turns the dry run off.
      dryRun: boolean(env, 'SWEEP_DRY_RUN', true),
      staleDays: integer(env, 'SWEEP_STALE_DAYS', 90, 1, 3650),
      graceDays: integer(env, 'SWEEP_GRACE_DAYS', 7, 0, 365),
      protectedPatterns: list(env, 'SWEEP_PROTECTED'),
      // Off unless asked for: it reads every image function's and task definition's configuration.
      checkInUse: boolean(env, 'SWEEP_CHECK_IN_USE', false),
      concurrency: integer(env, 'SWEEP_CONCURRENCY', 8, 1, 64),
      discovery: oneOf(env, 'SWEEP_DISCOVERY', ['tagging-api', 'list-tags'], 'tagging-api'),
    },
    uploads: { bucket: text(env, 'CONTEXT_BUCKET', ''), keyPrefix: text(env, 'KEY_PREFIX', '') },
    replication: {
      regions: list(env, 'REPLICATION_REGIONS'),
      // How long after a push a replication not yet complete is told as failed.
      timeoutMs: integer(env, 'REPLICATION_TIMEOUT_MINUTES', 360, 5, 10_080) * 60_000,
    },
    region: text(env, 'AWS_REGION', 'us-east-1'),
    account: accountId(env),
    clockOffsetMs: integer(env, 'LOCAL_CLOCK_OFFSET_MS', 0, 0, 3650 * 86_400_000),
  };
}
