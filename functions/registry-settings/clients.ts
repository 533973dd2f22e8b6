/** Container-wide defaults, created once per container, at module load. */
import { Logger } from '@aws-lambda-powertools/logger';
import { ECRClient } from '@aws-sdk/client-ecr';
import type { Deps } from './deps.ts';

const requestHandler = { connectionTimeout: 2000, requestTimeout: 10_000 };

export const deps: Deps = {
  ecr: new ECRClient({ requestHandler, retryMode: 'adaptive' }),
  logger: new Logger({ serviceName: 'registry-settings' }),
  respond: async (url, body) => {
    // The pre-signed S3 URL takes a PUT with no content type.
    const response = await fetch(url, { method: 'PUT', body, headers: { 'content-type': '' } });
    if (!response.ok) throw new Error(`CloudFormation response refused: HTTP ${response.status}`);
  },
};
