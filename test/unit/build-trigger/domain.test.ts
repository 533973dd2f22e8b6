import { describe, expect, it } from 'vitest';
import {
  isTagImmutable,
  lifecyclePolicy,
  ownershipOf,
  RepositoryCache,
} from '../../../functions/build-trigger/ensure-repository.ts';
import {
  classify,
  isTransient,
  PermanentError,
  TransientError,
} from '../../../functions/build-trigger/errors.ts';
import { RecentSet } from '../../../functions/build-trigger/recent.ts';
import { awsError } from './helpers.ts';

describe('isTagImmutable', () => {
  it.each([
    ['IMMUTABLE', [], 'v1', true],
    ['MUTABLE', [], 'v1', false],
    ['IMMUTABLE_WITH_EXCLUSION', ['latest', 'dev-*'], 'dev-42', false],
    ['IMMUTABLE_WITH_EXCLUSION', ['latest', 'dev-*'], 'v1', true],
    ['MUTABLE_WITH_EXCLUSION', ['release-*'], 'release-1', true],
    ['MUTABLE_WITH_EXCLUSION', ['release-*'], 'main', false],
  ])('%s with exclusions %o: tag %s immutable = %s', (mutability, exclusions, tag, expected) => {
    expect(isTagImmutable({ mutability, exclusions }, tag)).toBe(expected);
  });
});

describe('ownershipOf', () => {
  const config = { stackName: 'ecr-pipeline-dev', adoptRepositoryPattern: 'legacy/*' };
  const managedBy = (value: string) => [{ Key: 'ecr-pipeline:managed-by', Value: value }];

  it.each([
    ['team/api', managedBy('ecr-pipeline-dev'), { kind: 'managed' }],
    ['team/api', [], { kind: 'foreign' }],
    ['team/api', managedBy('ecr-pipeline-prod'), { kind: 'foreign', managedBy: 'ecr-pipeline-prod' }],
    ['team/api', [{ Key: 'owner', Value: 'ecr-pipeline-dev' }], { kind: 'foreign' }],
    ['legacy/api', [], { kind: 'adopted' }],
    ['legacy/api', managedBy('ecr-pipeline-prod'), { kind: 'adopted' }],
  ])('judges %s with tags %o as %o', (name, tags, expected) => {
    expect(ownershipOf(config, name, tags)).toStrictEqual(expected);
  });

  it('adopts nothing when the pattern is empty', () => {
    expect(ownershipOf({ ...config, adoptRepositoryPattern: '' }, 'legacy/api', [])).toEqual({
      kind: 'foreign',
    });
  });
});

describe('errors', () => {
  it.each([
    ['ThrottlingException', 400, true],
    ['AccountLimitExceededException', 400, true],
    ['TooManyRequestsException', 429, true],
    ['ServiceUnavailable', 503, true],
    ['AnythingElse', 502, true],
    ['AccessDeniedException', 400, false],
    ['ResourceNotFoundException', 400, false],
    ['InvalidInputException', 400, false],
  ])('%s (%i) is transient: %s', (name, status, expected) => {
    expect(isTransient(awsError(name, status))).toBe(expected);
  });

  it('treats network resets as transient and keeps the cause', () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const wrapped = classify(reset, 'StartBuild');
    expect(wrapped).toBeInstanceOf(TransientError);
    expect(wrapped.cause).toBe(reset);
    expect(classify(awsError('AccessDeniedException', 400), 'x')).toBeInstanceOf(PermanentError);
  });
});

describe('container caches', () => {
  it('RecentSet forgets the oldest item beyond its capacity', () => {
    const seen = new RecentSet(2);
    seen.add('a');
    seen.add('b');
    seen.add('a');
    seen.add('c');
    expect([seen.has('a'), seen.has('b'), seen.has('c')]).toEqual([true, false, true]);
  });

  it('RepositoryCache expires entries after its time to live', () => {
    const cache = new RepositoryCache(1000);
    const info = {
      name: 'api',
      uri: 'u/api',
      arn: 'arn:aws:ecr:us-east-1:123456789012:repository/api',
      mutability: 'IMMUTABLE',
      exclusions: [],
      created: false,
      ownership: { kind: 'managed' as const },
      staleMarked: false,
    };
    cache.set(info, 0);
    expect(cache.get('api', 999)).toEqual(info);
    expect(cache.get('api', 1000)).toBeUndefined();
  });
});

describe('lifecyclePolicy', () => {
  it('expires untagged images first, then keeps the last N tagged', () => {
    const policy = JSON.parse(lifecyclePolicy({ untaggedExpiryDays: 7, keepTaggedImages: 30 }));
    expect(policy.rules).toEqual([
      {
        rulePriority: 1,
        description: 'Expire untagged images 7 days after push',
        selection: {
          tagStatus: 'untagged',
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 7,
        },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: 'Keep the last 30 tagged images',
        selection: {
          tagStatus: 'tagged',
          tagPatternList: ['*'],
          countType: 'imageCountMoreThan',
          countNumber: 30,
        },
        action: { type: 'expire' },
      },
    ]);
  });
});
