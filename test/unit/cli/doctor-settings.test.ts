/** `doctor`'s checks of the stack's settings, one by one: what each says, and how to fix what fails. */
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  buildSucceeded,
  functionsCheck,
  patternMatches,
  type RuleRead,
  readBuildRules,
  readSubscriptions,
  readWebhookStore,
  releaseGateCheck,
  releaseRuleCheck,
  scanningCheck,
  slackCheck,
  snsCheck,
} from '../../../cli/doctor-settings.ts';
import type { ScanExpectation } from '../../../cli/scan-plan.ts';

const ssm = mockClient(SSMClient);
const secrets = mockClient(SecretsManagerClient);
const sns = mockClient(SNSClient);
const events = mockClient(EventBridgeClient);
const clients = {
  ssm: new SSMClient({}),
  secrets: new SecretsManagerClient({}),
  sns: new SNSClient({}),
  events: new EventBridgeClient({}),
};
const named = (name: string) => Object.assign(new Error(name), { name });

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ecr-pipeline-dev-events';
const EVENTS = {
  NOTIFY_EVENTS: 'release,build-failed',
  SLACK_WEBHOOK_SOURCE: 'ssm',
  SLACK_WEBHOOK_PARAMETER: '/ecr-pipeline/dev/slack-webhook-url',
  SNS_TOPIC_ARN: TOPIC,
};
const SCANS: ScanExpectation = {
  scans: true,
  scanner: 'basic',
  detail: 'the stack creates x with scan on push',
};
const NO_SCANS: ScanExpectation = {
  scans: false,
  reason:
    'the stack creates repositories without scan on push (scanOnPush=false), and no registry rule scans it: no scan will come',
  fix: 'deploy with --param scanOnPush=true, or leave out --wait-scan / --fail-on',
};

beforeEach(() => {
  ssm.reset();
  secrets.reset();
  sns.reset();
  events.reset();
});

describe('functionsCheck', () => {
  const names = { buildTrigger: 's-buildTrigger', ecrEvents: 's-ecrEvents', release: 's-release' };
  const fn = (name: string) => ({ name, env: {} });

  it('lists the functions when all three are deployed', () => {
    expect(
      functionsCheck(names, {
        buildTrigger: fn('s-buildTrigger'),
        ecrEvents: fn('s-ecrEvents'),
        release: fn('s-release'),
      }),
    ).toEqual({ name: 'functions', status: 'ok', detail: 's-buildTrigger, s-ecrEvents, s-release' });
  });

  it('names the missing ones and what stops without them', () => {
    expect(functionsCheck(names, { ecrEvents: fn('s-ecrEvents') })).toEqual({
      name: 'functions',
      status: 'fail',
      detail: 'no function s-buildTrigger, s-release: no upload is built',
      fix: 'check --stack / --project and --region; deploy the stack again (`npm run deploy -- --stage <stage>`)',
    });
    expect(functionsCheck(names, { buildTrigger: fn('b'), ecrEvents: fn('e') }).detail).toBe(
      'no function s-release: images are not released or nobody is told',
    );
  });
});

