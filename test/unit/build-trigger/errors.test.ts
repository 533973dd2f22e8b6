import { describe, expect, it } from 'vitest';
import {
  classify,
  errorName,
  PermanentError,
  TransientError,
} from '../../../functions/build-trigger/errors.ts';
import { awsError } from './helpers.ts';

describe('classify', () => {
  it('names the wrapped errors TransientError and PermanentError, as logs and records show them', () => {
    expect(errorName(classify(awsError('ThrottlingException', 400), 'StartBuild'))).toBe('TransientError');
    expect(errorName(classify(awsError('AccessDeniedException', 400), 'StartBuild'))).toBe('PermanentError');
  });

  it('says what failed, with the error name and message', () => {
    expect(classify(awsError('AccessDeniedException', 400), 'StartBuild p').message).toBe(
      'StartBuild p failed: AccessDeniedException: AccessDeniedException (test)',
    );
  });

  it('names the type of a thrown value that is not an Error, with no message', () => {
    const wrapped = classify('boom', 'PutEvents');
    expect(wrapped).toBeInstanceOf(PermanentError);
    expect(wrapped.message).toBe('PutEvents failed: string');
    expect(wrapped.cause).toBe('boom');
  });

  it('keeps an error classified already as it is', () => {
    const transient = new TransientError('throttled before');
    const permanent = new PermanentError('refused before');
    expect(classify(transient, 'again')).toBe(transient);
    expect(classify(permanent, 'again')).toBe(permanent);
  });
});
