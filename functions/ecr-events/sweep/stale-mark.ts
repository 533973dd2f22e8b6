/** A push clears the pushed repository's stale mark at once, before the next sweep looks at it. */
import { ListTagsForResourceCommand, UntagResourceCommand } from '@aws-sdk/client-ecr';
import { REPOSITORY_TAGS } from '../../shared/contract.ts';
import type { Sender } from '../sender.ts';

export type ClearResult = 'cleared' | 'would-clear' | 'not-marked' | 'unmanaged' | 'gone';

export interface ClearStaleMarkOptions {
  ecr: Sender;
  repository: string;
  region: string;
  account: string;
  stackName: string;
  dryRun: boolean;
}

const partition = (region: string) =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

/** Removes the stale-since tag of a managed repository; a dry run only says it would. */
export async function clearStaleMark(o: ClearStaleMarkOptions): Promise<ClearResult> {
  const resourceArn = `arn:${partition(o.region)}:ecr:${o.region}:${o.account}:repository/${o.repository}`;
  // The ECR client retries throttling and transient errors itself (clients.ts).
  let tags: { Key?: string; Value?: string }[];
  try {
    const out = await o.ecr.send(new ListTagsForResourceCommand({ resourceArn }));
    // Stryker disable next-line ArrayDeclaration: a list of anything but tags has no managed-by tag either
    tags = out.tags ?? [];
  } catch (error) {
    if ((error as { name?: string }).name === 'RepositoryNotFoundException') return 'gone';
    throw error;
  }
  const value = (key: string) => tags.find((tag) => tag.Key === key)?.Value;
  if (value(REPOSITORY_TAGS.managedBy) !== o.stackName) return 'unmanaged';
  if (value(REPOSITORY_TAGS.staleSince) === undefined) return 'not-marked';
  if (o.dryRun) return 'would-clear';
  await o.ecr.send(new UntagResourceCommand({ resourceArn, tagKeys: [REPOSITORY_TAGS.staleSince] }));
  return 'cleared';
}
