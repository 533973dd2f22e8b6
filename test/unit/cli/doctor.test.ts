/** `doctor`'s reading of a bucket's notifications: every context extension, and .zip, must reach the function. */
import { BatchGetProjectsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  type Event,
  GetBucketNotificationConfigurationCommand,
  GetBucketVersioningCommand,
  type NotificationConfiguration,
  S3Client,
} from '@aws-sdk/client-s3';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type Check,
  doctorCommand,
  notificationCheck,
  notifiedSuffixes,
  requiredSuffixes,
  runChecks,
} from '../../../cli/doctor.ts';
import { EXIT } from '../../../cli/exit-codes.ts';
import type { FunctionKey } from '../../../cli/stack-functions.ts';
import type { Io } from '../../../cli/submit.ts';
import { createClients, type Target, type TargetFlags } from '../../../cli/target.ts';

/** A configuration as S3 answers it (the SDK's enum types aside). */
const cfg = (value: unknown) => value as NotificationConfiguration;

const created = (suffix: string, prefix?: string) => ({
  Events: ['s3:ObjectCreated:*'],
  Filter: {
    Key: {
      FilterRules: [
        ...(prefix !== undefined ? [{ Name: 'Prefix', Value: prefix }] : []),
        { Name: 'Suffix', Value: suffix },
      ],
    },
  },
});

describe('the suffixes a bucket sends', () => {
  it('reads Lambda targets (AWS) and queue targets (the local cloud)', () => {
    expect(
      notifiedSuffixes(
        cfg({
          LambdaFunctionConfigurations: [{ LambdaFunctionArn: 'f', ...created('.tar.gz') }],
          QueueConfigurations: [{ QueueArn: 'q', ...created('.tgz') }],
        }),
        '',
      ),
    ).toEqual(['.tar.gz', '.tgz']);
  });

  it('skips other events and rules for another prefix', () => {
    const config = {
      QueueConfigurations: [
        {
          QueueArn: 'q',
          Events: ['s3:ObjectRemoved:*'],
          Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.tar' }] } },
        },
        { QueueArn: 'q', ...created('.zip', 'other/') },
        { QueueArn: 'q', ...created('.tgz', 'ctx/') },
      ],
    };
    expect(notifiedSuffixes(cfg(config), 'ctx/')).toEqual(['.tgz']);
    expect(notifiedSuffixes({}, '')).toEqual([]);
  });

  it('reads a target that also sends other events, and a rule for a prefix above the one checked', () => {
    const config = {
      QueueConfigurations: [
        { QueueArn: 'q', ...created('.tgz', 'ctx/'), Events: ['s3:ObjectRemoved:*', 's3:ObjectCreated:Put'] },
      ],
    };
    expect(notifiedSuffixes(cfg(config), 'ctx/team/')).toEqual(['.tgz']);
  });

  it('reads a target without a key filter or with a rule without a name as sending every suffix', () => {
    const config = {
      QueueConfigurations: [
        { QueueArn: 'q', Events: ['s3:ObjectCreated:*'], Filter: {} },
        {
          QueueArn: 'q',
          Events: ['s3:ObjectCreated:*'],
          Filter: { Key: { FilterRules: [{ Value: '.x' }] } },
        },
        { QueueArn: 'q', Events: ['s3:ObjectCreated:*'], Filter: { Key: {} } },
      ],
    };
    expect(notifiedSuffixes(cfg(config), 'ctx/')).toEqual(['', '', '']);
  });
});

