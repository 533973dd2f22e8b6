/**
 * `status` of a built image: where ECR replicated it, one line per destination, from
 * `DescribeImageReplicationStatus` (statuses IN_PROGRESS, COMPLETE, FAILED with a failure code; ECR
 * API reference, ImageReplicationStatus). A registry that replicates nothing answers an empty list.
 * The command's other lines stand whatever this answers: an error becomes one line saying why.
 */
import { DescribeImageReplicationStatusCommand, type ECRClient } from '@aws-sdk/client-ecr';

const NOT_SUPPORTED = /not (been )?implemented|unsupported|unknown operation/i;

/** Why the replication status could not be read, in a few words. */
function unreadable(error: unknown): string {
  const {
    name = 'Error',
    message = '',
    $metadata,
  } = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  if (name === 'AccessDeniedException') return 'not allowed (ecr:DescribeImageReplicationStatus)';
  if (NOT_SUPPORTED.test(`${name} ${message}`) || $metadata?.httpStatusCode === 500) {
    return 'this endpoint does not answer DescribeImageReplicationStatus';
  }
  return `${name}${message ? `: ${message}` : ''}`;
}

/** The `replica` lines of `status` for `repository@digest`. */
export async function replicationLines(
  ecr: Pick<ECRClient, 'send'>,
  repository: string,
  digest: string,
): Promise<string[]> {
  try {
    const { replicationStatuses = [] } = await ecr.send(
      new DescribeImageReplicationStatusCommand({
        repositoryName: repository,
        imageId: { imageDigest: digest },
      }),
    );
    if (replicationStatuses.length === 0)
      return ['replicas none (no replication rule covers this repository)'];
    return replicationStatuses.map(
      (r) =>
        `replica  ${r.region ?? '?'}${r.registryId ? ` (${r.registryId})` : ''}  ${r.status ?? 'UNKNOWN'}${r.failureCode ? `: ${r.failureCode}` : ''}`,
    );
  } catch (error) {
    return [`replicas unknown: ${unreadable(error)}`];
  }
}
