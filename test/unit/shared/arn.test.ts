import { describe, expect, it } from 'vitest';
import { accountOfArn } from '../../../functions/shared/arn.ts';

describe('accountOfArn', () => {
  it('takes the fifth field of an ARN', () => {
    expect(accountOfArn('arn:aws:ecr:us-east-1:123456789012:repository/team-a/api')).toBe('123456789012');
    expect(accountOfArn('arn:aws:s3:::bucket')).toBe('');
  });

  it('answers an empty account for what has no fifth field', () => {
    expect(accountOfArn('team-a/api')).toBe('');
  });
});
