/**
 * ECR's signing configuration (managed signing) is one per registry and region, like replication:
 * writing it replaces every rule. These pure functions add this stack's rule (its signing profile
 * for its repositories) to the registry's rules, keeping everyone else's, and take only ours out
 * again; what cannot be merged without changing someone else's rule is refused with the reason.
 */
import type { SigningRule } from '@aws-sdk/client-ecr';
import type { MergeResult } from './merge.ts';
import { mergeRule, type SharedRules, unmergeRule } from './rules.ts';

// Function declarations, not arrow functions held in constants: code evaluated at module load is
// out of reach of mutation testing's mutant switching, so its mutants would survive untested.
function ok<T>(value: T): MergeResult<T> {
  return { ok: true, value };
}

function refuse<T>(reason: string): MergeResult<T> {
  return { ok: false, reason };
}

/** ECR's limits (ECR API reference: SigningConfiguration, SigningRule). */
export const MAX_SIGNING_RULES = 10;

/** Whether `arn` is an AWS Signer signing profile ARN (ECR user guide, "Managed signing"). */
function isSigningProfileArn(arn: string): boolean {
  return /^arn:aws[a-z-]*:signer:[a-z0-9-]+:\d{12}:\/signing-profiles\/[A-Za-z0-9_]{2,64}$/.test(arn);
}

/**
 * This stack's signing rule: `profileArn` for the repositories of `repositoryPattern`. ECR's signing
 * filters (WILDCARD_MATCH) know `*` only: a `?` has no equivalent there but a broader `*`, which would
 * sign other teams' images with this stack's profile, so it is refused; so is a pattern that is all
 * wildcard, which would sign every image of the registry.
 */
export function ourSigningRule(profileArn: string, repositoryPattern: string): MergeResult<SigningRule> {
  if (!isSigningProfileArn(profileArn))
    return refuse(
      `signingProfileArn "${profileArn.slice(0, 200)}" is not an AWS Signer signing profile ARN ` +
        '(arn:aws:signer:<region>:<account>:/signing-profiles/<name>)',
    );
  if (repositoryPattern.includes('?'))
    return refuse(
      `ECR signing filters take "*" only: repositoryPattern "${repositoryPattern}" has a "?"; ` +
        'write it with "*" (or a narrower prefix) to sign exactly the repositories you mean',
    );
  if (/^\**$/.test(repositoryPattern))
    return refuse(
      `signing needs a repositoryPattern narrower than "${repositoryPattern}" (such as "team-a/*"): ` +
        "it would sign every repository of the registry with this stack's profile, other teams' too",
    );
  return ok({
    signingProfileArn: profileArn,
    repositoryFilters: [{ filter: repositoryPattern, filterType: 'WILDCARD_MATCH' }],
  });
}

/** A rule as one string: its profile and its filters, sorted (the order of filters means nothing). */
function ruleKey(rule: SigningRule): string {
  return JSON.stringify([
    rule.signingProfileArn,
    (rule.repositoryFilters ?? []).map((f) => `${f.filterType}:${f.filter}`).sort(),
  ]);
}

/** Whether two rules sign the same repositories with the same profile (filter order does not matter). */
export function sameSigningRule(a: SigningRule, b: SigningRule): boolean {
  return ruleKey(a) === ruleKey(b);
}

/** The registry's signing rules, as mergeRule and unmergeRule see them. */
const SIGNING_RULES: SharedRules<SigningRule> = {
  kind: 'signing',
  max: MAX_SIGNING_RULES,
  same: sameSigningRule,
  describe: describeSigningRule,
  instead: 'give this stack another repositoryPattern or signing profile',
};

/** A signing rule as a refusal names it: its filters and its profile. */
function describeSigningRule(rule: SigningRule): string {
  return `for ${(rule.repositoryFilters ?? []).map((f) => `"${f.filter}"`).join(', ')} with ${rule.signingProfileArn}`;
}

/** The registry's signing rules with ours in place (mergeRule). */
export function mergeSigning(
  existing: SigningRule[],
  ours: SigningRule,
  previous?: SigningRule,
): MergeResult<SigningRule[]> {
  return mergeRule(SIGNING_RULES, existing, ours, previous);
}

/** The registry's signing rules without ours (unmergeRule). */
export function unmergeSigning(existing: SigningRule[], ours: SigningRule): SigningRule[] {
  return unmergeRule(SIGNING_RULES, existing, ours);
}
