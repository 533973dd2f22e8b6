/**
 * `doctor`'s checks of the stack's settings, read from its functions: the functions are there,
 * Slack and SNS reach someone (or are said to be off), the registry scans what the stack creates,
 * the release gate can decide (a scan gate without scans would hold every image), and an enabled
 * EventBridge rule sends the project's succeeded builds to the release function. Each check is a
 * pure function of what was read, so that each is tested on its own.
 */

import { ListRulesCommand, ListTargetsByRuleCommand, type Rule } from '@aws-sdk/client-eventbridge';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { paginateListSubscriptionsByTopic } from '@aws-sdk/client-sns';
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { RELEASE_GATES } from '../functions/shared/contract.ts';
import { SEVERITIES } from './args.ts';
import type { Check } from './doctor.ts';
import type { ScanExpectation } from './scan-plan.ts';
import type { FunctionKey, FunctionSettings } from './stack-functions.ts';
import type { Clients } from './target.ts';

/** How to put the stack back as its template says. A function: Stryker sees the mutants of module-level values as survivors. */
function redeploy(): string {
  return 'deploy the stack again (`npm run deploy -- --stage <stage>`)';
}

/** The functions check: the three functions the pipeline runs on are deployed under the names expected. */
export function functionsCheck(
  names: Record<FunctionKey, string>,
  found: Partial<Record<FunctionKey, FunctionSettings>>,
): Check {
  const missing = (Object.keys(names) as FunctionKey[]).filter((key) => !found[key]);
  if (missing.length === 0)
    return { name: 'functions', status: 'ok', detail: Object.values(names).join(', ') };
  return {
    name: 'functions',
    status: 'fail',
    detail: `no function ${missing.map((key) => names[key]).join(', ')}: ${missing.includes('buildTrigger') ? 'no upload is built' : 'images are not released or nobody is told'}`,
    fix: `check --stack / --project and --region; ${redeploy()}`,
  };
}

/** The Slack webhook's store as read: absent, or present with its SSM type (String, SecureString). */
export type WebhookStore = { exists: false } | { exists: true; type?: string | undefined };

/** Whether the ecr-events function notifies at all (notifyEvents=none turns every message off). */
export function notifying(env: Record<string, string>): boolean {
  return (env.NOTIFY_EVENTS ?? '').trim() !== 'none';
}

/** The Slack check: the webhook URL kept where the function reads it, as a secret; or Slack said off. */
export function slackCheck(env: Record<string, string>, store: WebhookStore): Check {
  const name = env.SLACK_WEBHOOK_PARAMETER ?? '';
  const source = env.SLACK_WEBHOOK_SOURCE === 'secretsmanager' ? 'secretsmanager' : 'ssm';
  if (!notifying(env))
    return { name: 'slack', status: 'info', detail: 'off: the stack notifies nothing (notifyEvents=none)' };
  const create =
    source === 'ssm'
      ? `aws ssm put-parameter --name ${name} --type SecureString --value https://hooks.slack.com/services/...`
      : `aws secretsmanager create-secret --name ${name} --secret-string https://hooks.slack.com/services/...`;
  if (!store.exists)
    return {
      name: 'slack',
      status: 'info',
      detail: `off: no ${source === 'ssm' ? 'SSM parameter' : 'secret'} ${name}, so nothing is sent to Slack`,
      fix: `to turn it on: ${create}`,
    };
  if (source === 'ssm' && store.type !== 'SecureString')
    return {
      name: 'slack',
      status: 'fail',
      detail: `the webhook URL in ${name} is a plain ${store.type ?? 'parameter'}, not a SecureString: whoever may read parameters can post to the channel`,
      fix: `aws ssm delete-parameter --name ${name}, then ${create}`,
    };
  return {
    name: 'slack',
    status: 'ok',
    detail: `webhook URL in ${source === 'ssm' ? 'the SSM SecureString' : 'the secret'} ${name}`,
  };
}

/** The SNS topic's subscriptions as read (undefined: the topic does not exist). */
export interface TopicSubscriptions {
  confirmed: number;
  pending: number;
}

/** The SNS check: the topic has someone to tell; with Slack off too, nobody hears of failures. */
export function snsCheck(
  env: Record<string, string>,
  subscriptions: TopicSubscriptions | undefined,
  slackOn: boolean,
): Check {
  const topic = env.SNS_TOPIC_ARN ?? '';
  if (!notifying(env))
    return { name: 'sns', status: 'info', detail: 'off: the stack notifies nothing (notifyEvents=none)' };
  if (!subscriptions)
    return { name: 'sns', status: 'fail', detail: `the topic ${topic} does not exist`, fix: redeploy() };
  if (subscriptions.confirmed > 0)
    return {
      name: 'sns',
      status: 'ok',
      detail: `${topic}: ${subscriptions.confirmed} confirmed subscription${subscriptions.confirmed > 1 ? 's' : ''}`,
    };
  const pending = subscriptions.pending > 0 ? ` (${subscriptions.pending} waiting for confirmation)` : '';
  return {
    name: 'sns',
    status: slackOn ? 'info' : 'fail',
    detail: `${topic} has no confirmed subscription${pending}: its messages reach nobody${slackOn ? '' : '; with Slack off too, nobody hears of a failed build or a held image'}`,
    fix: `aws sns subscribe --topic-arn ${topic} --protocol email --notification-endpoint you@example.com (and confirm the email), or deploy with --param notificationEmail=you@example.com`,
  };
}

