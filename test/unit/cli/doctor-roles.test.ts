/** `doctor`'s role check: what each role needs, how IAM's simulator is asked, and what is reported. */
import { IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  accountOf,
  probeRepository,
  type RoleNeed,
  roleNeeds,
  rolesCheck,
  type Simulate,
  simulator,
} from '../../../cli/doctor-roles.ts';

const iam = mockClient(IAMClient);
const named = (name: string) => Object.assign(new Error(name), { name });
const ACCOUNT = '123456789012';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const scope = { region: 'eu-west-1', bucket: 'ctx', prefix: 'p/', project: 'ecr-pipeline-prod' };
const functions = {
  buildTrigger: {
    name: 'ecr-pipeline-prod-buildTrigger',
    role: role('bt'),
    env: { STACK_NAME: 'ecr-pipeline-prod', REPOSITORY_PATTERN: 'team-a/*', EVENT_BUS_NAME: 'bus' },
  },
  ecrEvents: {
    name: 'ecr-pipeline-prod-ecrEvents',
    role: role('ev'),
    env: {
      SNS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:t',
      SLACK_WEBHOOK_SOURCE: 'ssm',
      SLACK_WEBHOOK_PARAMETER: '/ecr-pipeline/prod/slack',
      NOTIFY_EVENTS: 'release',
    },
  },
  release: { name: 'ecr-pipeline-prod-release', role: role('rel'), env: { EVENT_BUS_NAME: 'bus' } },
};

beforeEach(() => iam.reset());

