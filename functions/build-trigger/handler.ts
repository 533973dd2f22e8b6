import type { Context, S3Event } from 'aws-lambda';
import { deps } from './clients.ts';
import { handleS3Event } from './trigger.ts';

/** S3 ObjectCreated -> one CodeBuild build per accepted upload; see trigger.ts. */
export const handler = async (event: S3Event, context?: Context): Promise<void> => {
  if (context) deps.logger.addContext(context);
  await handleS3Event(deps, event);
};
