/** What the sweeper reads of one repository: its tags, and its last push and pull (every page of its images). */
import {
  DescribeRepositoriesCommand,
  type ECRClient,
  ListTagsForResourceCommand,
  paginateDescribeImages,
} from '@aws-sdk/client-ecr';
import { type Activity, type Candidate, isNotFound } from './model.ts';

/** Tags as ECR and the Tagging API list them, as a key -> value record. */
export function tagRecord(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  // Stryker disable next-line ArrayDeclaration: anything but a tag has no key either
  for (const tag of tags ?? []) if (tag.Key) record[tag.Key] = tag.Value ?? '';
  return record;
}

/** The repository's tags. */
export async function readTags(ecr: ECRClient, arn: string): Promise<Record<string, string>> {
  const out = await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }));
  return tagRecord(out.tags);
}

/** Latest push and recorded pull over every image; undefined when the repository is gone. */
export async function readActivity(ecr: ECRClient, c: Candidate, now: Date): Promise<Activity | undefined> {
  let lastPush = 0;
  let lastPull = 0;
  let images = 0;
  try {
    for await (const page of paginateDescribeImages(
      { client: ecr, pageSize: 1000 },
      { repositoryName: c.name, registryId: c.account || undefined },
    )) {
      for (const image of page.imageDetails ?? []) {
        // Stryker disable next-line UpdateOperator: only whether the count is 0 matters
        images++;
        lastPush = Math.max(lastPush, toTime(image.imagePushedAt));
        lastPull = Math.max(lastPull, toTime(image.lastRecordedPullTime));
      }
    }
    if (images === 0) {
      let created = c.createdAt;
      if (!created) {
        const out = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [c.name] }));
        created = out.repositories?.[0]?.createdAt;
      }
      // Unknown creation time: treat as just created, the safe side.
      lastPush = created ? toTime(created) : now.getTime();
    }
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  return { lastPush: new Date(lastPush), lastPull: lastPull > 0 ? new Date(lastPull) : undefined };
}

function toTime(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' || typeof value === 'number') {
    const time = new Date(value).getTime();
    return Number.isNaN(time) ? 0 : time;
  }
  return 0;
}
