/** The nearest option to a mistyped one. */
import { describe, expect, it } from 'vitest';
import { unknownOption } from '../../../cli/args.ts';
import { distance, nearest } from '../../../cli/suggest.ts';

describe('edit distance', () => {
  it.each([
    ['', '', 0],
    ['tag', 'tag', 0],
    ['', 'tag', 3],
    ['tag', '', 3],
    ['tga', 'tag', 1],
    ['tg', 'tag', 1],
    ['tagg', 'tag', 1],
    ['tab', 'tag', 1],
    ['folow', 'follow', 1],
    ['kitten', 'sitting', 3],
    ['abcd', 'badc', 2],
    ['ab', 'ba', 1],
    ['ab', 'xa', 2],
    ['ba', 'ax', 2],
    ['abc', 'xyz', 3],
    ['ab', 'cd', 2],
  ])('from %s to %s is %i', (a, b, expected) => {
    expect(distance(a, b)).toBe(expected);
    expect(distance(b, a)).toBe(expected);
  });
});

describe('the nearest name', () => {
  const options = ['tag', 'target', 'repository', 'region', 'fail-on', 'dry-run', 'quiet'];

  it('is the closest candidate', () => {
    expect(nearest('tga', options)).toBe('tag');
    expect(nearest('regoin', options)).toBe('region');
    expect(nearest('dryrun', options)).toBe('dry-run');
  });

  it('is a candidate that starts with what was typed', () => {
    expect(nearest('repo', options)).toBe('repository');
    expect(nearest('targ', options)).toBe('target');
  });

  it('is nothing when every candidate is far', () => {
    expect(nearest('colour', options)).toBeUndefined();
    expect(nearest('zzz', options)).toBeUndefined();
    expect(nearest('x', [])).toBeUndefined();
  });

  it('allows one edit in a short name and a third of a long one', () => {
    expect(nearest('ab', ['abcd'])).toBe('abcd');
    expect(nearest('xy', ['ab'])).toBeUndefined();
    expect(nearest('qiuet', options)).toBe('quiet');
    expect(nearest('abcdefghi', ['abcxyzghi'])).toBe('abcxyzghi');
    expect(nearest('abcdefghi', ['abwxyzghi'])).toBeUndefined();
  });

  it('takes the first of equally near candidates', () => {
    expect(nearest('tah', ['tag', 'tab'])).toBe('tag');
  });

  it('does not take a single letter as the start of a name', () => {
    expect(nearest('q', ['quiet', 'zz'])).toBeUndefined();
  });
});

describe('the usage error of an unknown option', () => {
  const message = (given: string) =>
    `Unknown option '${given}'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "${given}"`;

  it('names the option and suggests the nearest', () => {
    const error = unknownOption(message('--tga'), { tag: {}, help: {} });
    expect(error.message).toBe('unknown option --tga');
    expect(error.hint).toBe('did you mean --tag? (--help for the options)');
    expect(error.exitCode).toBe(2);
  });

  it("passes the parser's message when nothing is near, for short options and other errors", () => {
    expect(unknownOption(message('--zzz'), { tag: {} }).message).toBe(message('--zzz'));
    expect(unknownOption(message('-Z'), { tag: {} }).message).toBe(message('-Z'));
    expect(unknownOption("Option '--tag <value>' argument missing", { tag: {} }).message).toBe(
      "Option '--tag <value>' argument missing",
    );
  });
});