describe('slackCheck', () => {
  it('passes a webhook kept as a SecureString', () => {
    expect(slackCheck(EVENTS, { exists: true, type: 'SecureString' })).toEqual({
      name: 'slack',
      status: 'ok',
      detail: 'webhook URL in the SSM SecureString /ecr-pipeline/dev/slack-webhook-url',
    });
  });

  it('says Slack is off, with the command that turns it on, when the parameter does not exist', () => {
    expect(slackCheck(EVENTS, { exists: false })).toEqual({
      name: 'slack',
      status: 'info',
      detail: 'off: no SSM parameter /ecr-pipeline/dev/slack-webhook-url, so nothing is sent to Slack',
      fix: 'to turn it on: aws ssm put-parameter --name /ecr-pipeline/dev/slack-webhook-url --type SecureString --value https://hooks.slack.com/services/...',
    });
    expect(
      slackCheck({ ...EVENTS, SLACK_WEBHOOK_SOURCE: 'secretsmanager' }, { exists: false }),
    ).toMatchObject({
      status: 'info',
      detail: 'off: no secret /ecr-pipeline/dev/slack-webhook-url, so nothing is sent to Slack',
      fix: 'to turn it on: aws secretsmanager create-secret --name /ecr-pipeline/dev/slack-webhook-url --secret-string https://hooks.slack.com/services/...',
    });
  });

  it('fails a webhook URL kept as a plain String parameter', () => {
    const check = slackCheck(EVENTS, { exists: true, type: 'String' });
    expect(check).toMatchObject({
      name: 'slack',
      status: 'fail',
      detail:
        'the webhook URL in /ecr-pipeline/dev/slack-webhook-url is a plain String, not a SecureString: whoever may read parameters can post to the channel',
    });
    expect(check.fix).toBe(
      'aws ssm delete-parameter --name /ecr-pipeline/dev/slack-webhook-url, then aws ssm put-parameter --name /ecr-pipeline/dev/slack-webhook-url --type SecureString --value https://hooks.slack.com/services/...',
    );
  });

  it('fails a webhook parameter whose type SSM did not say', () => {
    expect(slackCheck(EVENTS, { exists: true }).detail).toBe(
      'the webhook URL in /ecr-pipeline/dev/slack-webhook-url is a plain parameter, not a SecureString: whoever may read parameters can post to the channel',
    );
  });

  it('passes a secret in Secrets Manager, whose type is not a parameter type', () => {
    expect(slackCheck({ ...EVENTS, SLACK_WEBHOOK_SOURCE: 'secretsmanager' }, { exists: true })).toEqual({
      name: 'slack',
      status: 'ok',
      detail: 'webhook URL in the secret /ecr-pipeline/dev/slack-webhook-url',
    });
  });

  it('says notifications are off with notifyEvents=none', () => {
    expect(slackCheck({ ...EVENTS, NOTIFY_EVENTS: ' none ' }, { exists: false })).toEqual({
      name: 'slack',
      status: 'info',
      detail: 'off: the stack notifies nothing (notifyEvents=none)',
    });
  });
});

describe('snsCheck', () => {
  it('counts confirmed subscriptions', () => {
    expect(snsCheck(EVENTS, { confirmed: 2, pending: 0 }, false)).toEqual({
      name: 'sns',
      status: 'ok',
      detail: `${TOPIC}: 2 confirmed subscriptions`,
    });
    expect(snsCheck(EVENTS, { confirmed: 1, pending: 3 }, false).detail).toBe(
      `${TOPIC}: 1 confirmed subscription`,
    );
  });

  it('tells a topic nobody hears, and fails it when Slack is off too', () => {
    const fix = `aws sns subscribe --topic-arn ${TOPIC} --protocol email --notification-endpoint you@example.com (and confirm the email), or deploy with --param notificationEmail=you@example.com`;
    expect(snsCheck(EVENTS, { confirmed: 0, pending: 1 }, true)).toEqual({
      name: 'sns',
      status: 'info',
      detail: `${TOPIC} has no confirmed subscription (1 waiting for confirmation): its messages reach nobody`,
      fix,
    });
    expect(snsCheck(EVENTS, { confirmed: 0, pending: 0 }, false)).toEqual({
      name: 'sns',
      status: 'fail',
      detail: `${TOPIC} has no confirmed subscription: its messages reach nobody; with Slack off too, nobody hears of a failed build or a held image`,
      fix,
    });
  });

  it('fails a topic that does not exist, and says off with notifyEvents=none', () => {
    expect(snsCheck(EVENTS, undefined, true)).toEqual({
      name: 'sns',
      status: 'fail',
      detail: `the topic ${TOPIC} does not exist`,
      fix: 'deploy the stack again (`npm run deploy -- --stage <stage>`)',
    });
    expect(snsCheck({ ...EVENTS, NOTIFY_EVENTS: ' none ' }, undefined, false)).toEqual({
      name: 'sns',
      status: 'info',
      detail: 'off: the stack notifies nothing (notifyEvents=none)',
    });
  });
});

describe('scanningCheck', () => {
  it('passes when scans come, tells when none will and how to turn them on', () => {
    expect(scanningCheck(SCANS, undefined)).toEqual({
      name: 'scanning',
      status: 'ok',
      detail: 'registry scanning BASIC: the stack creates x with scan on push',
    });
    expect(scanningCheck(NO_SCANS, 'BASIC')).toEqual({
      name: 'scanning',
      status: 'info',
      detail: `registry scanning BASIC: ${NO_SCANS.scans === false && NO_SCANS.reason} (--fail-on and --wait-scan stop at once)`,
      fix: 'deploy with --param scanOnPush=true',
    });
    expect(scanningCheck({ scans: 'unknown', detail: 'not known' }, 'ENHANCED')).toEqual({
      name: 'scanning',
      status: 'info',
      detail: 'registry scanning ENHANCED: not known',
    });
  });
});

