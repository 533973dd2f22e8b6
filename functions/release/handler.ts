import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { deps } from './clients.ts';
import { handleInvocation } from './release.ts';

/**
 * A succeeded build, a scan result, the periodic check of releases waiting for their scan, or an
 * operator's override -> the release of the built image; see release.ts. The request id, kept by
 * Lambda across the retries of one event, lets a retry announce the verdict its attempt wrote.
 */
export const handler = async (event: unknown, context?: Context): Promise<unknown> => {
  if (context) deps.logger.addContext(context);
  return handleInvocation(deps, event, context?.awsRequestId ?? randomUUID());
};
