/** Container-wide defaults: clients created once per container, at module load. */
import { Logger } from '@aws-lambda-powertools/logger';
import { ECRClient } from '@aws-sdk/client-ecr';
import { S3Client } from '@aws-sdk/client-s3';
import { endpointConfigured, lazy } from '../shared/lazy.ts';
import { loadConfig } from './config.ts';
import type { Deps } from './deps.ts';

const config = loadConfig(process.env);

/** A connection and a request timeout on every call: a stalled connection cannot eat the invocation. */
const requestHandler = { connectionTimeout: 2000, requestTimeout: 5000 };

export const deps: Deps = {
  config,
  s3: new S3Client({
    requestHandler,
    // Emulators (the local cloud's moto) serve buckets by path, not by host name.
    forcePathStyle: endpointConfigured('S3', process.env),
  }),
  ecr: new ECRClient({ requestHandler }),
  events: lazy(async () => {
    const { EventBridgeClient } = await import('./sdk/eventbridge.ts');
    return new EventBridgeClient({ requestHandler });
  }),
  codebuild: lazy(async () => {
    const { CodeBuildClient } = await import('./sdk/codebuild.ts');
    return new CodeBuildClient({ requestHandler });
  }),
  logger: new Logger({ serviceName: 'release' }),
  now: () => new Date(),
};
