/**
 * The check `submit` makes before uploading: would the pipeline refuse this tag because it already
 * exists in an immutable repository? One DescribeImages call answers for a new tag (the usual case);
 * only when the tag exists does a DescribeRepositories call tell whether it is immutable there.
 */
import { DescribeImagesCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import type { Rejection } from '../functions/shared/naming.ts';
import { isTagImmutable, tagAlreadyExists } from '../functions/shared/tag-immutability.ts';
import type { Clients } from './target.ts';

const named = (error: unknown, ...names: string[]) => names.includes((error as { name?: string }).name ?? '');

/** The refusal the pipeline would give for repository:tag, or undefined when the tag is free. */
export async function tagRefusal(
  clients: Pick<Clients, 'ecr'>,
  repository: string,
  tag: string,
): Promise<Rejection | undefined> {
  try {
    const images = await clients.ecr.send(
      new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }),
    );
    if ((images.imageDetails?.length ?? 0) === 0) return undefined;
  } catch (error) {
    // A new repository (the pipeline creates it) or a new tag.
    if (named(error, 'RepositoryNotFoundException', 'ImageNotFoundException')) return undefined;
    throw error;
  }
  const { repositories } = await clients.ecr.send(
    new DescribeRepositoriesCommand({ repositoryNames: [repository] }),
  );
  const found = repositories?.[0];
  const info = {
    mutability: found?.imageTagMutability,
    exclusions: (found?.imageTagMutabilityExclusionFilters ?? []).flatMap((f) =>
      f.filter ? [f.filter] : [],
    ),
  };
  return isTagImmutable(info, tag) ? tagAlreadyExists(repository, tag) : undefined;
}