describe('releaseGateCheck', () => {
  it('passes gate none whatever the scanning', () => {
    expect(releaseGateCheck({ RELEASE_GATE: 'none' }, NO_SCANS)).toEqual({
      name: 'release gate',
      status: 'ok',
      detail: 'none: the tag moves to each image whose build succeeded',
    });
    expect(releaseGateCheck({}, NO_SCANS).status).toBe('ok');
  });

  it('passes a scan gate where scans come, with its severity and timeout', () => {
    expect(
      releaseGateCheck(
        { RELEASE_GATE: 'scan', RELEASE_MAX_SEVERITY: 'CRITICAL', RELEASE_SCAN_TIMEOUT_SECONDS: '600' },
        SCANS,
      ),
    ).toEqual({
      name: 'release gate',
      status: 'ok',
      detail: 'scan: holds an image with a finding at or above CRITICAL, or with no scan within 600 s',
    });
    expect(releaseGateCheck({ RELEASE_GATE: 'scan' }, { scans: 'unknown', detail: '' }).detail).toBe(
      'scan: holds an image with a finding at or above HIGH, or with no scan within 1800 s',
    );
  });

  it('says what the signature adds, with the scan gate and without it', () => {
    expect(
      releaseGateCheck({ RELEASE_GATE: 'signed', RELEASE_SCAN_TIMEOUT_SECONDS: '600' }, NO_SCANS),
    ).toEqual({
      name: 'release gate',
      status: 'ok',
      detail:
        'signed: the tag moves to each image whose build succeeded; and holds an image ECR managed signing did not sign within 600 s',
    });
    expect(releaseGateCheck({ RELEASE_GATE: 'scan,signed' }, SCANS).detail).toBe(
      'scan,signed: holds an image with a finding at or above HIGH, or with no scan within 1800 s; and holds an image ECR managed signing did not sign within 1800 s',
    );
    expect(releaseGateCheck({ RELEASE_GATE: 'scan,signed' }, NO_SCANS)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^scan,signed, but /),
    });
  });

  it('fails a scan gate where no scan will come: every image would be held', () => {
    expect(releaseGateCheck({ RELEASE_GATE: 'scan', RELEASE_SCAN_TIMEOUT_SECONDS: '900' }, NO_SCANS)).toEqual(
      {
        name: 'release gate',
        status: 'fail',
        detail: `scan, but ${NO_SCANS.scans === false && NO_SCANS.reason}: every image will be held after 900 s`,
        fix: 'deploy with --param scanOnPush=true; or deploy with --param releaseGate=none',
      },
    );
  });

  it('fails an unknown gate or severity', () => {
    expect(releaseGateCheck({ RELEASE_GATE: 'strict' }, SCANS)).toEqual({
      name: 'release gate',
      status: 'fail',
      detail: 'releaseGate is "strict": the release function takes none | scan | signed | scan,signed',
      fix: 'deploy with --param releaseGate=none (or scan, signed, scan,signed)',
    });
    expect(releaseGateCheck({ RELEASE_GATE: 'scan', RELEASE_MAX_SEVERITY: 'SEVERE' }, SCANS)).toEqual({
      name: 'release gate',
      status: 'fail',
      detail: 'releaseMaxSeverity is "SEVERE": one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL',
      fix: 'deploy with --param releaseMaxSeverity=HIGH (or another of them)',
    });
  });
});

