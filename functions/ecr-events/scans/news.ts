/**
 * Enhanced scanning's results as news: an `Inspector2 Finding` event gets the image's counts from ECR
 * (one finding says little about the image), and every completed enhanced scan result passes the
 * scan memory (memory.ts) before it is notified, so that rescans finding nothing new stay quiet.
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { normalizeCounts } from '../../shared/severity.ts';
import { isTransient } from '../../shared/transient.ts';
import type { Deps } from '../deps.ts';
import { describeError } from '../logger.ts';
import type { Notification } from '../notify/notification.ts';
import { type Route, withCounts } from '../route.ts';
import { type Remembered, rememberScan } from './memory.ts';

/**
 * A finding's notification with the counts of its image (`DescribeImages`' findings summary, which
 * enhanced scanning keeps up to date). Without a summary it is ignored; a transient error is thrown
 * (Lambda retries the event).
 */
export async function withImageFindings(deps: Deps, routed: Route): Promise<Route> {
  if (routed.action !== 'notify') return routed;
  const n = routed.notification;
  const { repository, digest, finding } = n;
  if (!finding || !repository || !digest) return routed;
  try {
    const { imageDetails } = await deps.ecr.send(
      new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
    );
    const summary = imageDetails?.[0]?.imageScanFindingsSummary?.findingSeverityCounts;
    if (!summary) {
      return {
        action: 'ignore',
        reason: 'no findings summary for the image yet',
        malformed: false,
        repository,
      };
    }
    return {
      ...routed,
      notification: {
        ...withCounts(n, normalizeCounts(summary)),
        detail: `New or changed finding: ${finding.title} (${finding.severity}).`,
      },
    };
  } catch (error) {
    if (isTransient(error)) throw error;
    deps.logger.warn('could not read the findings of the image', {
      repository,
      digest,
      error: describeError(error),
    });
    return { action: 'ignore', reason: 'the image could not be described', malformed: false, repository };
  }
}

/** True for a completed enhanced scan result with counts: the results the scan memory judges. */
const isEnhancedResult = (n: Notification): boolean =>
  n.kind === 'scan' && n.scanner === 'enhanced' && n.outcome !== 'failure' && n.counts !== undefined;

/**
 * Judges an enhanced scan result against the image's scan memory and remembers it. Undefined when the
 * memory does not apply (another kind, no bucket); a memory that cannot be read or written lets the
 * notification through (logged): better told twice than never.
 */
export async function rememberResult(deps: Deps, n: Notification): Promise<Remembered | undefined> {
  const { config, logger } = deps;
  if (!isEnhancedResult(n) || !config.uploads.bucket || !n.repository || !n.digest) return undefined;
  try {
    const { s3, commands } = await deps.uploadRecords();
    return await rememberScan(
      { s3, commands, ...config.uploads },
      { repository: n.repository, digest: n.digest, counts: n.counts ?? {}, at: n.time },
      config.minScanSeverity,
    );
  } catch (error) {
    logger.error('could not use the scan memory: the result is notified as news', {
      repository: n.repository,
      digest: n.digest,
      error: describeError(error),
    });
    return undefined;
  }
}
