import { describe, expect, it } from 'vitest';
import {
  boolean,
  ConfigError,
  integer,
  list,
  oneOf,
  repositoryWildcard,
  text,
} from '../../../functions/shared/env-config.ts';

describe('the environment readers', () => {
  it('throw a ConfigError, named so in logs, that names the variable', () => {
    const error = (() => {
      try {
        text({}, 'STACK_NAME');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      name: 'ConfigError',
      message: 'environment variable STACK_NAME is required',
    });
  });

  it('trim values, and take a blank one for unset', () => {
    expect(text({ A: '  x  ' }, 'A')).toBe('x');
    expect(text({ A: '   ' }, 'A', 'fallback')).toBe('fallback');
    expect(integer({ N: ' 7 ' }, 'N', 5, 1, 10)).toBe(7);
    expect(integer({ N: '   ' }, 'N', 5, 1, 10)).toBe(5);
    expect(oneOf({ M: ' MUTABLE ' }, 'M', ['IMMUTABLE', 'MUTABLE'], 'IMMUTABLE')).toBe('MUTABLE');
    expect(oneOf({ M: '  ' }, 'M', ['IMMUTABLE', 'MUTABLE'], 'IMMUTABLE')).toBe('IMMUTABLE');
  });

  it('read an empty integer as unset, not as 0', () => {
    expect(integer({ N: '' }, 'N', 5, 0, 10)).toBe(5);
  });

  it('accept an integer at either bound and refuse one past them', () => {
    expect(integer({ N: '0' }, 'N', 5, 0, 10)).toBe(0);
    expect(integer({ N: '10' }, 'N', 5, 0, 10)).toBe(10);
    expect(() => integer({ N: '11' }, 'N', 5, 0, 10)).toThrow(
      'environment variable N must be an integer from 0 to 10, got "11"',
    );
    expect(() => integer({ N: '-1' }, 'N', 5, 0, 10)).toThrow(ConfigError);
  });

  it('read a boolean only from "true" or "false"', () => {
    expect(boolean({}, 'B', false)).toBe(false);
    expect(boolean({}, 'B', true)).toBe(true);
    expect(boolean({ B: 'true' }, 'B', false)).toBe(true);
    expect(boolean({ B: 'false' }, 'B', true)).toBe(false);
    expect(() => boolean({ B: 'yes' }, 'B', true)).toThrow('must be one of true, false, got "yes"');
  });

  it('take "none" for an empty repository wildcard whose fallback is empty, and any name otherwise', () => {
    expect(repositoryWildcard({}, 'ADOPT', '')).toBe('');
    expect(repositoryWildcard({}, 'PATTERN')).toBe('*');
    expect(repositoryWildcard({ PATTERN: 'team-?/*' }, 'PATTERN')).toBe('team-?/*');
  });

  it('split a list on commas, trimming items and dropping blanks', () => {
    expect(list({}, 'L')).toEqual([]);
    expect(list({ L: '' }, 'L')).toEqual([]);
    expect(list({ L: ' a, ,b ,, c' }, 'L')).toEqual(['a', 'b', 'c']);
  });
});