describe('reading the webhook store and the subscriptions', () => {
  it('asks SSM for the parameter by name, never for its value', async () => {
    ssm.on(DescribeParametersCommand).resolves({
      Parameters: [{ Name: EVENTS.SLACK_WEBHOOK_PARAMETER, Type: 'SecureString' }],
    });
    expect(await readWebhookStore(clients, EVENTS)).toEqual({ exists: true, type: 'SecureString' });
    expect(ssm).toHaveReceivedCommandWith(DescribeParametersCommand, {
      ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [EVENTS.SLACK_WEBHOOK_PARAMETER] }],
    });
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/other', Type: 'String' }] });
    expect(await readWebhookStore(clients, EVENTS)).toEqual({ exists: false });
    expect(await readWebhookStore(clients, { ...EVENTS, SLACK_WEBHOOK_PARAMETER: '' })).toEqual({
      exists: false,
    });
    const { SLACK_WEBHOOK_PARAMETER: _, ...withoutParameter } = EVENTS;
    expect(await readWebhookStore(clients, withoutParameter)).toEqual({ exists: false });
    // No parameter named: nothing to ask.
    expect(ssm).toHaveReceivedCommandTimes(DescribeParametersCommand, 2);
    ssm.on(DescribeParametersCommand).resolves({});
    expect(await readWebhookStore(clients, EVENTS)).toEqual({ exists: false });
  });

  it('describes the secret in Secrets Manager; a missing one is Slack off, a denial is thrown', async () => {
    const env = { ...EVENTS, SLACK_WEBHOOK_SOURCE: 'secretsmanager' };
    secrets.on(DescribeSecretCommand).resolves({ Name: env.SLACK_WEBHOOK_PARAMETER });
    expect(await readWebhookStore(clients, env)).toEqual({ exists: true });
    expect(secrets).toHaveReceivedCommandWith(DescribeSecretCommand, {
      SecretId: env.SLACK_WEBHOOK_PARAMETER,
    });
    secrets.on(DescribeSecretCommand).rejects(named('ResourceNotFoundException'));
    expect(await readWebhookStore(clients, env)).toEqual({ exists: false });
    secrets.on(DescribeSecretCommand).rejects(named('AccessDeniedException'));
    await expect(readWebhookStore(clients, env)).rejects.toThrow('AccessDeniedException');
  });

  it('counts confirmed and pending subscriptions over every page; no topic is undefined', async () => {
    sns
      .on(ListSubscriptionsByTopicCommand)
      .resolvesOnce({
        Subscriptions: [{ SubscriptionArn: `${TOPIC}:1` }, { SubscriptionArn: 'PendingConfirmation' }],
        NextToken: 'n',
      })
      .resolvesOnce({ Subscriptions: [{ SubscriptionArn: `${TOPIC}:2` }], NextToken: 'm' })
      .resolvesOnce({});
    expect(await readSubscriptions(clients, TOPIC)).toEqual({ confirmed: 2, pending: 1 });
    // The paginator reuses one input object: the calls show the last page's token.
    expect(sns).toHaveReceivedCommandTimes(ListSubscriptionsByTopicCommand, 3);
    expect(sns).toHaveReceivedCommandWith(ListSubscriptionsByTopicCommand, {
      TopicArn: TOPIC,
      NextToken: 'm',
    });
    sns.on(ListSubscriptionsByTopicCommand).rejects(named('NotFoundException'));
    expect(await readSubscriptions(clients, TOPIC)).toBeUndefined();
    sns.on(ListSubscriptionsByTopicCommand).rejects(named('NotFound'));
    expect(await readSubscriptions(clients, TOPIC)).toBeUndefined();
    sns.on(ListSubscriptionsByTopicCommand).rejects(named('AuthorizationErrorException'));
    await expect(readSubscriptions(clients, TOPIC)).rejects.toThrow('AuthorizationErrorException');
  });
});