describe('what the roles need', () => {
  it('reads the account from a role ARN, and asks about a repository the pattern admits', () => {
    expect(accountOf(role('x'))).toBe(ACCOUNT);
    expect(accountOf(undefined)).toBe('');
    expect(probeRepository('team-a/*')).toBe('team-a/doctor-probe');
    expect(probeRepository('svc-?')).toBe('svc-x');
    expect(probeRepository('')).toBe('doctor-probe');
    expect(probeRepository(undefined)).toBe('doctor-probe');
  });

  it("builds each need's resource from the stack's names, with the tag conditions its statement has", () => {
    const roles = roleNeeds(scope, functions, role('build'));
    expect(roles.map((r) => [r.label, r.arn])).toEqual([
      ['build-trigger', role('bt')],
      ['ecr-events', role('ev')],
      ['release', role('rel')],
      ['build project', role('build')],
      ['build session', role('ecr-pipeline-prod-build-session')],
    ]);
    const need = (label: string, action: string) =>
      roles.find((r) => r.label === label)?.needs.find((n) => n.action === action);
    const repository = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/team-a/doctor-probe`;
    expect(need('build-trigger', 'ecr:CreateRepository')).toEqual({
      action: 'ecr:CreateRepository',
      resource: repository,
      why: 'create the repository of a new upload',
      context: {
        'aws:RequestTag/ecr-pipeline:managed-by': 'ecr-pipeline-prod',
        'aws:TagKeys': ['ecr-pipeline:managed-by'],
      },
    });
    expect(need('build-trigger', 'codebuild:StartBuild')?.resource).toBe(
      `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/ecr-pipeline-prod`,
    );
    expect(need('build-trigger', 's3:PutObject')?.resource).toBe(
      'arn:aws:s3:::ctx/p/.ecr-pipeline/uploads/doctor-probe.json',
    );
    expect(need('build-trigger', 'events:PutEvents')?.resource).toBe(
      `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/bus`,
    );
    expect(need('ecr-events', 'sns:Publish')?.resource).toBe('arn:aws:sns:eu-west-1:123456789012:t');
    expect(need('ecr-events', 'ssm:GetParameter')?.resource).toBe(
      `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/ecr-pipeline/prod/slack`,
    );
    expect(need('release', 'ecr:PutImage')?.context).toEqual({
      'ecr:ResourceTag/ecr-pipeline:managed-by': 'ecr-pipeline-prod',
      'aws:ResourceTag/ecr-pipeline:managed-by': 'ecr-pipeline-prod',
    });
    expect(need('build project', 'sts:AssumeRole')?.resource).toBe(role('ecr-pipeline-prod-build-session'));
    expect(need('build session', 's3:GetObject')?.resource).toBe(
      'arn:aws:s3:::ctx/p/team-a/doctor-probe/v1.tar.gz',
    );
    expect(need('build session', 'ecr:GetAuthorizationToken')?.resource).toBe('*');
  });

  it('asks for the Slack secret in Secrets Manager, and for no webhook when notifications are off', () => {
    const secret = roleNeeds(
      scope,
      {
        ...functions,
        ecrEvents: {
          ...functions.ecrEvents,
          env: {
            ...functions.ecrEvents.env,
            SLACK_WEBHOOK_SOURCE: 'secretsmanager',
            SLACK_WEBHOOK_PARAMETER: 'slack',
          },
        },
      },
      undefined,
    );
    const events = secret.find((r) => r.label === 'ecr-events');
    expect(events?.needs.map((n) => n.action)).toEqual([
      'sns:Publish',
      'secretsmanager:GetSecretValue',
      's3:PutObject',
    ]);
    expect(events?.needs[1]).toEqual({
      action: 'secretsmanager:GetSecretValue',
      resource: `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:slack-AbCdEf`,
      why: 'read the Slack webhook secret',
    });
    const ssmName = roleNeeds(
      scope,
      {
        ...functions,
        ecrEvents: {
          ...functions.ecrEvents,
          env: { ...functions.ecrEvents.env, SLACK_WEBHOOK_PARAMETER: 'plain' },
        },
      },
      undefined,
    );
    expect(ssmName[1]?.needs[1]?.resource).toBe(`arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/plain`);
    const off = roleNeeds(
      scope,
      {
        ...functions,
        ecrEvents: { ...functions.ecrEvents, env: { ...functions.ecrEvents.env, NOTIFY_EVENTS: 'none' } },
      },
      undefined,
    );
    expect(off[1]?.needs.map((n) => n.action)).toEqual(['sns:Publish', 's3:PutObject']);
    expect(off.find((r) => r.label === 'build session')?.arn).toBeUndefined();
  });
});

describe('every need, as doctor asks IAM about it', () => {
  /** One line per need: the role, the action, the resource, why, and the request's condition keys. */
  const asked = (roles: ReturnType<typeof roleNeeds>) =>
    roles.flatMap((r) =>
      r.needs.map(
        (n) =>
          `${r.label}: ${n.action} ${n.resource} (${n.why})${n.context ? ` ${JSON.stringify(n.context)}` : ''}`,
      ),
    );
  const repository = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/team-a/doctor-probe`;
  const managed = JSON.stringify({
    'ecr:ResourceTag/ecr-pipeline:managed-by': 'ecr-pipeline-prod',
    'aws:ResourceTag/ecr-pipeline:managed-by': 'ecr-pipeline-prod',
  });

  it('lists what each role needs to build, notify, release and push', () => {
    expect(asked(roleNeeds(scope, functions, role('build')))).toEqual([
      `build-trigger: ecr:CreateRepository ${repository} (create the repository of a new upload) {"aws:RequestTag/ecr-pipeline:managed-by":"ecr-pipeline-prod","aws:TagKeys":["ecr-pipeline:managed-by"]}`,
      `build-trigger: ecr:DescribeRepositories ${repository} (check the repository)`,
      `build-trigger: codebuild:StartBuild arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/ecr-pipeline-prod (start the build of an upload)`,
      'build-trigger: s3:PutObject arn:aws:s3:::ctx/p/.ecr-pipeline/uploads/doctor-probe.json (write the upload record)',
      `build-trigger: events:PutEvents arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/bus (report a rejected upload)`,
      `ecr-events: sns:Publish arn:aws:sns:eu-west-1:${ACCOUNT}:t (publish to the SNS topic)`,
      `ecr-events: ssm:GetParameter arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/ecr-pipeline/prod/slack (read the Slack webhook parameter)`,
      'ecr-events: s3:PutObject arn:aws:s3:::ctx/p/.ecr-pipeline/uploads/doctor-probe.json (write the upload record)',
      `release: ecr:DescribeImages ${repository} (read the built image's scan)`,
      `release: ecr:PutImage ${repository} (move the tag to the built image) ${managed}`,
      'release: s3:PutObject arn:aws:s3:::ctx/p/.ecr-pipeline/uploads/doctor-probe.json (write the upload record)',
      `release: events:PutEvents arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/bus (tell the verdict)`,
      `build project: sts:AssumeRole ${role('ecr-pipeline-prod-build-session')} (take the build session's role)`,
      'build session: s3:GetObject arn:aws:s3:::ctx/p/team-a/doctor-probe/v1.tar.gz (fetch the context)',
      'build session: ecr:GetAuthorizationToken * (log in to the registry)',
      `build session: ecr:InitiateLayerUpload ${repository} (push the image) ${managed}`,
      `build session: ecr:PutImage ${repository} (push the image) ${managed}`,
    ]);
  });

  it("takes the stack's name from the project and the default buses when the functions do not say", () => {
    const bare = { name: 'f', env: {} };
    const roles = roleNeeds(
      { ...scope, project: 'svc-dev' },
      {
        buildTrigger: { ...bare, role: role('bt') },
        ecrEvents: bare,
        release: { ...bare, role: role('rel') },
      },
      undefined,
    );
    expect(asked(roles).filter((line) => /PutEvents|CreateRepository|ecr-events/.test(line))).toEqual([
      `build-trigger: ecr:CreateRepository arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/doctor-probe (create the repository of a new upload) {"aws:RequestTag/ecr-pipeline:managed-by":"svc-dev","aws:TagKeys":["ecr-pipeline:managed-by"]}`,
      `build-trigger: events:PutEvents arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/svc-dev-build-rejected (report a rejected upload)`,
      'ecr-events: s3:PutObject arn:aws:s3:::ctx/p/.ecr-pipeline/uploads/doctor-probe.json (write the upload record)',
      `release: events:PutEvents arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/svc-dev-build-rejected (tell the verdict)`,
    ]);
    expect(roles.map((r) => r.arn)).toEqual([role('bt'), undefined, role('rel'), undefined, undefined]);
  });

  it("reads the account from the project's role, else build-trigger's, else the release function's", () => {
    const start = (roles: ReturnType<typeof roleNeeds>) => roles[0]?.needs[2]?.resource;
    const other = 'arn:aws:iam::210987654321:role/x';
    expect(start(roleNeeds(scope, functions, other))).toBe(
      'arn:aws:codebuild:eu-west-1:210987654321:project/ecr-pipeline-prod',
    );
    expect(
      start(roleNeeds(scope, { ...functions, release: { ...functions.release, role: other } }, undefined)),
    ).toBe(`arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/ecr-pipeline-prod`);
    expect(start(roleNeeds(scope, { release: { ...functions.release, role: other } }, undefined))).toBe(
      'arn:aws:codebuild:eu-west-1:210987654321:project/ecr-pipeline-prod',
    );
  });

  it('names no role of a function the stack does not have, nor an account no role tells', () => {
    const roles = roleNeeds(scope, {}, undefined);
    expect(roles.map((r) => r.arn)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(asked(roles).filter((line) => line.startsWith('release'))).toContain(
      'release: events:PutEvents arn:aws:events:eu-west-1::event-bus/ecr-pipeline-prod-build-rejected (tell the verdict)',
    );
  });

  it('asks for no webhook when the parameter is not set', () => {
    const events = roleNeeds(
      scope,
      { ...functions, ecrEvents: { ...functions.ecrEvents, env: { SLACK_WEBHOOK_SOURCE: 'ssm' } } },
      undefined,
    );
    expect(asked(events).filter((line) => line.startsWith('ecr-events'))).toEqual([
      'ecr-events: s3:PutObject arn:aws:s3:::ctx/p/.ecr-pipeline/uploads/doctor-probe.json (write the upload record)',
    ]);
  });
});

describe('rolesCheck', () => {
  const roles = [
    {
      label: 'release',
      arn: role('rel'),
      needs: [{ action: 'ecr:PutImage', resource: 'r', why: 'move the tag' }],
    },
    {
      label: 'ecr-events',
      arn: role('ev'),
      needs: [
        { action: 'sns:Publish', resource: 't', why: 'publish' },
        { action: 's3:PutObject', resource: 'o', why: 'write the record' },
      ],
    },
    { label: 'missing', needs: [{ action: 'x:Y', resource: '*', why: 'never asked' }] },
  ];

  it('passes when every need of every known role is allowed, and asks nothing of a role it does not know', async () => {
    const asked: string[] = [];
    const check = await rolesCheck(roles, async (arn, need: RoleNeed) => {
      asked.push(`${arn} ${need.action}`);
      return 'allowed';
    });
    expect(check).toEqual({
      name: 'roles',
      status: 'ok',
      detail: 'release, ecr-events: the 3 permissions they need are allowed (IAM policy simulator)',
    });
    expect(asked).toEqual([
      `${role('rel')} ecr:PutImage`,
      `${role('ev')} sns:Publish`,
      `${role('ev')} s3:PutObject`,
    ]);
  });

  it('fails with each denied need: the role, what fails, the action, the resource and the decision', async () => {
    const check = await rolesCheck(roles, async (_arn, need) =>
      need.action === 'ecr:PutImage'
        ? 'explicitDeny'
        : need.action === 's3:PutObject'
          ? 'implicitDeny'
          : 'allowed',
    );
    expect(check).toEqual({
      name: 'roles',
      status: 'fail',
      detail:
        'release cannot move the tag (ecr:PutImage on r: explicitDeny); ecr-events cannot write the record (s3:PutObject on o: implicitDeny)',
      fix: "the role's policies differ from the template's (edited outside the stack, or an older stack): deploy the stack again (`npm run deploy -- --stage <stage>`)",
    });
  });

  it('says the roles were not checked when the simulator may not be asked, or no role is known', async () => {
    expect(
      await rolesCheck(roles, async () => {
        throw named('AccessDenied');
      }),
    ).toEqual({
      name: 'roles',
      status: 'info',
      detail: "not checked: IAM's policy simulator answered AccessDenied",
      fix: "allow iam:SimulatePrincipalPolicy on the stack's roles to whoever runs doctor (docs/deploy.md)",
    });
    const unnamed = await rolesCheck(roles, async () => {
      throw {};
    });
    expect(unnamed.detail).toBe("not checked: IAM's policy simulator answered Error");
    expect(await rolesCheck([roles[2] as (typeof roles)[2]], async () => 'allowed')).toEqual({
      name: 'roles',
      status: 'info',
      detail: 'not checked: no role of the stack was found',
    });
  });
});

describe('simulator', () => {
  const simulate: Simulate = (arn, need) => simulator({ iam: new IAMClient({}) })(arn, need);

  it('asks SimulatePrincipalPolicy about one action on one resource, with typed context entries', async () => {
    iam
      .on(SimulatePrincipalPolicyCommand)
      .resolves({ EvaluationResults: [{ EvalActionName: 'a', EvalDecision: 'allowed' }] });
    const verdict = await simulate(role('rel'), {
      action: 'ecr:CreateRepository',
      resource: 'arn:r',
      why: '',
      context: { 'aws:RequestTag/k': 'v', 'aws:TagKeys': ['k'] },
    });
    expect(verdict).toBe('allowed');
    expect(iam).toHaveReceivedCommandWith(SimulatePrincipalPolicyCommand, {
      PolicySourceArn: role('rel'),
      ActionNames: ['ecr:CreateRepository'],
      ResourceArns: ['arn:r'],
      ContextEntries: [
        { ContextKeyName: 'aws:RequestTag/k', ContextKeyValues: ['v'], ContextKeyType: 'string' },
        { ContextKeyName: 'aws:TagKeys', ContextKeyValues: ['k'], ContextKeyType: 'stringList' },
      ],
    });
  });

  it('sends no context entries when the need has none, and reads a missing or odd decision as a denial', async () => {
    iam
      .on(SimulatePrincipalPolicyCommand)
      .resolves({ EvaluationResults: [{ EvalActionName: 'a', EvalDecision: 'explicitDeny' }] });
    expect(await simulate(role('x'), { action: 'a', resource: '*', why: '' })).toBe('explicitDeny');
    const input = iam.commandCalls(SimulatePrincipalPolicyCommand)[0]?.args[0].input;
    expect(input && 'ContextEntries' in input).toBe(false);
    iam.on(SimulatePrincipalPolicyCommand).resolves({});
    expect(await simulate(role('x'), { action: 'a', resource: '*', why: '' })).toBe('implicitDeny');
  });
});
