/**
 * IAM SimulatePrincipalPolicy as the local cloud answers it for the stack's roles: the query form
 * parsed as IAM's, each action on each resource decided by the evaluation the gateway enforces
 * (conditions on the given context keys), and the answer in IAM's XML.
 */
import { describe, expect, it } from 'vitest';
import { LocalIam } from '../../../../local/iam/index.ts';
import type { IamModel } from '../../../../local/iam/model.ts';
import { evalDecision, simulationInput, simulationResponse } from '../../../../local/iam/simulate.ts';

const roleArn = 'arn:aws:iam::123456789012:role/stack-release';
const repo = 'arn:aws:ecr:us-east-1:123456789012:repository/team/app';
const model: IamModel = {
  roles: [
    {
      logicalId: 'ReleaseRole',
      arn: roleArn,
      name: 'stack-release',
      policies: [
        {
          name: 'ReleaseRole/release',
          kind: 'identity',
          document: {
            Statement: [
              {
                Sid: 'MoveTags',
                Effect: 'Allow',
                Action: 'ecr:PutImage',
                Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/*',
                Condition: { StringEquals: { 'ecr:ResourceTag/managed-by': 'stack' } },
              },
              { Sid: 'NoDelete', Effect: 'Deny', Action: 'ecr:DeleteRepository', Resource: '*' },
            ],
          },
        },
      ],
    },
  ],
  resourcePolicies: [],
  functionRoles: {},
  projectRoles: {},
};

const form = (entries: Record<string, string>) =>
  new URLSearchParams({ Action: 'SimulatePrincipalPolicy', ...entries });

function iam() {
  const local = new LocalIam({
    scope: { region: 'us-east-1', account: '123456789012' },
    enforce: true,
    resourceTags: async () => undefined,
  });
  local.useModel(model);
  return local;
}

describe('simulationInput', () => {
  it('reads the role, the member lists and typed context entries of the query form', () => {
    expect(
      simulationInput(
        form({
          PolicySourceArn: roleArn,
          'ActionNames.member.1': 'ecr:PutImage',
          'ActionNames.member.2': 'ecr:DeleteRepository',
          'ResourceArns.member.1': repo,
          'ContextEntries.member.1.ContextKeyName': 'ecr:ResourceTag/managed-by',
          'ContextEntries.member.1.ContextKeyType': 'string',
          'ContextEntries.member.1.ContextKeyValues.member.1': 'stack',
          'ContextEntries.member.2.ContextKeyName': 'aws:TagKeys',
          'ContextEntries.member.2.ContextKeyType': 'stringList',
          'ContextEntries.member.2.ContextKeyValues.member.1': 'a',
          'ContextEntries.member.2.ContextKeyValues.member.2': 'b',
        }),
      ),
    ).toEqual({
      policySourceArn: roleArn,
      actions: ['ecr:PutImage', 'ecr:DeleteRepository'],
      resources: [repo],
      context: { 'ecr:ResourceTag/managed-by': 'stack', 'aws:TagKeys': ['a', 'b'] },
    });
  });

  it('takes every resource (*) when none is named, as IAM does', () => {
    expect(simulationInput(form({ PolicySourceArn: roleArn, 'ActionNames.member.1': 'a:B' }))).toEqual({
      policySourceArn: roleArn,
      actions: ['a:B'],
      resources: ['*'],
      context: {},
    });
  });
});

describe('simulationResponse', () => {
  it("names IAM's decisions and escapes what it echoes", () => {
    expect(evalDecision({ allowed: true, reason: 'allow', statements: [] })).toBe('allowed');
    expect(evalDecision({ allowed: false, reason: 'no-allow', statements: [] })).toBe('implicitDeny');
    expect(evalDecision({ allowed: false, reason: 'no-session-allow', statements: [] })).toBe('implicitDeny');
    expect(evalDecision({ allowed: false, reason: 'explicit-deny-resource', statements: [] })).toBe(
      'explicitDeny',
    );
    const xml = simulationResponse([
      {
        action: 'a:B',
        resource: 'arn:x/<&>',
        decision: { allowed: true, reason: 'allow', statements: [{ policy: 'P', sid: 'S' }] },
      },
    ]);
    expect(xml).toContain(
      '<member><EvalActionName>a:B</EvalActionName><EvalResourceName>arn:x/&lt;&amp;&gt;</EvalResourceName><EvalDecision>allowed</EvalDecision><MatchedStatements><member><SourcePolicyId>P#S</SourcePolicyId></member></MatchedStatements>',
    );
    expect(xml).toMatch(
      /^<SimulatePrincipalPolicyResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/">/,
    );
  });
});

describe('LocalIam.simulatePrincipalPolicy', () => {
  const decisions = (body: string) =>
    [...body.matchAll(/<EvalDecision>(\w+)<\/EvalDecision>/g)].map((m) => m[1]);

  it('decides each action on each resource with the context keys given', async () => {
    const answer = await iam().simulatePrincipalPolicy(
      form({
        PolicySourceArn: roleArn,
        'ActionNames.member.1': 'ecr:PutImage',
        'ActionNames.member.2': 'ecr:DeleteRepository',
        'ActionNames.member.3': 'ecr:BatchGetImage',
        'ResourceArns.member.1': repo,
        'ContextEntries.member.1.ContextKeyName': 'ecr:ResourceTag/managed-by',
        'ContextEntries.member.1.ContextKeyType': 'string',
        'ContextEntries.member.1.ContextKeyValues.member.1': 'stack',
      }),
    );
    expect(answer?.status).toBe(200);
    expect(decisions(answer?.body ?? '')).toEqual(['allowed', 'explicitDeny', 'implicitDeny']);
  });

  it('denies a conditioned statement when the context does not satisfy it', async () => {
    const answer = await iam().simulatePrincipalPolicy(
      form({
        PolicySourceArn: roleArn,
        'ActionNames.member.1': 'ecr:PutImage',
        'ResourceArns.member.1': repo,
      }),
    );
    expect(decisions(answer?.body ?? '')).toEqual(['implicitDeny']);
  });

  it('leaves a role the template does not define to moto', async () => {
    expect(
      await iam().simulatePrincipalPolicy(
        form({ PolicySourceArn: 'arn:aws:iam::123456789012:role/other', 'ActionNames.member.1': 'a:B' }),
      ),
    ).toBeUndefined();
  });
});
