import { describe, expect, it } from 'vitest';
import { isTagImmutable, tagAlreadyExists } from '../../../functions/shared/tag-immutability.ts';

describe('isTagImmutable', () => {
  it('matches exclusions as wildcards against the whole tag', () => {
    const info = { mutability: 'IMMUTABLE_WITH_EXCLUSION', exclusions: ['dev-*', 'rc?'] };
    expect(isTagImmutable(info, 'dev-42')).toBe(false);
    expect(isTagImmutable(info, 'rc1')).toBe(false);
    expect(isTagImmutable(info, 'rc10')).toBe(true);
    expect(isTagImmutable(info, 'v1-dev-42')).toBe(true);
  });

  it('treats an unknown or missing setting as mutable', () => {
    expect(isTagImmutable({ mutability: undefined, exclusions: ['*'] }, 'v1')).toBe(false);
    expect(isTagImmutable({ mutability: 'SOMETHING_NEW', exclusions: [] }, 'v1')).toBe(false);
  });

  it('keeps every tag of an IMMUTABLE repository, whatever the exclusions say', () => {
    expect(isTagImmutable({ mutability: 'IMMUTABLE', exclusions: ['*'] }, 'v1')).toBe(true);
  });
});

describe('tagAlreadyExists', () => {
  it('names the image and tells the user to upload with a new tag', () => {
    expect(tagAlreadyExists('team-a/api', 'v1')).toEqual({
      code: 'TagAlreadyExists',
      reason: 'team-a/api:v1 already exists and tags in this repository are immutable; upload with a new tag',
    });
  });
});
