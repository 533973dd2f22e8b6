/**
 * `ecr-pipeline doctor --local` against the local cloud: a healthy stack, then a broken wiring (a
 * role's statement, the Slack parameter, a bucket notification, the release function's rule).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DeleteParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.ts';
import { type LocalCloud, startLocalCloud } from '../../local/cloud.ts';
import { localCliEnv, runCli } from './helpers.ts';

const work = mkdtempSync(join(tmpdir(), 'doctor-e2e-'));
let cloud: LocalCloud;
let env: NodeJS.ProcessEnv;
const cli = (...args: string[]) => runCli(env, args);

beforeAll(async () => {
  cloud = await startLocalCloud({ basePort: 0, dataDir: join(work, 'cloud'), log: () => undefined });
  env = localCliEnv(cloud, work);
});

afterAll(async () => {
  await cloud?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('doctor --local', () => {
  it('finds no problem in the stack as deployed', async () => {
    const run = await cli('doctor', '--local');
    expect(run.code, run.stdout + run.stderr).toBe(EXIT.success);
    expect(run.stdout).toMatch(/^ok +bucket +s3:\/\/\S+ exists, versioned$/m);
    expect(run.stdout).toMatch(
      /^ok +notifications .*\.tar\.gz, \.tgz, \.tar, \.zip uploads to build-trigger$/m,
    );
    expect(run.stdout).toMatch(/^ok +project +/m);
    expect(run.stdout).toMatch(/^ok +functions +\S+-buildTrigger, \S+-ecrEvents, \S+-release$/m);
    expect(run.stdout).toMatch(/^ok +slack +webhook URL in the SSM SecureString \//m);
    expect(run.stdout).toMatch(/^ok +sns +arn:aws:sns:\S+: 1 confirmed subscription$/m);
    expect(run.stdout).toMatch(
      /^ok +scanning +registry scanning BASIC: the stack creates \S+ with scan on push$/m,
    );
    expect(run.stdout).toMatch(/^ok +release gate +none: the tag moves/m);
    expect(run.stdout).toMatch(
      /^ok +release rule +\S+-ReleaseBuildRule sends \S+'s succeeded builds to \S+-release$/m,
    );
    expect(run.stdout).toMatch(
      /^ok +roles +build-trigger, ecr-events, release, build project, build session: the \d+ permissions they need are allowed/m,
    );
    expect(run.stdout).toContain('no problem found');
  });

  it('names the role, the permission and what fails without it when a role lost a statement', async () => {
    const role = cloud.deployment.iam.roles.find((r) => r.logicalId === 'ReleaseRole');
    const policy = role?.policies[0];
    if (!role || !policy) throw new Error('the template has no ReleaseRole policy');
    const saved = policy.document;
    const statements = [saved.Statement].flat();
    policy.document = {
      ...saved,
      Statement: statements.filter((s) => s.Sid !== 'MoveTagsInManagedRepositories'),
    };
    try {
      const run = await cli('doctor', '--local', '--output', 'json');
      expect(run.code, run.stdout + run.stderr).toBe(EXIT.failed);
      const { checks } = JSON.parse(run.stdout) as { checks: Array<{ name: string; status: string }> };
      expect(checks.find((check) => check.name === 'roles')).toEqual({
        name: 'roles',
        status: 'fail',
        detail: expect.stringMatching(
          /^release cannot move the tag to the built image \(ecr:PutImage on arn:aws:ecr:\S+:repository\/doctor-probe: implicitDeny\)$/,
        ),
        fix: expect.stringContaining('deploy the stack again'),
      });
    } finally {
      policy.document = saved;
    }
  });

  it('says Slack is off, and how to turn it on, when the webhook parameter is gone', async () => {
    const name = cloud.deployment.functions.find((f) => f.key === 'ecrEvents')?.env.SLACK_WEBHOOK_PARAMETER;
    if (!name) throw new Error('ecrEvents has no SLACK_WEBHOOK_PARAMETER');
    const ssm = new SSMClient({
      region: cloud.region,
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await ssm.send(new DeleteParameterCommand({ Name: name }));
    const run = await cli('doctor', '--local');
    expect(run.code, run.stdout).toBe(EXIT.success);
    expect(run.stdout).toMatch(
      new RegExp(`^info +slack +off: no SSM parameter ${name}, so nothing is sent to Slack$`, 'm'),
    );
    expect(run.stdout).toContain(
      `-> to turn it on: aws ssm put-parameter --name ${name} --type SecureString`,
    );
  });

  it('says which uploads would be ignored, and how to fix it, when the bucket notification is removed', async () => {
    const s3 = new S3Client({
      region: cloud.region,
      endpoint: cloud.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const saved = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: cloud.bucket }));
    const kept = (saved.QueueConfigurations ?? []).filter(
      (config) => !config.Filter?.Key?.FilterRules?.some((rule) => rule.Value === '.tgz'),
    );
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: cloud.bucket,
        NotificationConfiguration: { QueueConfigurations: kept },
      }),
    );
    try {
      const run = await cli('doctor', '--local', '--output', 'json');
      expect(run.code).toBe(EXIT.failed);
      const { checks } = JSON.parse(run.stdout) as {
        checks: Array<{ name: string; status: string; detail: string; fix?: string }>;
      };
      expect(checks.find((check) => check.name === 'notifications')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('uploads ending in .tgz'),
        fix: expect.stringContaining('deploy the stack again'),
      });
      expect(checks.find((check) => check.name === 'project')).toMatchObject({ status: 'ok' });
      const text = await cli('doctor', '--local');
      expect(text.code).toBe(EXIT.failed);
      expect(text.stdout).toMatch(/^FAIL +notifications +uploads ending in \.tgz/m);
      expect(text.stdout).toContain('1 problem found');
    } finally {
      await s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: cloud.bucket,
          NotificationConfiguration: { QueueConfigurations: saved.QueueConfigurations ?? [] },
        }),
      );
    }
  });
});

describe('doctor --local: the release function no longer hears of succeeded builds', () => {
  const events = () =>
    new EventBridgeClient({
      region: cloud.region,
      endpoint: cloud.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  const releaseRule = async (client: EventBridgeClient) => {
    const { Rules = [] } = await client.send(new ListRulesCommand({}));
    const rule = Rules.find((r) => r.Name?.endsWith('-ReleaseBuildRule'));
    if (!rule?.Name) throw new Error('the local cloud has no ReleaseBuildRule');
    const { Targets = [] } = await client.send(new ListTargetsByRuleCommand({ Rule: rule.Name }));
    return { rule, name: rule.Name, Targets };
  };
  type Checks = Array<{ name: string; status: string; detail: string; fix?: string }>;

  it('names the disabled rule and the command that enables it', async () => {
    const client = events();
    const { name } = await releaseRule(client);
    await client.send(new DisableRuleCommand({ Name: name }));
    try {
      const run = await cli('doctor', '--local');
      expect(run.code, run.stdout + run.stderr).toBe(EXIT.failed);
      expect(run.stdout).toMatch(
        new RegExp(
          `^FAIL +release rule +the rule ${name} that sends \\S+'s succeeded builds to \\S+-release is DISABLED: built images are never released`,
          'm',
        ),
      );
      expect(run.stdout).toContain(`-> aws events enable-rule --name ${name}, or deploy the stack again`);
      expect(run.stdout).toContain('1 problem found');
    } finally {
      await client.send(new EnableRuleCommand({ Name: name }));
    }
  });

  it('says built images are never released, and how to fix it, when the rule is removed', async () => {
    const client = events();
    const { rule, name, Targets } = await releaseRule(client);
    await client.send(new RemoveTargetsCommand({ Rule: name, Ids: Targets.map((t) => t.Id ?? '') }));
    await client.send(new DeleteRuleCommand({ Name: name }));
    try {
      const run = await cli('doctor', '--local', '--output', 'json');
      expect(run.code, run.stdout + run.stderr).toBe(EXIT.failed);
      const { checks } = JSON.parse(run.stdout) as { checks: Checks };
      expect(checks.find((check) => check.name === 'release rule')).toEqual({
        name: 'release rule',
        status: 'fail',
        detail: expect.stringMatching(
          /^no EventBridge rule sends \S+'s succeeded builds to \S+-release: built images are pushed by digest but never released/,
        ),
        fix: expect.stringContaining(
          "the stack's ReleaseBuildRule was removed or changed outside the stack; deploy the stack again",
        ),
      });
      // ecr-events' rule hears the same builds: it does not stand in for the release function's.
      expect(checks.filter((check) => check.status === 'fail').map((check) => check.name)).toEqual([
        'release rule',
      ]);
    } finally {
      await client.send(
        new PutRuleCommand({ Name: name, EventPattern: rule.EventPattern, State: rule.State }),
      );
      await client.send(new PutTargetsCommand({ Rule: name, Targets }));
    }
    const healed = await cli('doctor', '--local');
    expect(healed.code, healed.stdout).toBe(EXIT.success);
  });
});