describe('the notification check', () => {
  const all = {
    QueueConfigurations: requiredSuffixes().map((suffix) => ({ QueueArn: 'q', ...created(suffix) })),
  };

  it('passes when every suffix reaches the function', () => {
    expect(requiredSuffixes()).toEqual(['.tar.gz', '.tgz', '.tar', '.zip']);
    expect(notificationCheck(cfg(all), '', 'b')).toMatchObject({
      status: 'ok',
      detail: 's3://b/ sends .tar.gz, .tgz, .tar, .zip uploads to build-trigger',
    });
    // A rule without a suffix sends everything.
    expect(
      notificationCheck(
        { QueueConfigurations: [{ QueueArn: 'q', Events: ['s3:ObjectCreated:Put'] }] },
        '',
        'b',
      ).status,
    ).toBe('ok');
  });

  it('takes a rule whose suffix ends several extensions as sending each', () => {
    const config = {
      QueueConfigurations: ['gz', '.tar', '.zip'].map((suffix) => ({ QueueArn: 'q', ...created(suffix) })),
    };
    expect(notificationCheck(cfg(config), '', 'b').status).toBe('ok');
  });

  it('names the suffixes that reach nothing, and how to fix it', () => {
    const check = notificationCheck(
      cfg({ QueueConfigurations: all.QueueConfigurations.slice(0, 2) }),
      'ctx/',
      'b',
    );
    expect(check).toMatchObject({
      name: 'notifications',
      status: 'fail',
      detail:
        'uploads ending in .tar, .zip to s3://b/ctx/ reach no function: they would be ignored in silence',
    });
    expect(check.fix).toContain('deploy the stack again');
  });
});

