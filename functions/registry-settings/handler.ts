import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { deps } from './clients.ts';
import { handleCustomResource } from './respond.ts';

/** The RegistryReplication and RegistryScanning custom resources; see apply.ts and merge.ts. */
export const handler = async (event: CloudFormationCustomResourceEvent, context?: Context): Promise<void> => {
  if (context) deps.logger.addContext(context);
  await handleCustomResource(deps, event);
};
