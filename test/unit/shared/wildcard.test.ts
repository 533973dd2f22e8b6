import { describe, expect, it } from 'vitest';
import { wildcardToRegExp } from '../../../functions/shared/wildcard.ts';

const matches = (pattern: string, name: string) => wildcardToRegExp(pattern).test(name);

describe('wildcardToRegExp', () => {
  it('anchors the pattern at both ends, so a namespace pattern does not match inside another name', () => {
    expect(matches('team-a/*', 'team-a/api')).toBe(true);
    expect(matches('team-a/*', 'x/team-a/api')).toBe(false);
    expect(matches('team-a/api', 'team-a/api-old')).toBe(false);
    expect(matches('*-cache', 'build-cache/other')).toBe(false);
  });

  it('lets * match any run of characters, slashes and the empty run included', () => {
    expect(matches('*', 'a/b/c')).toBe(true);
    expect(matches('team-*', 'team-')).toBe(true);
    expect(matches('team-*/api', 'team-a/b/api')).toBe(true);
  });

  it('lets ? match exactly one character', () => {
    expect(matches('app-?', 'app-1')).toBe(true);
    expect(matches('app-?', 'app-')).toBe(false);
    expect(matches('app-?', 'app-12')).toBe(false);
  });

  it('takes every other character literally, regular-expression characters included', () => {
    expect(matches('a.b', 'a.b')).toBe(true);
    expect(matches('a.b', 'axb')).toBe(false);
    expect(matches('a+', 'aa')).toBe(false);
    expect(matches('(a|b)', 'a')).toBe(false);
    expect(matches('(a|b)', '(a|b)')).toBe(true);
    expect(matches('a[0-9]', 'a1')).toBe(false);
    expect(matches('a\\d', 'a\\d')).toBe(true);
    expect(matches('^a$', '^a$')).toBe(true);
    expect(matches('a{2}', 'a{2}')).toBe(true);
  });
});
