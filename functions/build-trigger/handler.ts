import { randomUUID } from 'node:crypto';
import type { Context, S3Event } from 'aws-lambda';
import { deps } from './clients.ts';
import { handleS3Event } from './trigger.ts';

/**
 * S3 ObjectCreated -> one CodeBuild build per accepted upload; see trigger.ts. The request id, kept by
 * Lambda across the retries of one event, owns the upload claims.
 */
export const handler = async (event: S3Event, context?: Context): Promise<void> => {
  if (context) deps.logger.addContext(context);
  await handleS3Event(deps, event, context?.awsRequestId ?? randomUUID());
};
