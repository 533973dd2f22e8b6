import { describe, expect, it } from 'vitest';
import { describeError } from '../../../functions/ecr-events/logger.ts';

describe('describeError', () => {
  it('gives the name and message of an error, never its other fields', () => {
    const error = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $response: { body: 'secret' },
    });
    expect(describeError(error)).toBe('ThrottlingException: Rate exceeded');
  });

  it('gives anything else as text', () => {
    expect(describeError('timed out')).toBe('timed out');
    expect(describeError({ toString: () => 'custom' })).toBe('custom');
  });

  it("uses an error's name and message, not its own text", () => {
    class Verbose extends Error {
      override toString() {
        return 'Verbose: boom, with the whole response';
      }
    }
    expect(describeError(new Verbose('boom'))).toBe('Error: boom');
  });
});
