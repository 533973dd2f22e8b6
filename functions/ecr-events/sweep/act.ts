/**
 * Stage 3, act: carries out a judgment (mark, unmark, delete); a dry run only says what it would
 * do. Right before deleting it checks again, because time has passed since the judgment: no build
 * of this stack's project may be queued or running into the repository, its mark must still be the
 * one judged (build-trigger removes it before it starts a build, a push event removes it too), and
 * nothing may have been pushed since the judgment or the mark.
 */
import {
  DeleteRepositoryCommand,
  type ECRClient,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { REPOSITORY_TAGS } from '../../shared/contract.ts';
import type { Logger } from '../logger.ts';
import type { Judgment } from './judge.ts';
import { type Activity, type Candidate, isNotFound, isoDay, type RepoResult } from './model.ts';
import { readActivity, readTags } from './read.ts';

export interface ActDeps {
  ecr: ECRClient;
  logger: Logger;
  dryRun: boolean;
  now: Date;
  /** Repository -> ids of its builds queued or running; read once per sweep, rejects when unreadable. */
  buildsInProgress: () => Promise<Map<string, string[]>>;
  /** The same, read again at each call: the last check right before a deletion. */
  buildsInProgressNow: () => Promise<Map<string, string[]>>;
}

/** Carries out the judgment of one repository and says what became of it. */
export async function act(j: Judgment, c: Candidate, activity: Activity, deps: ActDeps): Promise<RepoResult> {
  switch (j.kind) {
    case 'active':
      return { kind: 'active' };
    case 'pending':
      return { kind: 'pending', note: j.note };
    case 'unmark':
      await unmark(c, deps);
      return { kind: 'unmarked', note: j.note };
    case 'in-use':
      if (j.unmark) await unmark(c, deps);
      return { kind: 'in-use', note: j.note };
    case 'mark':
      if (!deps.dryRun) {
        await deps.ecr.send(
          new TagResourceCommand({
            resourceArn: c.arn,
            tags: [{ Key: REPOSITORY_TAGS.staleSince, Value: isoDay(deps.now) }],
          }),
        );
      }
      deps.logger.info(deps.dryRun ? 'would mark stale' : 'marked stale', { repository: c.name });
      return { kind: 'marked', note: j.note };
    case 'delete':
      return deleteUnlessTouched(j, c, activity, deps);
  }
}

async function unmark(c: Candidate, deps: ActDeps): Promise<void> {
  if (deps.dryRun) return;
  await deps.ecr.send(
    new UntagResourceCommand({ resourceArn: c.arn, tagKeys: [REPOSITORY_TAGS.staleSince] }),
  );
}

/** Deletes (with force) unless a build, a new mark or a push has touched the repository since the judgment. */
async function deleteUnlessTouched(
  j: Extract<Judgment, { kind: 'delete' }>,
  c: Candidate,
  judged: Activity,
  deps: ActDeps,
): Promise<RepoResult> {
  // Read before the mark below: build-trigger removes the mark before it starts a build into a
  // marked repository, so a build started after this read is seen there.
  const building = (await deps.buildsInProgress()).get(c.name);
  if (building && building.length > 0)
    return { kind: 'in-use', note: `(being built: ${building.slice(0, 3).join(', ')})` };
  if (!deps.dryRun) {
    // Another sweep or a push may have acted since the tags were read: re-read the mark right before deleting.
    const current = await readTags(deps.ecr, c.arn).catch((error) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!current) return { kind: 'gone' };
    if (current[REPOSITORY_TAGS.staleSince] !== c.tags[REPOSITORY_TAGS.staleSince]) return { kind: 'active' };
    // A push since the judgment, or since the mark (should its event, which removes the mark, have
    // been lost), keeps it: either one is enough, hence the earlier of the two.
    const again = await readActivity(deps.ecr, c, deps.now);
    if (!again) return { kind: 'gone' };
    if (again.lastPush.getTime() >= Math.min(judged.lastPush.getTime() + 1, j.mark.getTime())) {
      await unmark(c, deps);
      return { kind: 'unmarked', note: `pushed ${again.lastPush.toISOString()}, after it was judged stale` };
    }
    // The builds were read once for the whole sweep, maybe minutes ago: a build started since (by a
    // build-trigger that found no mark to clear, from its cache or before the mark) keeps the repository.
    const buildingNow = (await deps.buildsInProgressNow()).get(c.name);
    if (buildingNow && buildingNow.length > 0)
      return { kind: 'in-use', note: `(being built: ${buildingNow.slice(0, 3).join(', ')})` };
    try {
      await deps.ecr.send(
        new DeleteRepositoryCommand({
          repositoryName: c.name,
          registryId: c.account || undefined,
          force: true,
        }),
      );
    } catch (error) {
      // Already deleted by an overlapping sweep, which reports it: not reported twice.
      if (isNotFound(error)) return { kind: 'gone' };
      throw error;
    }
  }
  deps.logger.info(deps.dryRun ? 'would delete' : 'deleted', { repository: c.name });
  return { kind: 'deleted', note: j.note };
}
