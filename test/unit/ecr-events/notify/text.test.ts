import { describe, expect, it } from 'vitest';
import {
  codeSpan,
  cutEscaped,
  cutPlain,
  fitBlocks,
  fitLines,
} from '../../../../functions/ecr-events/notify/text.ts';

const more = (n: number) => `+${n}`;

describe('cutting user text to a limit', () => {
  it.each([cutEscaped, cutPlain])(
    '%o keeps text of exactly the limit and cuts longer text with an ellipsis',
    (cut) => {
      expect(cut('abc', 3)).toBe('abc');
      expect(cut('abcdef', 4)).toBe('abc…');
      expect(cut('abc', 1)).toBe('…');
      expect(cut('abc', 0)).toBe('');
    },
  );

  it.each([cutEscaped, cutPlain])(
    '%o never ends in half a surrogate pair, at either end of the high range',
    (cut) => {
      expect(cut('ab\u{10000}cd', 4)).toBe('ab…');
      expect(cut('ab\u{10FFFF}cd', 4)).toBe('ab…');
      expect(cut('ab\ue000cd', 4)).toBe('ab\ue000…');
    },
  );

  it('never ends escaped text inside an entity, even one that starts the text', () => {
    expect(cutEscaped('ab&amp;cd', 7)).toBe('ab…');
    expect(cutEscaped('&amp;xyz', 4)).toBe('…');
    expect(cutEscaped('ab&amp;cd', 8)).toBe('ab&amp;…');
    expect(cutEscaped('ab&lt;cd', 7)).toBe('ab&lt;…');
  });

  it('turns backticks into quotes inside a code span, so the span stays closed', () => {
    expect(codeSpan('a`b', 20)).toBe("`a'b`");
  });
});

describe('fitLines', () => {
  it('adds the last line without reserving room for an "and n more" line it will not need', () => {
    expect(fitLines('H', ['a', 'b', 'c'], 8, more)).toBe('H\na\nb\nc');
  });

  it('stops where a line and the "and n more" line no longer fit, counting the lines left out', () => {
    expect(fitLines('H', ['a', 'b', 'c'], 6, more)).toBe('H\na\n+2');
    expect(fitLines('H', ['aa', 'bb', 'cc'], 9, more)).toBe('H\naa\n+2');
  });

  it('counts the lines never offered', () => {
    expect(fitLines('H', ['a'], 100, more, 2)).toBe('H\na\n+2');
    expect(fitLines('H', ['a'], 100, more, 0)).toBe('H\na');
  });
});

describe('fitBlocks', () => {
  it('keeps a message within the block limit whole', () => {
    expect(fitBlocks([1, 2, 3])).toEqual([1, 2, 3]);
  });

  it('keeps the first blocks and the last one of a longer message', () => {
    const blocks = Array.from({ length: 60 }, (_, i) => i);
    const fitted = fitBlocks(blocks);
    expect(fitted).toHaveLength(50);
    expect(fitted.at(-1)).toBe(59);
    expect(fitted.at(-2)).toBe(48);
  });
});
