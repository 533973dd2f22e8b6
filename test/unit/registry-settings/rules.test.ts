import { describe, expect, it } from 'vitest';
import type { MergeResult } from '../../../functions/registry-settings/merge.ts';
import { mergeRule, type SharedRules, unmergeRule } from '../../../functions/registry-settings/rules.ts';

/** A rule of a list shared by everyone: who it serves and where it sends them (order not meaningful). */
interface Rule {
  filter: string;
  targets: string[];
}

const RULES: SharedRules<Rule> = {
  kind: 'forwarding',
  max: 3,
  same: (a, b) => a.filter === b.filter && [...a.targets].sort().join() === [...b.targets].sort().join(),
  describe: (rule) => `for "${rule.filter}" to ${rule.targets.join(', ')}`,
  instead: 'give this stack another filter',
};

const ours: Rule = { filter: 'team-a/', targets: ['x', 'y'] };
const theirs: Rule = { filter: 'team-b/', targets: ['x'] };
const another: Rule = { filter: 'team-c/', targets: ['z'] };

const value = <T>(result: MergeResult<T>): T => {
  if (!result.ok) throw new Error(result.reason);
  return result.value;
};
const reason = <T>(result: MergeResult<T>): string => {
  if (result.ok) throw new Error(`merged: ${JSON.stringify(result.value)}`);
  return result.reason;
};

describe('mergeRule', () => {
  it("adds ours last and keeps everyone else's rules as they were, in their order", () => {
    expect(value(mergeRule(RULES, [theirs, another], ours))).toEqual([theirs, another, ours]);
    expect(value(mergeRule(RULES, [], ours))).toEqual([ours]);
  });

  it('gives the same list when applied again to its own result (an update with the same rule)', () => {
    const once = value(mergeRule(RULES, [theirs], ours));
    expect(value(mergeRule(RULES, once, ours, ours))).toEqual(once);
    // Whatever the order of our rule's lists as the registry gives it back.
    const reordered = once.map((rule) => (rule === ours ? { ...ours, targets: ['y', 'x'] } : rule));
    expect(value(mergeRule(RULES, reordered, ours, ours))).toEqual(once);
  });

  it('replaces our previous rule on an update, and every copy of it, leaving theirs', () => {
    const updated = { filter: 'team-a/', targets: ['z'] };
    expect(value(mergeRule(RULES, [ours, theirs, ours], updated, ours))).toEqual([theirs, updated]);
  });

  it('refuses to take over a rule like ours that this stack did not write, naming it and what to change', () => {
    expect(reason(mergeRule(RULES, [theirs, { ...ours, targets: ['y', 'x'] }], ours))).toBe(
      'the registry already has a forwarding rule for "team-a/" to x, y, which this stack did not write: ' +
        'it will not take over (and, on deletion, remove) a rule others rely on; give this stack another filter',
    );
    // Our previous rule, being another, does not make theirs ours.
    const previous = { filter: 'team-a/', targets: ['z'] };
    expect(mergeRule(RULES, [previous, ours], ours, previous).ok).toBe(false);
  });

  it("refuses a rule more than ECR takes rather than drop one of theirs, counting others' rules only", () => {
    const three = [theirs, another, { filter: 'team-d/', targets: ['x'] }];
    expect(reason(mergeRule(RULES, three, ours))).toBe(
      'the registry has 3 forwarding rules of others; ECR takes at most 3, ' +
        'so this stack cannot add its own without removing one of theirs',
    );
    // The last place ECR has, and our previous rule's place counted as free.
    expect(value(mergeRule(RULES, three.slice(1), ours))).toHaveLength(3);
    expect(value(mergeRule(RULES, [...three.slice(1), ours], ours, ours))).toHaveLength(3);
  });
});

describe('unmergeRule', () => {
  it('takes out every copy of ours, whatever the order of its lists, and nothing else', () => {
    const reordered = { ...ours, targets: ['y', 'x'] };
    expect(unmergeRule(RULES, [ours, theirs, reordered, another], ours)).toEqual([theirs, another]);
  });

  it('leaves a list without our rule as it was, so taking it out twice changes nothing more', () => {
    const once = unmergeRule(RULES, [theirs, ours], ours);
    expect(unmergeRule(RULES, once, ours)).toEqual([theirs]);
    expect(unmergeRule(RULES, [], ours)).toEqual([]);
  });
});