/** The scanning check: whether the images of the repositories this stack creates get scanned. */
export function scanningCheck(expected: ScanExpectation, scanType: string | undefined): Check {
  const type = scanType ?? 'BASIC';
  if (expected.scans === true)
    return { name: 'scanning', status: 'ok', detail: `registry scanning ${type}: ${expected.detail}` };
  if (expected.scans === false)
    return {
      name: 'scanning',
      status: 'info',
      detail: `registry scanning ${type}: ${expected.reason} (--fail-on and --wait-scan stop at once)`,
      fix: expected.fix.replace(/, or leave out --wait-scan \/ --fail-on$/, ''),
    };
  return { name: 'scanning', status: 'info', detail: `registry scanning ${type}: ${expected.detail}` };
}

/** The release gate check: a valid gate, and a scan gate only where scans come. */
export function releaseGateCheck(env: Record<string, string>, expected: ScanExpectation): Check {
  const gate = env.RELEASE_GATE ?? 'none';
  const severity = env.RELEASE_MAX_SEVERITY ?? 'HIGH';
  const timeout = env.RELEASE_SCAN_TIMEOUT_SECONDS ?? '1800';
  if (!(RELEASE_GATES as readonly string[]).includes(gate))
    return {
      name: 'release gate',
      status: 'fail',
      detail: `releaseGate is "${gate}": the release function takes ${RELEASE_GATES.join(' | ')}`,
      fix: `deploy with --param releaseGate=none (or scan, signed, scan,signed)`,
    };
  // The signature's part: ECR managed signing's status, within the same timeout as the scan.
  const signed = gate.endsWith('signed')
    ? `; and holds an image ECR managed signing did not sign within ${timeout} s`
    : '';
  if (!gate.startsWith('scan'))
    return {
      name: 'release gate',
      status: 'ok',
      detail: `${gate}: the tag moves to each image whose build succeeded${signed}`,
    };
  if (!(SEVERITIES as readonly string[]).includes(severity))
    return {
      name: 'release gate',
      status: 'fail',
      detail: `releaseMaxSeverity is "${severity}": one of ${SEVERITIES.join(', ')}`,
      fix: 'deploy with --param releaseMaxSeverity=HIGH (or another of them)',
    };
  if (expected.scans === false)
    return {
      name: 'release gate',
      status: 'fail',
      detail: `${gate}, but ${expected.reason}: every image will be held after ${timeout} s`,
      fix: `${expected.fix.replace(/, or leave out --wait-scan \/ --fail-on$/, '')}; or deploy with --param releaseGate=none`,
    };
  return {
    name: 'release gate',
    status: 'ok',
    detail: `${gate}: holds an image with a finding at or above ${severity}, or with no scan within ${timeout} s${signed}`,
  };
}

/** An EventBridge rule as read: its name, state, pattern and the ARNs of its targets. */
export interface RuleRead {
  name: string;
  state?: string | undefined;
  pattern?: string | undefined;
  targets: string[];
}

type Json = Record<string, unknown>;
function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One value of a pattern's list against the event's value: equal, or a prefix, wildcard or exists filter. */
function valueMatches(expected: unknown, value: unknown): boolean {
  if (!isObject(expected)) return expected === value;
  const text = typeof value === 'string' ? value : undefined;
  if (typeof expected.prefix === 'string') return text?.startsWith(expected.prefix) === true;
  if (typeof expected.wildcard === 'string') {
    const glob = expected.wildcard.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
    return text !== undefined && new RegExp(`^${glob.join('.*')}$`).test(text);
  }
  if (typeof expected.exists === 'boolean') return (value !== undefined) === expected.exists;
  // Other content filters (anything-but, numeric...): not read here, so not counted as a match.
  return false;
}

/**
 * Whether an EventBridge event pattern matches `event`: every field of the pattern is in the event,
 * a list holds the event's value, an object matches the event's object there.
 */
export function patternMatches(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) return false;
  return Object.entries(pattern).every(([field, expected]) => {
    const value = isObject(event) ? event[field] : undefined;
    if (Array.isArray(expected)) return expected.some((entry) => valueMatches(entry, value));
    return isObject(expected) && patternMatches(expected, value);
  });
}

/** The event CodeBuild sends when a build of `project` succeeds, as far as rules filter on it. */
export function buildSucceeded(project: string): Json {
  return {
    source: 'aws.codebuild',
    'detail-type': 'CodeBuild Build State Change',
    detail: { 'project-name': project, 'build-status': 'SUCCEEDED' },
  };
}

