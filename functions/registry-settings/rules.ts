/**
 * A list of rules that ECR keeps once per registry and region for everyone (replication rules,
 * signing rules): writing it replaces the whole list. Adding this stack's rule keeps every other
 * rule as it was, takes over no rule this stack did not write, and run twice gives the same list.
 */
import type { MergeResult } from './merge.ts';

/** What tells the rules of one such list apart, what ECR takes, and how the refusals name them. */
export interface SharedRules<R> {
  /** The list, as a reason names it: "replication", "signing". */
  kind: string;
  /** ECR's limit on the number of rules in the list. */
  max: number;
  /** Whether two rules are one rule (the order of their lists does not matter). */
  same: (a: R, b: R) => boolean;
  /** A rule as a reason names it, after "a <kind> rule": `for "team-a/" to 123456789012/eu-west-1`. */
  describe: (rule: R) => string;
  /** What to change in this stack when a rule like ours is someone else's. */
  instead: string;
}

// Function declarations, not arrow functions held in constants: code evaluated at module load is
// out of reach of mutation testing's mutant switching, so its mutants would survive untested.
function ok<T>(value: T): MergeResult<T> {
  return { ok: true, value };
}

function refuse<T>(reason: string): MergeResult<T> {
  return { ok: false, reason };
}

/**
 * The registry's rules with ours in place: `previous` (our rule before an update) and any copy of
 * ours removed, every other rule kept as it was, ours last.
 */
export function mergeRule<R>(rules: SharedRules<R>, existing: R[], ours: R, previous?: R): MergeResult<R[]> {
  const others = existing.filter((rule) => !(previous && rules.same(rule, previous)));
  // A rule like ours that this stack did not write is someone else's: taking it over would delete it
  // with this stack. (Our own, on an update with unchanged properties, went out with `previous`.)
  if (others.some((rule) => rules.same(rule, ours))) {
    return refuse(
      `the registry already has a ${rules.kind} rule ${rules.describe(ours)}, which this stack did not write: ` +
        `it will not take over (and, on deletion, remove) a rule others rely on; ${rules.instead}`,
    );
  }
  if (others.length + 1 > rules.max) {
    return refuse(
      `the registry has ${others.length} ${rules.kind} rules of others; ECR takes at most ${rules.max}, ` +
        'so this stack cannot add its own without removing one of theirs',
    );
  }
  return ok([...others, ours]);
}

/** The registry's rules without ours; everyone else's untouched. */
export function unmergeRule<R>(rules: SharedRules<R>, existing: R[], ours: R): R[] {
  return existing.filter((rule) => !rules.same(rule, ours));
}