describe('patternMatches', () => {
  const event = buildSucceeded('ecr-pipeline-dev');

  it("matches the stack's own rules: exact values in lists, nested objects", () => {
    const release = {
      source: ['aws.codebuild'],
      'detail-type': ['CodeBuild Build State Change'],
      detail: { 'project-name': ['ecr-pipeline-dev'], 'build-status': ['SUCCEEDED'] },
    };
    expect(patternMatches(release, event)).toBe(true);
    expect(patternMatches({ source: ['aws.codebuild'] }, event)).toBe(true);
    expect(patternMatches({ ...release, detail: { 'build-status': ['FAILED', 'STOPPED'] } }, event)).toBe(
      false,
    );
    expect(patternMatches({ ...release, detail: { 'project-name': ['other'] } }, event)).toBe(false);
    expect(patternMatches({ ...release, source: ['aws.ecr'] }, event)).toBe(false);
    // A field the event does not have, and a pattern that is no object, match nothing.
    expect(patternMatches({ account: ['123456789012'] }, event)).toBe(false);
    expect(patternMatches({ detail: { x: { y: ['z'] } } }, event)).toBe(false);
    expect(patternMatches({ source: 'aws.codebuild' }, event)).toBe(false);
    expect(patternMatches(undefined, event)).toBe(false);
    expect(patternMatches(['aws.codebuild'], event)).toBe(false);
  });

  it('reads prefix, wildcard and exists filters, and counts other filters as no match', () => {
    const detail = (filter: unknown) => ({ detail: { 'project-name': [filter] } });
    expect(patternMatches(detail({ prefix: 'ecr-pipeline-' }), event)).toBe(true);
    expect(patternMatches(detail({ prefix: 'other-' }), event)).toBe(false);
    expect(patternMatches(detail({ wildcard: 'ecr-*-dev' }), event)).toBe(true);
    expect(patternMatches(detail({ wildcard: 'ecr-*-prod' }), event)).toBe(false);
    // Only * is a wildcard: the dot and the brackets are taken as they are.
    expect(patternMatches(detail({ wildcard: 'ecr.pipeline-dev' }), event)).toBe(false);
    expect(patternMatches(detail({ wildcard: 'ecr-pipeline-de' }), event)).toBe(false);
    expect(patternMatches(detail({ wildcard: 'cr-pipeline-dev' }), event)).toBe(false);
    expect(patternMatches({ detail: { 'build-id': [{ exists: false }] } }, event)).toBe(true);
    expect(patternMatches({ detail: { 'build-id': [{ exists: true }] } }, event)).toBe(false);
    expect(patternMatches(detail({ exists: true }), event)).toBe(true);
    expect(patternMatches(detail({ 'anything-but': 'other' }), event)).toBe(false);
    // The wildcard's other characters are taken as they are, and a missing field matches no wildcard.
    expect(patternMatches({ a: [{ wildcard: 'x.y(1)*' }] }, { a: 'x.y(1)z' })).toBe(true);
    expect(patternMatches({ a: [{ wildcard: '*' }] }, {})).toBe(false);
    // One value of a list is enough.
    expect(patternMatches({ source: ['aws.ecr', 'aws.codebuild'] }, event)).toBe(true);
    expect(
      patternMatches({ detail: { 'build-status': [{ prefix: 'SUCC' }] } }, { detail: { 'build-status': 3 } }),
    ).toBe(false);
  });
});

describe('releaseRuleCheck', () => {
  const PROJECT = 'ecr-pipeline-dev';
  const RELEASE = 'ecr-pipeline-dev-release';
  const pattern = (statuses: string[], project = PROJECT) =>
    JSON.stringify({
      source: ['aws.codebuild'],
      'detail-type': ['CodeBuild Build State Change'],
      detail: { 'project-name': [project], 'build-status': statuses },
    });
  const fn = (name: string, qualifier = '') =>
    `arn:aws:lambda:us-east-1:123456789012:function:${name}${qualifier}`;
  const releaseRule: RuleRead = {
    name: 'ecr-pipeline-dev-ReleaseBuildRule-ABC',
    state: 'ENABLED',
    pattern: pattern(['SUCCEEDED']),
    targets: [fn(RELEASE)],
  };
  const eventsRule: RuleRead = {
    name: 'ecr-pipeline-dev-BuildStateRule-DEF',
    state: 'ENABLED',
    pattern: pattern(['IN_PROGRESS', 'SUCCEEDED', 'FAILED']),
    targets: [fn('ecr-pipeline-dev-ecrEvents')],
  };

  it('passes an enabled rule that sends the succeeded builds to the release function', () => {
    expect(releaseRuleCheck([eventsRule, releaseRule], PROJECT, RELEASE)).toEqual({
      name: 'release rule',
      status: 'ok',
      detail: `ecr-pipeline-dev-ReleaseBuildRule-ABC sends ${PROJECT}'s succeeded builds to ${RELEASE}`,
    });
    // A version or alias of the function is the function; the local cloud's queue stands for it.
    const aliased = { ...releaseRule, targets: [fn('ecr-pipeline-dev-ecrEvents'), fn(RELEASE, ':live')] };
    expect(releaseRuleCheck([aliased], PROJECT, RELEASE).status).toBe('ok');
    const local = {
      ...releaseRule,
      name: 'ecr-pipeline-dev-ReleaseBuildRule',
      targets: [`arn:aws:sqs:us-east-1:123456789012:${RELEASE}-rule-ecr-pipeline-dev-ReleaseBuildRule`],
    };
    expect(releaseRuleCheck([local], PROJECT, RELEASE).status).toBe('ok');
  });

  it('fails when no rule sends them there, and says what that costs and how to fix it', () => {
    const missing = {
      name: 'release rule',
      status: 'fail',
      detail: `no EventBridge rule sends ${PROJECT}'s succeeded builds to ${RELEASE}: built images are pushed by digest but never released (their tag does not move; submit waits for a release that does not come)`,
      fix: "the stack's ReleaseBuildRule was removed or changed outside the stack; deploy the stack again (`npm run deploy -- --stage <stage>`)",
    };
    // Only ecr-events hears the builds; rules for another project, for failed builds only, or to
    // another function (or a queue of another function) do not count; nor does an unreadable pattern.
    expect(releaseRuleCheck([eventsRule], PROJECT, RELEASE)).toEqual(missing);
    const others: RuleRead[] = [
      { ...releaseRule, pattern: pattern(['SUCCEEDED'], 'other-project') },
      { ...releaseRule, pattern: pattern(['FAILED']) },
      { ...releaseRule, targets: [fn(`${RELEASE}-copy`), fn('release', `:${RELEASE}`)] },
      {
        ...releaseRule,
        targets: [`arn:aws:sqs:us-east-1:123456789012:ecr-pipeline-dev-ecrEvents-rule-${RELEASE}`],
      },
      { ...releaseRule, targets: [`arn:aws:sns:us-east-1:123456789012:${RELEASE}-rule-x`] },
      { ...releaseRule, targets: [`arn:aws:lambda:us-east-1:123456789012:layer:${RELEASE}`, 'arn:aws:sqs'] },
      { ...releaseRule, pattern: '{not json' },
      { ...releaseRule, pattern: undefined },
    ];
    for (const rule of others)
      expect(releaseRuleCheck([rule], PROJECT, RELEASE), JSON.stringify(rule)).toEqual(missing);
    expect(releaseRuleCheck([], PROJECT, RELEASE)).toEqual(missing);
  });

  it('fails a disabled rule and gives the command that enables it', () => {
    const disabled = { ...releaseRule, state: 'DISABLED' };
    expect(releaseRuleCheck([eventsRule, disabled], PROJECT, RELEASE)).toEqual({
      name: 'release rule',
      status: 'fail',
      detail: `the rule ${disabled.name} that sends ${PROJECT}'s succeeded builds to ${RELEASE} is DISABLED: built images are never released (their tag does not move)`,
      fix: `aws events enable-rule --name ${disabled.name}, or deploy the stack again (\`npm run deploy -- --stage <stage>\`)`,
    });
    const unknown = releaseRuleCheck([{ ...releaseRule, state: undefined }], PROJECT, RELEASE);
    expect(unknown.detail).toContain('is not enabled: built images are never released');
    // One enabled rule is enough, whatever else is disabled; each enabled one is named.
    expect(releaseRuleCheck([disabled, releaseRule], PROJECT, RELEASE).status).toBe('ok');
    const second = { ...releaseRule, name: 'second' };
    expect(releaseRuleCheck([releaseRule, second], PROJECT, RELEASE).detail).toBe(
      `ecr-pipeline-dev-ReleaseBuildRule-ABC, second sends ${PROJECT}'s succeeded builds to ${RELEASE}`,
    );
  });
});

