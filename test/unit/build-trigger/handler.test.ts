import { CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { awsError, BUCKET, PROJECT, repository, s3Event } from './helpers.ts';

// The module-scope clients of clients.ts are instances of these classes.
const ecr = mockClient(ECRClient);
const codebuild = mockClient(CodeBuildClient);
const events = mockClient(EventBridgeClient);

beforeEach(() => {
  for (const mock of [ecr, codebuild, events]) mock.reset();
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('CONTEXT_BUCKET', BUCKET);
  vi.stubEnv('BUILD_PROJECT', PROJECT);
  vi.stubEnv('STACK_NAME', 'ecr-pipeline-dev');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  vi.stubEnv('AWS_ENDPOINT_URL', '');
  vi.stubEnv('AWS_ENDPOINT_URL_S3', '');
});

describe('handler', () => {
  it('reads its configuration from the environment and starts the build', async () => {
    // The upload record goes to S3 over HTTP: answer it here.
    const fetch = vi.fn<typeof globalThis.fetch>(async () => new Response('', { status: 200 }));
    vi.stubGlobal('fetch', fetch);
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-a/api')] });
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
    codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:b-9` } });
    const { handler } = await import('../../../functions/build-trigger/handler.ts');

    await expect(handler(s3Event('put-versioned.json'))).resolves.toBeUndefined();
    expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, { projectName: PROJECT });
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(String(url)).toMatch(
      new RegExp(
        `^https://${BUCKET}\\.s3\\.us-east-1\\.amazonaws\\.com/\\.ecr-pipeline/uploads/[0-9a-f]{64}\\.json$`,
      ),
    );
    expect(init?.method).toBe('PUT');
    expect(init?.headers).toMatchObject({ 'if-none-match': '*' });
  });
});
