/**
 * IAM condition operators as AWS evaluates them (IAM user guide, "IAM JSON policy elements:
 * Condition operators" and "Single-valued vs. multivalued context keys"): every operator and every
 * key of a block must hold; the values of one key are ORed, except for the negated operators, whose
 * key must match none of them; a key missing from the request fails a positive operator and passes a
 * negated one, `...IfExists` passes when the key is missing; `ForAllValues:` / `ForAnyValue:` compare
 * sets. Condition key names are case-insensitive; values of String operators are not.
 */

import { wildcardToRegExp } from '../../functions/shared/wildcard.ts';

/** The request's condition keys (names lower-cased), single- or multi-valued. */
export type ConditionContext = Record<string, string | string[]>;

type Compare = (requestValue: string, policyValue: string) => boolean;

/** `*` and `?` wildcards of StringLike / ArnLike / Action / Resource, as a matcher. */
export function wildcard(pattern: string, caseInsensitive = false): (value: string) => boolean {
  const regex = wildcardToRegExp(pattern, caseInsensitive ? 'is' : 's');
  return (value) => regex.test(value);
}

const date = (text: string) => (/^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text));

const BASE: Record<string, Compare> = {
  StringEquals: (a, b) => a === b,
  StringEqualsIgnoreCase: (a, b) => a.toLowerCase() === b.toLowerCase(),
  StringLike: (a, b) => wildcard(b)(a),
  ArnEquals: (a, b) => a === b,
  ArnLike: (a, b) => wildcard(b)(a),
  NumericEquals: (a, b) => Number(a) === Number(b),
  NumericLessThan: (a, b) => Number(a) < Number(b),
  NumericLessThanEquals: (a, b) => Number(a) <= Number(b),
  NumericGreaterThan: (a, b) => Number(a) > Number(b),
  NumericGreaterThanEquals: (a, b) => Number(a) >= Number(b),
  DateEquals: (a, b) => date(a) === date(b),
  DateLessThan: (a, b) => date(a) < date(b),
  DateLessThanEquals: (a, b) => date(a) <= date(b),
  DateGreaterThan: (a, b) => date(a) > date(b),
  DateGreaterThanEquals: (a, b) => date(a) >= date(b),
  Bool: (a, b) => a.toLowerCase() === b.toLowerCase(),
  BinaryEquals: (a, b) => a === b,
};

/** Negated operator -> the positive one it negates. */
const NEGATED: Record<string, string> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
  NumericNotEquals: 'NumericEquals',
  DateNotEquals: 'DateEquals',
};

export class UnknownConditionOperator extends Error {
  override name = 'UnknownConditionOperator';
}

interface Operator {
  set?: 'ForAllValues' | 'ForAnyValue';
  ifExists: boolean;
  negated: boolean;
  compare: Compare;
  isNull: boolean;
}

function parseOperator(name: string): Operator {
  const [prefix, rest] = name.includes(':') ? (name.split(':', 2) as [string, string]) : [undefined, name];
  if (prefix !== undefined && prefix !== 'ForAllValues' && prefix !== 'ForAnyValue') {
    throw new UnknownConditionOperator(`unknown condition operator ${name}`);
  }
  const ifExists = rest.endsWith('IfExists');
  const base = ifExists ? rest.slice(0, -'IfExists'.length) : rest;
  const positive = NEGATED[base] ?? base;
  const compare = BASE[positive];
  if (base === 'Null') return { ifExists: false, negated: false, compare: () => false, isNull: true };
  if (!compare) throw new UnknownConditionOperator(`unknown condition operator ${name}`);
  return { set: prefix, ifExists, negated: positive !== base, compare, isNull: false };
}

const asList = (value: unknown): string[] =>
  (Array.isArray(value) ? value : [value]).map((item) => String(item));

/** One operator over one key: whether it holds for the request. */
function holds(operator: Operator, requestValue: string | string[] | undefined, policyValues: string[]) {
  const present = requestValue !== undefined && !(Array.isArray(requestValue) && requestValue.length === 0);
  if (operator.isNull) return policyValues.some((v) => (v.toLowerCase() === 'true') === !present);
  const matchesAny = (value: string) => policyValues.some((p) => operator.compare(value, p));
  const values = requestValue === undefined ? [] : asList(requestValue);
  if (operator.set === 'ForAllValues') {
    // Vacuously true with no values; each value must match (negated: must match none).
    return values.every((v) => (operator.negated ? !matchesAny(v) : matchesAny(v)));
  }
  if (operator.set === 'ForAnyValue') {
    return values.some((v) => (operator.negated ? !matchesAny(v) : matchesAny(v)));
  }
  if (!present) return operator.ifExists || operator.negated;
  const anyMatch = values.some(matchesAny);
  return operator.negated ? !anyMatch : anyMatch;
}

/** Whether a statement's Condition block holds for the request (no block: it holds). */
export function conditionHolds(condition: unknown, context: ConditionContext): boolean {
  if (condition === undefined || condition === null) return true;
  for (const [name, keys] of Object.entries(condition as Record<string, Record<string, unknown>>)) {
    const operator = parseOperator(name);
    for (const [key, values] of Object.entries(keys)) {
      if (!holds(operator, context[key.toLowerCase()], asList(values))) return false;
    }
  }
  return true;
}
