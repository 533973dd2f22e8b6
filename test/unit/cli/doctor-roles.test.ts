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
    expect(events?.needs[1]?.resource).toBe(
      `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:slack-AbCdEf`,
    );
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
    expect(await rolesCheck([roles[2] as (typeof roles)[2]], async () => 'allowed')).toEqual({
      name: 'roles',
      status: 'info',
      detail: 'not checked: no role of the stack was found',
    });
  });
});

describe('simulator', () => {
  const simulate = simulator({ iam: new IAMClient({}) });

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
