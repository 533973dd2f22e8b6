/**
 * ecr-events: notifies Slack and SNS of image pushes and deletions, scan results, builds and
 * rejected uploads, clears a pushed repository's stale mark, and sweeps stale repositories on the
 * schedule or on demand (`{"action":"sweep"}`, optionally `"dryRun": true`); see events.ts.
 */
import type { Context } from 'aws-lambda';
import { deps } from './clients.ts';
import { handleEvent } from './events.ts';

export const handler = async (event: unknown, context?: Context): Promise<void> => {
  if (context?.awsRequestId) deps.logger.addContext(context);
  await handleEvent(deps, event, context);
};
