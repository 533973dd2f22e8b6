/**
 * Policy evaluation for a principal of this account, as AWS does it for same-account requests (IAM
 * user guide, "Policy evaluation logic"): an explicit Deny in the role's policies or in the resource's
 * policy wins; otherwise an Allow in either allows; otherwise the request is implicitly denied.
 * Statements match on Action / NotAction (wildcards, case-insensitive), Resource / NotResource
 * (wildcards, case-sensitive), Principal / NotPrincipal (resource policies) and Condition
 * (conditions.ts). A session policy (AssumeRole's `Policy`) limits what the session may do: the
 * request must also be allowed by it, and a Deny in it denies (IAM user guide, "Session policies").
 * Not modelled, because the stack uses none of them: permissions boundaries, SCPs and policy
 * variables (`${aws:username}`).
 */
import { type ConditionContext, conditionHolds, wildcard } from './conditions.ts';

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: unknown;
}

export interface PolicyDocument {
  Version?: string;
  Statement: Statement | Statement[];
}

/** A policy and where it comes from: `<Role>/<PolicyName>` or the logical id of a resource policy. */
export interface NamedPolicy {
  name: string;
  kind: 'identity' | 'resource';
  document: PolicyDocument;
}

export interface AuthorizationRequest {
  principalArn: string;
  action: string;
  resource: string;
  context: ConditionContext;
}

/** A statement that matched: the policy's name and the statement's Sid (or its index). */
export interface StatementRef {
  policy: string;
  sid: string;
}

export interface Decision {
  allowed: boolean;
  /** allowed; denied by a Deny (and where); no Allow anywhere; or none in the session policy. */
  reason: 'allow' | 'explicit-deny-identity' | 'explicit-deny-resource' | 'no-allow' | 'no-session-allow';
  /** The Allow statements that matched (allowed), or the Deny statements (explicit deny). */
  statements: StatementRef[];
}

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** The statements of a document, as a list. */
export function statementsOf(document: PolicyDocument): Statement[] {
  return Array.isArray(document.Statement) ? document.Statement : [document.Statement];
}

function actionMatches(statement: Statement, action: string): boolean {
  const matches = (patterns: string[]) => patterns.some((p) => wildcard(p, true)(action));
  if (statement.Action !== undefined) return matches(list(statement.Action));
  if (statement.NotAction !== undefined) return !matches(list(statement.NotAction));
  return false;
}

function resourceMatches(statement: Statement, resource: string, kind: NamedPolicy['kind']): boolean {
  const matches = (patterns: string[]) => patterns.some((p) => wildcard(p)(resource));
  if (statement.Resource !== undefined) return matches(list(statement.Resource));
  if (statement.NotResource !== undefined) return !matches(list(statement.NotResource));
  // A resource policy may leave Resource out: it is then the resource it is attached to.
  return kind === 'resource';
}

/** `"*"`, `{ AWS: "*" }` or `{ AWS: [..., role ARN] }`: the account root names the account, not the role. */
function principalNamed(principal: unknown, principalArn: string): boolean {
  if (principal === '*') return true;
  if (principal === null || typeof principal !== 'object') return false;
  const aws = (principal as Record<string, unknown>).AWS;
  return list(aws as string | string[] | undefined).some((p) => p === '*' || p === principalArn);
}

function principalMatches(statement: Statement, kind: NamedPolicy['kind'], principalArn: string): boolean {
  if (kind === 'identity') return true;
  if (statement.Principal !== undefined) return principalNamed(statement.Principal, principalArn);
  if (statement.NotPrincipal !== undefined) return !principalNamed(statement.NotPrincipal, principalArn);
  return false;
}

/** The statements of these policies with this effect that apply to the request. */
export function matchingStatements(
  policies: NamedPolicy[],
  effect: Statement['Effect'],
  request: AuthorizationRequest,
): Array<StatementRef & { kind: NamedPolicy['kind'] }> {
  const found: Array<StatementRef & { kind: NamedPolicy['kind'] }> = [];
  for (const policy of policies) {
    statementsOf(policy.document).forEach((statement, index) => {
      if (statement.Effect !== effect) return;
      if (!actionMatches(statement, request.action)) return;
      if (!resourceMatches(statement, request.resource, policy.kind)) return;
      if (!principalMatches(statement, policy.kind, request.principalArn)) return;
      if (!conditionHolds(statement.Condition, request.context)) return;
      found.push({ policy: policy.name, sid: statement.Sid ?? `#${index}`, kind: policy.kind });
    });
  }
  return found;
}

/**
 * The decision for one request: identity and resource policies together, explicit deny first; with a
 * session policy, what they allow is allowed only where the session policy allows it too.
 */
export function evaluate(
  request: AuthorizationRequest,
  policies: NamedPolicy[],
  sessionPolicy?: NamedPolicy,
): Decision {
  const denies = matchingStatements(sessionPolicy ? [...policies, sessionPolicy] : policies, 'Deny', request);
  if (denies.length > 0) {
    const inIdentity = denies.some((d) => d.kind === 'identity');
    return {
      allowed: false,
      reason: inIdentity ? 'explicit-deny-identity' : 'explicit-deny-resource',
      statements: denies.map(({ policy, sid }) => ({ policy, sid })),
    };
  }
  const allows = matchingStatements(policies, 'Allow', request);
  if (allows.length > 0 && sessionPolicy) {
    const session = matchingStatements([sessionPolicy], 'Allow', request);
    if (session.length === 0) return { allowed: false, reason: 'no-session-allow', statements: [] };
    allows.push(...session);
  }
  if (allows.length > 0) {
    return { allowed: true, reason: 'allow', statements: allows.map(({ policy, sid }) => ({ policy, sid })) };
  }
  return { allowed: false, reason: 'no-allow', statements: [] };
}
