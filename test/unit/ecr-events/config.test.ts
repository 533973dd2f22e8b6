import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_NOTIFY_EVENTS, loadConfig } from '../../../functions/ecr-events/config.ts';

const base = { STACK_NAME: 'ecr-pipeline-dev', ACCOUNT_ID: '123456789012' };

describe('ecr-events configuration', () => {
  it('runs the clock on time unless the local cloud moves it, and reads the region Lambda sets', () => {
    expect(loadConfig(base)).toMatchObject({ clockOffsetMs: 0, region: 'us-east-1' });
    expect(
      loadConfig({ ...base, AWS_REGION: 'eu-west-1', LOCAL_CLOCK_OFFSET_MS: '259200000' }),
    ).toMatchObject({ clockOffsetMs: 259_200_000, region: 'eu-west-1' });
    expect(() => loadConfig({ ...base, LOCAL_CLOCK_OFFSET_MS: '-1' })).toThrow(/LOCAL_CLOCK_OFFSET_MS/);
  });

  it('has safe defaults: dry run on, in-use check off (it reads function configurations), scans from HIGH, started builds quiet', () => {
    const c = loadConfig(base);
    expect(c.sweep).toMatchObject({
      dryRun: true,
      checkInUse: false,
      staleDays: 90,
      graceDays: 7,
      discovery: 'tagging-api',
    });
    expect(c.minScanSeverity).toBe('HIGH');
    expect([...c.notify]).toEqual(DEFAULT_NOTIFY_EVENTS);
    expect(c.notify.has('build-started')).toBe(false);
    expect(c.slackWebhook).toBeUndefined();
    expect(c.topicArn).toBe('');
  });

  it('watches replication only with replication regions, and tells a replication late after 6 hours by default', () => {
    expect(loadConfig(base).replication).toEqual({ regions: [], timeoutMs: 6 * 3_600_000 });
    expect(
      loadConfig({ ...base, REPLICATION_REGIONS: 'eu-west-1, us-west-2', REPLICATION_TIMEOUT_MINUTES: '30' })
        .replication,
    ).toEqual({ regions: ['eu-west-1', 'us-west-2'], timeoutMs: 30 * 60_000 });
    expect(() => loadConfig({ ...base, REPLICATION_TIMEOUT_MINUTES: '1' })).toThrow(
      /REPLICATION_TIMEOUT_MINUTES/,
    );
    expect(loadConfig(base).notify.has('replication-failed')).toBe(true);
  });

  it('turns the in-use check on only when asked to', () => {
    expect(loadConfig({ ...base, SWEEP_CHECK_IN_USE: 'true' }).sweep.checkInUse).toBe(true);
    expect(loadConfig({ ...base, SWEEP_CHECK_IN_USE: '' }).sweep.checkInUse).toBe(false);
  });

  it('shows 20 log lines of a failed build by default; 0 reads no log; more than 100 is refused', () => {
    expect(loadConfig(base).logLines).toBe(20);
    expect(loadConfig({ ...base, NOTIFY_LOG_LINES: '0' }).logLines).toBe(0);
    expect(() => loadConfig({ ...base, NOTIFY_LOG_LINES: '101' })).toThrow(/NOTIFY_LOG_LINES/);
  });

  it('turns the dry run off only for an explicit "false"', () => {
    expect(loadConfig({ ...base, SWEEP_DRY_RUN: 'false' }).sweep.dryRun).toBe(false);
    expect(loadConfig({ ...base, SWEEP_DRY_RUN: '' }).sweep.dryRun).toBe(true);
    expect(() => loadConfig({ ...base, SWEEP_DRY_RUN: 'no' })).toThrow(/SWEEP_DRY_RUN/);
  });

  it.each([
    [{ STACK_NAME: '' }, /STACK_NAME is required/],
    [{ NOTIFY_EVENTS: 'push' }, /NOTIFY_EVENTS lists "push"/],
    [{ MIN_SCAN_SEVERITY: 'INFO' }, /MIN_SCAN_SEVERITY must be one of/],
    [{ SWEEP_STALE_DAYS: '0' }, /SWEEP_STALE_DAYS must be an integer from 1/],
    [{ SWEEP_CONCURRENCY: '1.5' }, /SWEEP_CONCURRENCY/],
    [{ SNS_TOPIC_ARN: 'my-topic' }, /SNS_TOPIC_ARN must be a topic ARN/],
    [
      { SLACK_WEBHOOK_PARAMETER: 'slack-url' },
      /SLACK_WEBHOOK_PARAMETER must be a parameter name starting with "\/"/,
    ],
    [{ SLACK_WEBHOOK_SOURCE: 'env' }, /SLACK_WEBHOOK_SOURCE/],
    [{ SWEEP_DISCOVERY: 'guess' }, /SWEEP_DISCOVERY/],
    [{ REPOSITORY_PATTERN: 'Team/*' }, /REPOSITORY_PATTERN may hold only/],
  ])('fails at cold start naming the variable (%j)', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it('reads lists and the Slack secret location', () => {
    const c = loadConfig({
      ...base,
      NOTIFY_EVENTS: 'scan, build-failed',
      SWEEP_PROTECTED: 'base, team/keep-*',
      SLACK_WEBHOOK_SOURCE: 'secretsmanager',
      SLACK_WEBHOOK_PARAMETER: 'ecr-pipeline/slack',
    });
    expect([...c.notify]).toEqual(['scan', 'build-failed']);
    expect(c.sweep.protectedPatterns).toEqual(['base', 'team/keep-*']);
    expect(c.slackWebhook).toEqual({ source: 'secretsmanager', name: 'ecr-pipeline/slack' });
    expect(loadConfig({ ...base, NOTIFY_EVENTS: 'none' }).notify.size).toBe(0);
  });

  it('notifies every kind but started builds when NOTIFY_EVENTS is unset, empty or blank', () => {
    const defaults = [
      'release',
      'image-push',
      'image-delete',
      'image-action-failed',
      'scan',
      'build-succeeded',
      'build-failed',
      'build-rejected',
      'replication-failed',
      'sweep',
    ];
    for (const NOTIFY_EVENTS of [undefined, '', '  ']) {
      expect([...loadConfig({ ...base, NOTIFY_EVENTS }).notify]).toEqual(defaults);
    }
  });

  it('lists every known kind when NOTIFY_EVENTS names an unknown one', () => {
    expect(() => loadConfig({ ...base, NOTIFY_EVENTS: 'push' })).toThrow(
      'known kinds: release, image-push, image-delete, image-action-failed, scan, build-started, build-succeeded, build-failed, build-rejected, replication-failed, sweep, none',
    );
  });

  it('takes a topic ARN, and an SSM parameter name starting with "/" from SSM by default', () => {
    const c = loadConfig({
      ...base,
      SNS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:ecr-pipeline-dev-events',
      SLACK_WEBHOOK_PARAMETER: '/ecr-pipeline/dev/slack-webhook-url',
    });
    expect(c.topicArn).toBe('arn:aws:sns:us-east-1:123456789012:ecr-pipeline-dev-events');
    expect(c.slackWebhook).toEqual({ source: 'ssm', name: '/ecr-pipeline/dev/slack-webhook-url' });
  });

  it('accepts SLACK_WEBHOOK_SOURCE=ssm spelled out', () => {
    expect(
      loadConfig({ ...base, SLACK_WEBHOOK_SOURCE: 'ssm', SLACK_WEBHOOK_PARAMETER: '/slack' }).slackWebhook,
    ).toEqual({ source: 'ssm', name: '/slack' });
  });

  it('reads every other setting, with its default', () => {
    expect(loadConfig(base)).toMatchObject({
      ignoredRepositories: [],
      projectName: '',
      secretTtlMs: 300_000,
      httpTimeoutMs: 5000,
      uploads: { bucket: '', keyPrefix: '' },
    });
    expect(
      loadConfig({
        ...base,
        IGNORE_REPOSITORIES: 'base, tools/*',
        BUILD_PROJECT_NAME: 'ecr-pipeline-dev',
        SECRET_CACHE_TTL_SECONDS: '60',
        HTTP_TIMEOUT_MS: '2500',
        SWEEP_GRACE_DAYS: '0',
        CONTEXT_BUCKET: 'contexts',
        KEY_PREFIX: 'uploads/',
      }),
    ).toMatchObject({
      ignoredRepositories: ['base', 'tools/*'],
      projectName: 'ecr-pipeline-dev',
      secretTtlMs: 60_000,
      httpTimeoutMs: 2500,
      sweep: { graceDays: 0 },
      uploads: { bucket: 'contexts', keyPrefix: 'uploads/' },
    });
  });

  it.each(['tagging-api', 'list-tags'] as const)(
    'finds managed repositories with %s when asked',
    (discovery) => {
      expect(loadConfig({ ...base, SWEEP_DISCOVERY: discovery }).sweep.discovery).toBe(discovery);
    },
  );
});
