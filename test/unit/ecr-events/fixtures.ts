import { readFileSync } from 'node:fs';
import type { Build } from '@aws-sdk/client-codebuild';
import { vi } from 'vitest';
import type { Logger } from '../../../functions/ecr-events/logger.ts';

const root = new URL('../../events/', import.meta.url);

/** A fresh copy of a real event fixture (test/events/<path>), safe to mutate. */
export function event(path: string): Record<string, unknown> & { detail: Record<string, unknown> } {
  return JSON.parse(readFileSync(new URL(path, root), 'utf8'));
}

/** A logger whose calls can be asserted. */
export function stubLogger(): Logger & { [K in keyof Logger]: ReturnType<typeof vi.fn> } {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() } as never;
}

/**
 * An S3 bucket in memory that honours `If-None-Match: *` and `If-Match` as S3 does (412 otherwise),
 * for `mockClient(...).on(GetObjectCommand).callsFake(bucket.get)` and `.on(PutObjectCommand).callsFake(bucket.put)`.
 * Every call waits a tick first, so that calls made at once interleave as they would over the network.
 */
export function conditionalBucket() {
  const objects = new Map<string, { body: string; eTag: string }>();
  let version = 0;
  const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
  const status = (code: number, name: string) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });
  return {
    objects,
    get: async (input: { Key?: string }) => {
      await tick();
      const found = objects.get(String(input.Key));
      if (!found) throw status(404, 'NoSuchKey');
      return { Body: { transformToString: async () => found.body }, ETag: found.eTag };
    },
    put: async (input: { Key?: string; Body?: unknown; IfMatch?: string; IfNoneMatch?: string }) => {
      await tick();
      const key = String(input.Key);
      const found = objects.get(key);
      if (input.IfNoneMatch === '*' && found) throw status(412, 'PreconditionFailed');
      if (input.IfMatch !== undefined && found?.eTag !== input.IfMatch)
        throw status(412, 'PreconditionFailed');
      const eTag = `"e${++version}"`;
      objects.set(key, { body: String(input.Body), eTag });
      return { ETag: eTag };
    },
    delete: async (input: { Key?: string }) => {
      await tick();
      objects.delete(String(input.Key));
      return {};
    },
    list: async (input: { Prefix?: string }) => {
      await tick();
      const keys = [...objects.keys()].filter((key) => key.startsWith(input.Prefix ?? '')).sort();
      return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
    },
  };
}

/** The build of the CodeBuild fixtures (test/events/codebuild/). */
export const FIXTURE_BUILD_ARN =
  'arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef';

/** The fixtures' build as CodeBuild describes it: this stack's project's, building the fixtures' upload. */
export const confirmed = (buildStatus: string, extra: Partial<Build> = {}): Build => ({
  arn: FIXTURE_BUILD_ARN,
  id: 'ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef',
  projectName: 'ecr-pipeline-dev',
  buildStatus: buildStatus as Build['buildStatus'],
  environment: {
    type: 'LINUX_CONTAINER',
    image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
    computeType: 'BUILD_GENERAL1_SMALL',
    environmentVariables: [
      { name: 'CONTEXT_BUCKET', value: 'ecr-pipeline-dev-contexts-123456789012-us-west-2' },
      { name: 'CONTEXT_KEY', value: 'team/web/v1.4.3.tar.gz' },
      { name: 'IMAGE_REPOSITORY', value: 'team/web' },
      { name: 'IMAGE_TAG', value: 'v1.4.3' },
    ],
  },
  ...extra,
});

/** The fixtures' build, as CodeBuild would describe a build whose environment names no upload. */
export const namingNoUpload = (): Build => {
  const build = confirmed('IN_PROGRESS');
  return {
    ...build,
    environment: {
      ...build.environment,
      environmentVariables: [{ name: 'IMAGE_REPOSITORY', value: 'team/web' }],
    },
  } as Build;
};
