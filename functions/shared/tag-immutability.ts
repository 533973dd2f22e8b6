/**
 * Whether a tag may be pushed again, and the reason given when it may not. Shared by the
 * build-trigger function (which refuses the upload) and the command-line tool (which refuses before
 * uploading), so both say the same thing.
 */
import type { Rejection } from './naming.ts';
import { wildcardToRegExp } from './wildcard.ts';

/** ECR's tag mutability settings (DescribeRepositories `imageTagMutability`). */
export type TagMutability = 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';

/** Whether pushing `tag` to the repository would be refused because tags there are immutable. */
export function isTagImmutable(
  info: { mutability: TagMutability | string | undefined; exclusions: readonly string[] },
  tag: string,
): boolean {
  const excluded = info.exclusions.some((pattern) => wildcardToRegExp(pattern).test(tag));
  switch (info.mutability) {
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
    default:
      return false;
  }
}

/** The refusal of a tag that already exists in a repository where it is immutable. */
export function tagAlreadyExists(repository: string, tag: string): Rejection {
  return {
    code: 'TagAlreadyExists',
    reason: `${repository}:${tag} already exists and tags in this repository are immutable; upload with a new tag`,
  };
}
