/**
 * `doctor`'s role check: each role of the stack can do what its function or the build needs, asked
 * of IAM's policy simulator (SimulatePrincipalPolicy: the role's policies as IAM evaluates them, with
 * the tag conditions the stack's statements carry). The local cloud answers it from the template's
 * IAM it enforces. A role whose policy was edited outside the stack shows here before an upload fails.
 */
import { type ContextEntry, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { REPOSITORY_TAGS } from '../functions/shared/contract.ts';
import type { Check } from './doctor.ts';
import type { FunctionKey, FunctionSettings } from './stack-functions.ts';
import type { Clients } from './target.ts';

/** One thing a role must be allowed: an action on a resource, with the request's condition keys. */
export interface RoleNeed {
  action: string;
  resource: string;
  /** What fails without it, for people: "create the repository of a new upload". */
  why: string;
  context?: Record<string, string | string[]>;
}

/** A role and what it needs; `arn` undefined when the stack does not say (its function is missing). */
export interface RoleUnderCheck {
  label: string;
  arn?: string | undefined;
  needs: RoleNeed[];
}

/** Where the stack lives: what the needs' resource ARNs are built from. */
export interface StackScope {
  region: string;
  bucket: string;
  prefix: string;
  /** The build project's name, which is also the stack's (`<service>-<stage>`). */
  project: string;
}

/** The account of an IAM role ARN (`arn:aws:iam::<account>:role/<name>`). */
export function accountOf(arn: string | undefined): string {
  return arn?.split(':')[4] ?? '';
}

/** A repository name the stack's repositoryPattern admits, to ask about. */
export function probeRepository(pattern: string | undefined): string {
  return (pattern || '*').replace(/\*/g, 'doctor-probe').replace(/\?/g, 'x');
}

/** What ecr-events needs to read the Slack webhook, if Slack is on. */
function slackNeeds(region: string, account: string, events: Record<string, string>): RoleNeed[] {
  const webhook = events.SLACK_WEBHOOK_PARAMETER ?? '';
  if (webhook === '' || events.NOTIFY_EVENTS === 'none') return [];
  if (events.SLACK_WEBHOOK_SOURCE === 'secretsmanager') {
    return [
      {
        action: 'secretsmanager:GetSecretValue',
        resource: `arn:aws:secretsmanager:${region}:${account}:secret:${webhook}-AbCdEf`,
        why: 'read the Slack webhook secret',
      },
    ];
  }
  return [
    {
      action: 'ssm:GetParameter',
      resource: `arn:aws:ssm:${region}:${account}:parameter${webhook.startsWith('/') ? '' : '/'}${webhook}`,
      why: 'read the Slack webhook parameter',
    },
  ];
}

/** What each role of the stack needs, from the functions' settings and the project's service role. */
export function roleNeeds(
  scope: StackScope,
  functions: Partial<Record<FunctionKey, FunctionSettings>>,
  projectRole: string | undefined,
): RoleUnderCheck[] {
  const account = accountOf(projectRole ?? functions.buildTrigger?.role ?? functions.release?.role);
  const { region, bucket, prefix, project } = scope;
  const stack = functions.buildTrigger?.env.STACK_NAME ?? project;
  const repository = probeRepository(functions.buildTrigger?.env.REPOSITORY_PATTERN);
  const repositoryArn = `arn:aws:ecr:${region}:${account}:repository/${repository}`;
  const managed = {
    [`ecr:ResourceTag/${REPOSITORY_TAGS.managedBy}`]: stack,
    [`aws:ResourceTag/${REPOSITORY_TAGS.managedBy}`]: stack,
  };
  const record = `arn:aws:s3:::${bucket}/${prefix}.ecr-pipeline/uploads/doctor-probe.json`;
  const bus = (env: Record<string, string> | undefined) =>
    `arn:aws:events:${region}:${account}:event-bus/${env?.EVENT_BUS_NAME ?? `${stack}-build-rejected`}`;
  const events = functions.ecrEvents?.env ?? {};
  const slackNeed = slackNeeds(region, account, events);
  return [
    {
      label: 'build-trigger',
      arn: functions.buildTrigger?.role,
      needs: [
        {
          action: 'ecr:CreateRepository',
          resource: repositoryArn,
          why: 'create the repository of a new upload',
          context: {
            [`aws:RequestTag/${REPOSITORY_TAGS.managedBy}`]: stack,
            'aws:TagKeys': [REPOSITORY_TAGS.managedBy],
          },
        },
        { action: 'ecr:DescribeRepositories', resource: repositoryArn, why: 'check the repository' },
        {
          action: 'codebuild:StartBuild',
          resource: `arn:aws:codebuild:${region}:${account}:project/${project}`,
          why: 'start the build of an upload',
        },
        { action: 's3:PutObject', resource: record, why: 'write the upload record' },
        {
          action: 'events:PutEvents',
          resource: bus(functions.buildTrigger?.env),
          why: 'report a rejected upload',
        },
      ],
    },
    {
      label: 'ecr-events',
      arn: functions.ecrEvents?.role,
      needs: [
        ...(events.SNS_TOPIC_ARN
          ? [{ action: 'sns:Publish', resource: events.SNS_TOPIC_ARN, why: 'publish to the SNS topic' }]
          : []),
        ...slackNeed,
        { action: 's3:PutObject', resource: record, why: 'write the upload record' },
      ],
    },
    {
      label: 'release',
      arn: functions.release?.role,
      needs: [
        { action: 'ecr:DescribeImages', resource: repositoryArn, why: "read the built image's scan" },
        {
          action: 'ecr:PutImage',
          resource: repositoryArn,
          why: 'move the tag to the built image',
          context: managed,
        },
        { action: 's3:PutObject', resource: record, why: 'write the upload record' },
        { action: 'events:PutEvents', resource: bus(functions.release?.env), why: 'tell the verdict' },
      ],
    },
    {
      label: 'build project',
      arn: projectRole,
      needs: [
        {
          action: 'sts:AssumeRole',
          resource: `arn:aws:iam::${account}:role/${stack}-build-session`,
          why: "take the build session's role",
        },
      ],
    },
    {
      label: 'build session',
      arn: projectRole ? `arn:aws:iam::${account}:role/${stack}-build-session` : undefined,
      needs: [
        {
          action: 's3:GetObject',
          resource: `arn:aws:s3:::${bucket}/${prefix}${repository}/v1.tar.gz`,
          why: 'fetch the context',
        },
        { action: 'ecr:GetAuthorizationToken', resource: '*', why: 'log in to the registry' },
        {
          action: 'ecr:InitiateLayerUpload',
          resource: repositoryArn,
          why: 'push the image',
          context: managed,
        },
        { action: 'ecr:PutImage', resource: repositoryArn, why: 'push the image', context: managed },
      ],
    },
  ];
}

/** IAM's verdict on one need of one role. */
export type Verdict = 'allowed' | 'implicitDeny' | 'explicitDeny';
export type Simulate = (roleArn: string, need: RoleNeed) => Promise<Verdict>;

/** Asks IAM's policy simulator about one need. */
export function simulator(clients: Pick<Clients, 'iam'>): Simulate {
  return async (roleArn, need) => {
    const ContextEntries: ContextEntry[] = Object.entries(need.context ?? {}).map(([key, value]) => ({
      ContextKeyName: key,
      ContextKeyValues: Array.isArray(value) ? value : [value],
      ContextKeyType: Array.isArray(value) ? 'stringList' : 'string',
    }));
    const { EvaluationResults = [] } = await clients.iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: roleArn,
        ActionNames: [need.action],
        ResourceArns: [need.resource],
        ...(ContextEntries.length > 0 ? { ContextEntries } : {}),
      }),
    );
    const decision = EvaluationResults[0]?.EvalDecision;
    return decision === 'allowed' || decision === 'explicitDeny' ? decision : 'implicitDeny';
  };
}

