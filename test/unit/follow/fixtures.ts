/** An uploaded object and the builds that may name it, shared by the tests that follow uploads. */
import type { Build } from '@aws-sdk/client-codebuild';

export const identity = { bucket: 'contexts', key: 'team/api/v1.tar.gz', versionId: 'v2', eTag: '"abc"' };

export function build(id: string, vars: Record<string, string>, extra: Partial<Build> = {}): Build {
  return {
    id,
    environment: {
      type: 'LINUX_CONTAINER',
      image: 'x',
      computeType: 'BUILD_GENERAL1_SMALL',
      environmentVariables: Object.entries(vars).map(([name, value]) => ({ name, value, type: 'PLAINTEXT' })),
    },
    ...extra,
  };
}

export const ours = {
  CONTEXT_BUCKET: 'contexts',
  CONTEXT_KEY: 'team/api/v1.tar.gz',
  CONTEXT_VERSION_ID: 'v2',
  CONTEXT_ETAG: 'abc',
  IMAGE_REPOSITORY: 'team/api',
  IMAGE_REPOSITORY_URI: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api',
  IMAGE_TAG: 'v1',
};
