/**
 * Authorizes the requests of the stack's roles against the packaged template's IAM: for each action a
 * request needs (request*.ts), the role's policies and the resource's policy are evaluated
 * (evaluate.ts) with the request's condition keys and the resource's tags; the decision is recorded
 * (usage.ts). With `enforce: false` denials are recorded but let through (the local cloud's
 * `--iam off` does not call it at all).
 *
 * `aws:SecureTransport` is `true` for the stack's calls: in AWS the SDKs call over TLS, and the
 * local cloud's plain HTTP is an artefact of running here; the deny on `false` still fires for a
 * request that says so (test/unit/local/iam/).
 */
import { type ConditionContext, wildcard } from './conditions.ts';
import type { Principal } from './credentials.ts';
import { type Decision, evaluate, type NamedPolicy } from './evaluate.ts';
import type { IamModel } from './model.ts';
import { type ApiAction, type ArnScope, resourceTagContext, UNAUTHORIZED_ACTIONS } from './request.ts';
import type { UsageLog } from './usage.ts';

export interface AuthorizerOptions {
  /** The stack's IAM (read at each request: the deployer fills it after the servers are up). */
  model: () => IamModel;
  scope: ArnScope;
  /** Deny what IAM would deny (default true); false: record only. */
  enforce: boolean;
  usage: UsageLog;
  /** The tags of a resource the request touches (ECR repositories), or undefined when it has none. */
  resourceTags?: (arn: string) => Promise<Record<string, string> | undefined>;
}

/** A request IAM refused: what AWS says about it. */
export interface Denial {
  action: string;
  resource: string;
  decision: Decision;
  message: string;
}

const REASONS: Record<Decision['reason'], string> = {
  'no-allow': 'because no identity-based policy allows the %s action',
  'no-session-allow': 'because no session policy allows the %s action',
  'explicit-deny-identity': 'with an explicit deny in an identity-based policy',
  'explicit-deny-resource': 'with an explicit deny in a resource-based policy',
  allow: '',
};

/** AWS's wording of an access denied message. */
export function deniedMessage(principalArn: string, action: string, resource: string, decision: Decision) {
  const reason = REASONS[decision.reason].replace('%s', action);
  return `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} ${reason}`;
}

export class Authorizer {
  constructor(private readonly options: AuthorizerOptions) {}

  /** The first denial among the request's actions (enforcing), else undefined; every decision recorded. */
  async authorize(principal: Principal, actions: ApiAction[]): Promise<Denial | undefined> {
    for (const { action, resource, context } of actions) {
      if (UNAUTHORIZED_ACTIONS.has(action)) continue;
      const decision = await this.decide(principal, action, resource, context);
      this.options.usage.record(principal.role.logicalId, action, resource, decision);
      if (!decision.allowed && this.options.enforce) {
        return {
          action,
          resource,
          decision,
          message: deniedMessage(principal.arn, action, resource, decision),
        };
      }
    }
    return undefined;
  }

  /** The decision for one action of a principal on a resource. */
  async decide(principal: Principal, action: string, resource: string, extra: ConditionContext) {
    const context: ConditionContext = {
      'aws:principalarn': principal.role.arn,
      'aws:principalaccount': this.options.scope.account,
      'aws:principaltype': 'AssumedRole',
      'aws:requestedregion': this.options.scope.region,
      'aws:securetransport': 'true',
      ...(await this.tagContext(action, resource)),
      ...lowerKeys(extra),
    };
    const policies: NamedPolicy[] = [
      ...principal.role.policies,
      ...this.options
        .model()
        .resourcePolicies.filter((p) => p.attachedTo.some((pattern) => wildcard(pattern)(resource)))
        .map((p) => p.policy),
    ];
    return evaluate(
      { principalArn: principal.role.arn, action, resource, context },
      policies,
      principal.sessionPolicy,
    );
  }

  private async tagContext(action: string, resource: string): Promise<ConditionContext> {
    const repository = /^arn:aws:ecr:[^:]+:\d+:repository\/[^*]+$/.test(resource);
    if (!repository || action.toLowerCase() === 'ecr:createrepository' || !this.options.resourceTags)
      return {};
    const tags = await this.options.resourceTags(resource);
    return tags ? resourceTagContext('ecr', tags) : {};
  }
}

function lowerKeys(context: ConditionContext): ConditionContext {
  return Object.fromEntries(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
}