/** What to do when a role lacks a permission the template gives it. */
function redeployFix(): string {
  return "the role's policies differ from the template's (edited outside the stack, or an older stack): deploy the stack again (`npm run deploy -- --stage <stage>`)";
}

/** The roles check: every need of every known role allowed; what is not, and by which role. */
export async function rolesCheck(roles: readonly RoleUnderCheck[], simulate: Simulate): Promise<Check> {
  const denied: string[] = [];
  let asked = 0;
  const checked: string[] = [];
  try {
    for (const role of roles) {
      if (!role.arn) continue;
      checked.push(role.label);
      for (const need of role.needs) {
        asked += 1;
        const verdict = await simulate(role.arn, need);
        if (verdict !== 'allowed')
          denied.push(`${role.label} cannot ${need.why} (${need.action} on ${need.resource}: ${verdict})`);
      }
    }
  } catch (error) {
    const name = (error as { name?: string }).name ?? 'Error';
    return {
      name: 'roles',
      status: 'info',
      detail: `not checked: IAM's policy simulator answered ${name}`,
      fix: "allow iam:SimulatePrincipalPolicy on the stack's roles to whoever runs doctor (docs/deploy.md)",
    };
  }
  if (checked.length === 0)
    return { name: 'roles', status: 'info', detail: 'not checked: no role of the stack was found' };
  if (denied.length === 0)
    return {
      name: 'roles',
      status: 'ok',
      detail: `${checked.join(', ')}: the ${asked} permissions they need are allowed (IAM policy simulator)`,
    };
  return { name: 'roles', status: 'fail', detail: denied.join('; '), fix: redeployFix() };
}