describe('readBuildRules', () => {
  it("reads every page of the default bus's rules, and the targets of those that filter CodeBuild's events", async () => {
    events
      .on(ListRulesCommand)
      .resolvesOnce({
        Rules: [
          { Name: 'builds', State: 'ENABLED', EventPattern: '{"source":["aws.codebuild"]}' },
          { Name: 'scans', State: 'ENABLED', EventPattern: '{"source":["aws.ecr"]}' },
        ],
        NextToken: 'n',
      })
      .resolvesOnce({
        Rules: [
          { Name: 'nightly', ScheduleExpression: 'rate(1 day)' },
          { State: 'ENABLED', EventPattern: '{"source":["aws.codebuild"]}' },
          { Name: 'more', State: 'DISABLED', EventPattern: '{"source":["aws.codebuild"]}' },
        ],
      });
    events
      .on(ListTargetsByRuleCommand, { Rule: 'builds' })
      .resolves({ Targets: [{ Id: 'a', Arn: 'arn:a' }, { Id: 'b' } as never] });
    events.on(ListTargetsByRuleCommand, { Rule: 'more' }).resolves({});
    expect(await readBuildRules(clients)).toEqual([
      { name: 'builds', state: 'ENABLED', pattern: '{"source":["aws.codebuild"]}', targets: ['arn:a', ''] },
      { name: 'more', state: 'DISABLED', pattern: '{"source":["aws.codebuild"]}', targets: [] },
    ]);
    expect(events).toHaveReceivedCommandTimes(ListRulesCommand, 2);
    expect(events).toHaveReceivedNthCommandWith(ListRulesCommand, 2, { NextToken: 'n' });
    expect(events).toHaveReceivedCommandTimes(ListTargetsByRuleCommand, 2);
  });
});
