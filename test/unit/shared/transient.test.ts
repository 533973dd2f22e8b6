import { describe, expect, it } from 'vitest';
import { httpStatusOf, isTransient } from '../../../functions/shared/transient.ts';

/** An error shaped as the SDK throws it: a name and the HTTP status of the answer. */
const sdkError = (name: string, status = 400) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('isTransient', () => {
  // The union of the two lists it replaces (build-trigger's errors.ts and shared/retry.ts).
  it.each([
    'ThrottlingException',
    'Throttling',
    'ThrottledException',
    'TooManyRequestsException',
    'RequestLimitExceeded',
    'RequestThrottled',
    'RequestThrottledException',
    'ProvisionedThroughputExceededException',
    'SlowDown',
    'AccountLimitExceededException',
    'ServiceUnavailable',
    'ServiceUnavailableException',
    'InternalServerError',
    'InternalServerException',
    'InternalFailure',
    'ServerException',
    'RequestTimeout',
    'RequestTimeoutException',
    'TimeoutError',
    'AbortError',
  ])('retries %s even when answered with a 4xx', (name) => {
    expect(isTransient(sdkError(name))).toBe(true);
  });

  it.each(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND'])(
    'retries the network error %s',
    (code) => {
      expect(isTransient(Object.assign(new Error('socket'), { code }))).toBe(true);
    },
  );

  it.each([429, 500, 502, 503, 504])('retries any error answered with HTTP %i', (status) => {
    expect(isTransient(sdkError('AnythingElse', status))).toBe(true);
  });

  it('retries what the SDK marks $retryable', () => {
    expect(isTransient(Object.assign(new Error('x'), { $retryable: { throttling: false } }))).toBe(true);
  });

  it('takes an error-shaped object that is not an Error instance', () => {
    expect(isTransient({ name: 'ThrottlingException' })).toBe(true);
    expect(isTransient({ code: 'ECONNRESET' })).toBe(true);
  });

  it.each([
    ['AccessDeniedException', 400],
    ['ResourceNotFoundException', 400],
    ['InvalidInputException', 400],
    ['ValidationException', 400],
    ['ParameterNotFound', 400],
  ])('does not retry %s (%i)', (name, status) => {
    expect(isTransient(sdkError(name, status))).toBe(false);
  });

  it.each([undefined, null, 'ThrottlingException', 503, new Error('plain'), { code: 'EACCES' }])(
    'does not retry %o',
    (value) => {
      expect(isTransient(value)).toBe(false);
    },
  );
});

describe('httpStatusOf', () => {
  it("takes the HTTP status of an SDK error's metadata", () => {
    expect(httpStatusOf(sdkError('AccessDeniedException', 403))).toBe(403);
  });

  it('answers undefined for what carries no numeric status', () => {
    for (const value of [undefined, null, 'ThrottlingException', 503, {}, new Error('plain')])
      expect(httpStatusOf(value)).toBeUndefined();
    expect(httpStatusOf({ $metadata: { httpStatusCode: '503' } })).toBeUndefined();
  });
});

describe('isTransient: the edges of the status rule', () => {
  it.each([
    [499, false],
    [500, true],
    [428, false],
    [430, false],
  ])('HTTP %i is transient: %s', (status, expected) => {
    expect(isTransient(sdkError('AnythingElse', status))).toBe(expected);
  });

  it('does not take a status written as text', () => {
    expect(isTransient({ name: 'AnythingElse', $metadata: { httpStatusCode: '503' } })).toBe(false);
  });

  it('does not take a name or code that is not text', () => {
    expect(isTransient({ name: ['ThrottlingException'], code: ['ECONNRESET'] })).toBe(false);
  });
});