/** Every AWS answer `doctor` reads, for a stack whose checks all pass; each test breaks one thing. */
const s3 = mockClient(S3Client);
const codebuild = mockClient(CodeBuildClient);
const lambda = mockClient(LambdaClient);
const ssm = mockClient(SSMClient);
const sns = mockClient(SNSClient);
const ecr = mockClient(ECRClient);
const iam = mockClient(IAMClient);
const events = mockClient(EventBridgeClient);
const named = (name: string) => Object.assign(new Error(name), { name });
const ACCOUNT = '123456789012';
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:p-events`;

function functionEnv(): Record<FunctionKey, Record<string, string>> {
  return {
    buildTrigger: { SCAN_ON_PUSH: 'true', REPOSITORY_PATTERN: 'team/*' },
    ecrEvents: { SNS_TOPIC_ARN: TOPIC, SLACK_WEBHOOK_SOURCE: 'ssm', SLACK_WEBHOOK_PARAMETER: '/p/slack' },
    release: { RELEASE_GATE: 'scan', RELEASE_MAX_SEVERITY: 'HIGH' },
  };
}

function deployed(env = functionEnv(), missing: FunctionKey[] = []) {
  for (const [key, variables] of Object.entries(env) as [FunctionKey, Record<string, string>][]) {
    const call = lambda.on(GetFunctionConfigurationCommand, { FunctionName: `p-${key}` });
    if (missing.includes(key)) call.rejects(named('ResourceNotFoundException'));
    else call.resolves({ Role: roleArn(key), Environment: { Variables: variables } });
  }
}

beforeEach(() => {
  for (const client of [s3, codebuild, lambda, ssm, sns, ecr, iam, events]) client.reset();
  s3.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
  s3.on(GetBucketNotificationConfigurationCommand).resolves({
    LambdaFunctionConfigurations: requiredSuffixes().map((suffix) => ({
      LambdaFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:p-buildTrigger`,
      ...(created(suffix) as { Events: Event[] }),
    })),
  });
  codebuild.on(BatchGetProjectsCommand).resolves({
    projects: [
      {
        name: 'p',
        serviceRole: roleArn('build'),
        environment: {
          privilegedMode: true,
          computeType: 'BUILD_GENERAL1_SMALL',
          image: 'aws/codebuild/standard:7.0',
        } as never,
      },
    ],
  });
  deployed();
  ssm.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/p/slack', Type: 'SecureString' }] });
  sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [{ SubscriptionArn: `${TOPIC}:1` }] });
  ecr.on(GetRegistryScanningConfigurationCommand).resolves({ scanningConfiguration: { scanType: 'BASIC' } });
  ecr.on(DescribeRepositoriesCommand).rejects(named('RepositoryNotFoundException'));
  iam
    .on(SimulatePrincipalPolicyCommand)
    .resolves({ EvaluationResults: [{ EvalActionName: 'a', EvalDecision: 'allowed' }] });
  events.on(ListRulesCommand).resolves({
    Rules: [
      {
        Name: 'p-ReleaseBuildRule-1',
        State: 'ENABLED',
        EventPattern: JSON.stringify({ source: ['aws.codebuild'], detail: { 'project-name': ['p'] } }),
      },
    ],
  });
  events.on(ListTargetsByRuleCommand).resolves({
    Targets: [{ Id: 'release', Arn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:p-release` }],
  });
});

function capture(): Io & { out: () => string } {
  let out = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: () => true },
    env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    git: () => undefined,
    now: () => new Date('2026-12-01T00:00:00Z'),
    out: () => out,
  };
}

async function doctor(output: 'text' | 'json' = 'text', flags: Partial<TargetFlags> = {}) {
  const io = capture();
  const code = await doctorCommand(
    {
      command: 'doctor',
      output,
      flags: { bucket: 'contexts', project: 'p', region: 'us-east-1', prefix: 'ctx/', ...flags },
    },
    io,
  );
  return { code, lines: io.out().split('\n').slice(0, -1), json: () => JSON.parse(io.out()) };
}

function target(extra: Partial<Target> = {}): Target {
  return {
    region: 'us-east-1',
    local: false,
    bucket: 'contexts',
    prefix: 'ctx/',
    project: 'p',
    clients: createClients({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
    ...extra,
  };
}

const byName = (checks: Check[]) => Object.fromEntries(checks.map((check) => [check.name, check]));

describe("doctor's report", () => {
  it('prints one line per check, marked ok, and exits 0 when every check passes', async () => {
    const { code, lines } = await doctor();
    expect(lines).toEqual([
      'ok    bucket        s3://contexts exists, versioned',
      'ok    notifications s3://contexts/ctx/ sends .tar.gz, .tgz, .tar, .zip uploads to build-trigger',
      `ok    project       p (BUILD_GENERAL1_SMALL, aws/codebuild/standard:7.0, role build)`,
      'ok    functions     p-buildTrigger, p-ecrEvents, p-release',
      'ok    slack         webhook URL in the SSM SecureString /p/slack',
      `ok    sns           ${TOPIC}: 1 confirmed subscription`,
      'ok    scanning      registry scanning BASIC: the stack creates team/doctor-probe with scan on push',
      'ok    release gate  scan: holds an image with a finding at or above HIGH, or with no scan within 1800 s',
      "ok    release rule  p-ReleaseBuildRule-1 sends p's succeeded builds to p-release",
      'ok    roles         build-trigger, ecr-events, release, build project, build session: the 17 permissions they need are allowed (IAM policy simulator)',
      'no problem found',
    ]);
    expect(code).toBe(EXIT.success);
  });

  it('asks about the repository the pattern admits, and about the resources of the stack it was given', async () => {
    await doctor();
    expect(ecr).toHaveReceivedCommandWith(DescribeRepositoriesCommand, {
      repositoryNames: ['team/doctor-probe'],
    });
    expect(codebuild).toHaveReceivedCommandWith(BatchGetProjectsCommand, { names: ['p'] });
    expect(s3).toHaveReceivedCommandWith(GetBucketVersioningCommand, { Bucket: 'contexts' });
    expect(s3).toHaveReceivedCommandWith(GetBucketNotificationConfigurationCommand, { Bucket: 'contexts' });
    expect(sns).toHaveReceivedCommandWith(ListSubscriptionsByTopicCommand, { TopicArn: TOPIC });
    const resources = iam
      .commandCalls(SimulatePrincipalPolicyCommand)
      .map((call) => `${call.args[0].input.PolicySourceArn} ${call.args[0].input.ResourceArns?.[0]}`);
    expect(resources).toContain(
      `${roleArn('buildTrigger')} arn:aws:s3:::contexts/ctx/.ecr-pipeline/uploads/doctor-probe.json`,
    );
    expect(resources).toContain(
      `${roleArn('buildTrigger')} arn:aws:codebuild:us-east-1:${ACCOUNT}:project/p`,
    );
    expect(resources).toContain(`${roleArn('build')} ${roleArn('p-build-session')}`);
  });

  it('prints the same checks as one JSON object with the exit code', async () => {
    const { code, lines, json } = await doctor('json');
    expect(code).toBe(EXIT.success);
    expect(lines).toHaveLength(1);
    const report = json();
    expect(report.exitCode).toBe(EXIT.success);
    expect(report.checks.map((check: Check) => `${check.name} ${check.status}`)).toEqual(
      [
        'bucket',
        'notifications',
        'project',
        'functions',
        'slack',
        'sns',
        'scanning',
        'release gate',
        'release rule',
        'roles',
      ].map((name) => `${name} ok`),
    );
    expect(report.checks[0]).toEqual({
      name: 'bucket',
      status: 'ok',
      detail: 's3://contexts exists, versioned',
    });
  });

  it('marks failures FAIL with how to fix each, counts them, and exits 1', async () => {
    s3.on(GetBucketVersioningCommand).resolves({});
    codebuild.on(BatchGetProjectsCommand).resolves({ projects: [] });
    const { code, lines } = await doctor();
    expect(lines.slice(0, 6)).toEqual([
      'FAIL  bucket        s3://contexts is not versioned (never enabled): an upload over another loses the first',
      '                    -> aws s3api put-bucket-versioning --bucket contexts --versioning-configuration Status=Enabled, or deploy the stack again (`npm run deploy -- --stage <stage>`); in the local cloud, restart `npm start`',
      'ok    notifications s3://contexts/ctx/ sends .tar.gz, .tgz, .tar, .zip uploads to build-trigger',
      'FAIL  project       no CodeBuild project p',
      '                    -> check --stack and --region; deploy the stack again (`npm run deploy -- --stage <stage>`); in the local cloud, restart `npm start`',
      'ok    functions     p-buildTrigger, p-ecrEvents, p-release',
    ]);
    expect(lines.at(-1)).toBe('2 problems found');
    expect(code).toBe(EXIT.failed);
    const json = await doctor('json');
    expect(json.code).toBe(EXIT.failed);
    expect(json.json().exitCode).toBe(EXIT.failed);
  });

  it('says "1 problem" and marks a check that only tells "info"', async () => {
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [] });
    const { code, lines } = await doctor();
    expect(lines).toContain(
      'info  slack         off: no SSM parameter /p/slack, so nothing is sent to Slack',
    );
    expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([
      `FAIL  sns           ${TOPIC} has no confirmed subscription: its messages reach nobody; with Slack off too, nobody hears of a failed build or a held image`,
    ]);
    expect(lines.at(-1)).toBe('1 problem found');
    expect(code).toBe(EXIT.failed);
  });
});

describe('the checks doctor runs', () => {
  it('fails the project when none is known, and checks nothing that needs it', async () => {
    const checks = await runChecks(target({ project: undefined }));
    expect(checks).toEqual([
      expect.objectContaining({ name: 'bucket', status: 'ok' }),
      expect.objectContaining({ name: 'notifications', status: 'ok' }),
      {
        name: 'project',
        status: 'fail',
        detail: 'the build project is not known',
        fix: 'pass --project or --stack (the stack output BuildProjectName)',
      },
    ]);
    expect(codebuild).not.toHaveReceivedCommand(BatchGetProjectsCommand);
  });

  it('fails a project without privileged mode, and still checks its role', async () => {
    codebuild.on(BatchGetProjectsCommand).resolves({
      projects: [
        { name: 'p', serviceRole: roleArn('build'), environment: { privilegedMode: false } as never },
      ],
    });
    const checks = byName(await runChecks(target()));
    expect(checks.project).toEqual({
      name: 'project',
      status: 'fail',
      detail: 'the project p runs without privileged mode: Docker builds cannot start',
      fix: 'deploy the stack again (`npm run deploy -- --stage <stage>`); in the local cloud, restart `npm start`',
    });
    expect(checks.roles?.detail).toMatch(
      /^build-trigger, ecr-events, release, build project, build session: /,
    );
  });

  it('fails a project CodeBuild does not return, and one without an environment', async () => {
    codebuild.on(BatchGetProjectsCommand).resolves({});
    expect(byName(await runChecks(target())).project?.detail).toBe('no CodeBuild project p');
    codebuild.on(BatchGetProjectsCommand).resolves({ projects: [{ name: 'p' }] });
    expect(byName(await runChecks(target())).project?.detail).toBe(
      'the project p runs without privileged mode: Docker builds cannot start',
    );
  });

  it("shows '?' for what the project does not say, and checks no project role it does not name", async () => {
    codebuild
      .on(BatchGetProjectsCommand)
      .resolves({ projects: [{ name: 'p', environment: { privilegedMode: true } as never }] });
    const checks = byName(await runChecks(target()));
    expect(checks.project).toEqual({ name: 'project', status: 'ok', detail: 'p (?, ?, role ?)' });
    expect(checks.roles?.detail).toMatch(/^build-trigger, ecr-events, release: the 12 permissions/);
  });

  it('turns a call that fails into a failed check with its explanation, and runs the other checks', async () => {
    s3.on(GetBucketVersioningCommand).rejects(
      Object.assign(named('AccessDenied'), { $metadata: { httpStatusCode: 403 } }),
    );
    codebuild.on(BatchGetProjectsCommand).rejects(named('ThrottlingException'));
    lambda.on(GetFunctionConfigurationCommand).rejects(named('AccessDeniedException'));
    const checks = await runChecks(target());
    expect(checks.map((check) => `${check.name} ${check.status}`)).toEqual([
      'bucket fail',
      'project fail',
      'functions fail',
      'scanning info',
      'roles info',
    ]);
    expect(checks[0]).toEqual({
      name: 'bucket',
      status: 'fail',
      detail: 'access denied to s3://contexts/: AccessDenied',
      fix: expect.stringMatching(/^your identity needs s3:/),
    });
    expect(checks[1]?.detail).toContain('ThrottlingException');
  });

  it('names the check whose reading failed: Slack and SNS, the release rule', async () => {
    ssm.on(DescribeParametersCommand).rejects(named('ThrottlingException'));
    events.on(ListRulesCommand).rejects(named('ThrottlingException'));
    const checks = await runChecks(target());
    expect(checks.map((check) => `${check.name} ${check.status}`)).toEqual([
      'bucket ok',
      'notifications ok',
      'project ok',
      'functions ok',
      'notifications fail',
      'scanning ok',
      'release gate ok',
      'release rule fail',
      'roles ok',
    ]);
  });

  it('checks Slack and SNS only with the ecr-events function, the gate and the rule only with the release function', async () => {
    lambda.reset();
    deployed(functionEnv(), ['ecrEvents', 'release']);
    const checks = await runChecks(target());
    expect(checks.map((check) => `${check.name} ${check.status}`)).toEqual([
      'bucket ok',
      'notifications ok',
      'project ok',
      'functions fail',
      'scanning ok',
      'roles ok',
    ]);
    expect(events).not.toHaveReceivedCommand(ListRulesCommand);
    expect(sns).not.toHaveReceivedCommand(ListSubscriptionsByTopicCommand);
  });

  it('tells SNS without a topic as missing, and no confirmed subscription as info while Slack is on', async () => {
    lambda.reset();
    const env = functionEnv();
    deployed({ ...env, ecrEvents: { ...env.ecrEvents, SNS_TOPIC_ARN: '' } });
    expect(byName(await runChecks(target())).sns).toMatchObject({
      status: 'fail',
      detail: 'the topic  does not exist',
    });
    expect(sns).not.toHaveReceivedCommand(ListSubscriptionsByTopicCommand);
    lambda.reset();
    deployed();
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
    expect(byName(await runChecks(target())).sns?.status).toBe('info');
  });

  it("reads the stack's scan on push whatever its case, and a local cloud without a scanner", async () => {
    const scanning = async (env: Record<string, string>, extra: Partial<Target> = {}) => {
      lambda.reset();
      deployed({ ...functionEnv(), buildTrigger: env });
      return byName(await runChecks(target(extra))).scanning?.detail;
    };
    expect(await scanning({ SCAN_ON_PUSH: 'TRUE' })).toBe(
      'registry scanning BASIC: the stack creates doctor-probe with scan on push',
    );
    expect(await scanning({ SCAN_ON_PUSH: 'false' })).toBe(
      'registry scanning BASIC: the stack creates repositories without scan on push (scanOnPush=false), and no registry rule scans it: no scan will come (--fail-on and --wait-scan stop at once)',
    );
    expect(await scanning({})).toBe(
      'registry scanning BASIC: whether doctor-probe scans on push is not known',
    );
    expect(await scanning({ SCAN_ON_PUSH: 'true' }, { localScanner: null })).toMatch(
      /^registry scanning BASIC: the local cloud has no scanner/,
    );
  });
});
