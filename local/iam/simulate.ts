/**
 * IAM's SimulatePrincipalPolicy for the stack's roles, answered from the same evaluation the local
 * cloud enforces (moto does not implement the policy simulator): `ecr-pipeline doctor` asks it
 * whether each role can do what its function or build needs, on AWS and here alike.
 */
import type { ConditionContext } from './conditions.ts';
import type { Decision } from './evaluate.ts';

export interface SimulationInput {
  policySourceArn: string;
  actions: string[];
  /** `*` when none are given, as IAM does. */
  resources: string[];
  context: ConditionContext;
}

export interface SimulationResult {
  action: string;
  resource: string;
  decision: Decision;
}

/** The members of a query-protocol list: `Name.member.1`, `Name.member.2`... */
function members(form: URLSearchParams, name: string): string[] {
  const values: string[] = [];
  for (let i = 1; form.has(`${name}.member.${i}`); i++) values.push(form.get(`${name}.member.${i}`) ?? '');
  return values;
}

/** SimulatePrincipalPolicy's parameters of a query-protocol form body. */
export function simulationInput(form: URLSearchParams): SimulationInput {
  const context: ConditionContext = {};
  for (let i = 1; form.has(`ContextEntries.member.${i}.ContextKeyName`); i++) {
    const entry = `ContextEntries.member.${i}`;
    const key = form.get(`${entry}.ContextKeyName`) ?? '';
    const values = members(form, `${entry}.ContextKeyValues`);
    context[key] = /list$/i.test(form.get(`${entry}.ContextKeyType`) ?? '') ? values : (values[0] ?? '');
  }
  const resources = members(form, 'ResourceArns');
  return {
    policySourceArn: form.get('PolicySourceArn') ?? '',
    actions: members(form, 'ActionNames'),
    resources: resources.length > 0 ? resources : ['*'],
    context,
  };
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** IAM's EvalDecision for a decision. */
export function evalDecision(decision: Decision): 'allowed' | 'explicitDeny' | 'implicitDeny' {
  if (decision.allowed) return 'allowed';
  return decision.reason.startsWith('explicit-deny') ? 'explicitDeny' : 'implicitDeny';
}

/** The XML answer of SimulatePrincipalPolicy, as IAM sends it. */
export function simulationResponse(results: readonly SimulationResult[]): string {
  const member = (result: SimulationResult) =>
    [
      '<member>',
      `<EvalActionName>${escapeXml(result.action)}</EvalActionName>`,
      `<EvalResourceName>${escapeXml(result.resource)}</EvalResourceName>`,
      `<EvalDecision>${evalDecision(result.decision)}</EvalDecision>`,
      '<MatchedStatements>',
      ...result.decision.statements.map(
        (s) => `<member><SourcePolicyId>${escapeXml(`${s.policy}#${s.sid}`)}</SourcePolicyId></member>`,
      ),
      '</MatchedStatements>',
      '<MissingContextValues/>',
      '</member>',
    ].join('');
  return [
    '<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">',
    '<SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated><EvaluationResults>',
    ...results.map(member),
    '</EvaluationResults></SimulatePrincipalPolicyResult>',
    `<ResponseMetadata><RequestId>${crypto.randomUUID()}</RequestId></ResponseMetadata>`,
    '</SimulatePrincipalPolicyResponse>',
  ].join('');
}