/**
 * Whether a rule's target is the function `name`: its ARN (unqualified or with a version or
 * alias) on AWS; in the local cloud, which delivers rules through queues, its queue
 * `<function>-rule-<rule>`.
 */
export function targetsFunction(arn: string, name: string): boolean {
  const [, , service, , , resource, qualifier] = arn.split(':');
  if (service === 'lambda') return resource === 'function' && qualifier === name;
  return service === 'sqs' && resource?.startsWith(`${name}-rule-`) === true;
}

function parsePattern(pattern: string | undefined): unknown {
  try {
    return JSON.parse(pattern ?? '');
  } catch {
    return undefined;
  }
}

/**
 * The release rule check: an enabled rule sends the project's succeeded builds to the release
 * function. Without one, every image is pushed by digest and its tag never moves.
 */
export function releaseRuleCheck(rules: RuleRead[], project: string, release: string): Check {
  const event = buildSucceeded(project);
  const wired = rules.filter(
    (rule) =>
      patternMatches(parsePattern(rule.pattern), event) &&
      rule.targets.some((arn) => targetsFunction(arn, release)),
  );
  const enabled = wired.filter((rule) => rule.state === 'ENABLED');
  if (enabled.length > 0)
    return {
      name: 'release rule',
      status: 'ok',
      detail: `${enabled.map((rule) => rule.name).join(', ')} sends ${project}'s succeeded builds to ${release}`,
    };
  const disabled = wired[0];
  if (disabled)
    return {
      name: 'release rule',
      status: 'fail',
      detail: `the rule ${disabled.name} that sends ${project}'s succeeded builds to ${release} is ${disabled.state ?? 'not enabled'}: built images are never released (their tag does not move)`,
      fix: `aws events enable-rule --name ${disabled.name}, or ${redeploy()}`,
    };
  return {
    name: 'release rule',
    status: 'fail',
    detail: `no EventBridge rule sends ${project}'s succeeded builds to ${release}: built images are pushed by digest but never released (their tag does not move; submit waits for a release that does not come)`,
    fix: `the stack's ReleaseBuildRule was removed or changed outside the stack; ${redeploy()}`,
  };
}

/** The default bus's rules that filter CodeBuild's events, with their targets. */
export async function readBuildRules(clients: Pick<Clients, 'events'>): Promise<RuleRead[]> {
  const rules: Rule[] = [];
  // The SDK has no paginator for ListRules.
  let token: string | undefined;
  do {
    const page = await clients.events.send(new ListRulesCommand({ NextToken: token }));
    rules.push(...(page.Rules ?? []));
    token = page.NextToken;
  } while (token);
  const codebuild = rules.filter((rule) => rule.Name && rule.EventPattern?.includes('aws.codebuild'));
  return Promise.all(
    codebuild.map(async (rule) => {
      const { Targets = [] } = await clients.events.send(new ListTargetsByRuleCommand({ Rule: rule.Name }));
      return {
        name: rule.Name ?? '',
        state: rule.State,
        pattern: rule.EventPattern,
        targets: Targets.map((target) => target.Arn ?? ''),
      };
    }),
  );
}

function named(error: unknown, ...names: string[]): boolean {
  return names.includes((error as { name?: string }).name ?? '');
}

/** Reads where the Slack webhook is kept, without reading the secret itself. */
export async function readWebhookStore(
  clients: Pick<Clients, 'ssm' | 'secrets'>,
  env: Record<string, string>,
): Promise<WebhookStore> {
  const name = env.SLACK_WEBHOOK_PARAMETER ?? '';
  if (name === '') return { exists: false };
  if (env.SLACK_WEBHOOK_SOURCE === 'secretsmanager') {
    try {
      await clients.secrets.send(new DescribeSecretCommand({ SecretId: name }));
      return { exists: true };
    } catch (error) {
      if (named(error, 'ResourceNotFoundException')) return { exists: false };
      throw error;
    }
  }
  const { Parameters = [] } = await clients.ssm.send(
    new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }),
  );
  const found = Parameters.find((p) => p.Name === name);
  return found ? { exists: true, type: found.Type } : { exists: false };
}

/** Counts the topic's confirmed and pending subscriptions; undefined when there is no such topic. */
export async function readSubscriptions(
  clients: Pick<Clients, 'sns'>,
  topicArn: string,
): Promise<TopicSubscriptions | undefined> {
  const counts = { confirmed: 0, pending: 0 };
  try {
    for await (const page of paginateListSubscriptionsByTopic(
      { client: clients.sns },
      { TopicArn: topicArn },
    )) {
      for (const s of page.Subscriptions ?? []) {
        if (s.SubscriptionArn?.startsWith('arn:')) counts.confirmed += 1;
        else counts.pending += 1;
      }
    }
  } catch (error) {
    if (named(error, 'NotFoundException', 'NotFound')) return undefined;
    throw error;
  }
  return counts;
}
