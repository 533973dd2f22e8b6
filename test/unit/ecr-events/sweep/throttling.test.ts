/**
 * Throttling is the clients' job: the sweeper's clients run the SDK's adaptive retry mode. Real
 * clients here (no mocks), over a request handler that throttles like ECR and the Tagging API do.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sweep } from '../../../../functions/ecr-events/sweep/sweep.ts';
import { REPOSITORY_TAGS } from '../../../../functions/shared/contract.ts';
import { stubLogger } from '../fixtures.ts';

const NOW = new Date('2026-11-16T12:00:00Z');
const ARN = 'arn:aws:ecr:us-west-2:123456789012:repository/team/old';

/** Answers JSON 1.1 calls by operation; the first `throttles[op]` calls of an operation are throttled. */
function fakeService(answers: Record<string, unknown>, throttles: Record<string, number>) {
  const calls: string[] = [];
  const handle = async (request: { headers: Record<string, string> }) => {
    const op = String(request.headers['x-amz-target']).split('.').pop() ?? '';
    calls.push(op);
    const throttled = calls.filter((c) => c === op).length <= (throttles[op] ?? 0);
    const body = throttled
      ? { __type: 'ThrottlingException', message: 'Rate exceeded' }
      : (answers[op] ?? {});
    return {
      response: {
        statusCode: throttled ? 400 : 200,
        headers: { 'content-type': 'application/x-amz-json-1.1' },
        body: new TextEncoder().encode(JSON.stringify(body)),
      },
    };
  };
  return { calls, requestHandler: { handle } };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the sweeper's clients", () => {
  it('run the SDK adaptive retry mode with up to 10 attempts', async () => {
    // The deployed defaults (clients.ts) read their configuration at load, as at a cold start.
    vi.stubEnv('STACK_NAME', 'ecr-pipeline-dev');
    vi.stubEnv('ACCOUNT_ID', '123456789012');
    vi.stubEnv('REPOSITORY_PATTERN', '*');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    const { deps, SWEEP_RETRY } = await import('../../../../functions/ecr-events/clients.ts');
    vi.unstubAllEnvs();
    const deployedEcr = deps.ecr;
    expect(SWEEP_RETRY).toEqual({ retryMode: 'adaptive', maxAttempts: 10 });
    const resolve = async (value: unknown) => (typeof value === 'function' ? value() : value);
    expect(await resolve(deployedEcr.config.retryMode)).toBe('adaptive');
    expect(await resolve(deployedEcr.config.maxAttempts)).toBe(10);
  });

  it('retries throttled calls and finishes the sweep', async () => {
    // No backoff waits in a unit test: the SDK's full jitter draws 0.
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const service = fakeService(
      {
        GetResources: {
          ResourceTagMappingList: [
            { ResourceARN: ARN, Tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-dev' }] },
          ],
          PaginationToken: '',
        },
        DescribeImages: {
          imageDetails: [{ imageDigest: `sha256:${'a'.repeat(64)}`, imagePushedAt: 1_700_000_000 }],
        },
        TagResource: {},
      },
      { GetResources: 1, DescribeImages: 2, TagResource: 1 },
    );
    const config = {
      retryMode: 'adaptive',
      maxAttempts: 10,
      region: 'us-west-2',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: service.requestHandler,
    };
    const ecr = new ECRClient(config);
    const tagging = new ResourceGroupsTaggingAPIClient(config);
    const report = await sweep(
      {
        stackName: 'ecr-pipeline-dev',
        repositoryPattern: '*',
        projectName: 'ecr-pipeline-dev',
        dryRun: false,
        staleDays: 90,
        graceDays: 7,
        protectedPatterns: [],
        checkInUse: false,
        concurrency: 4,
        discovery: 'tagging-api',
      },
      {
        ecr,
        tagging: async () => tagging,
        lambda: async () => {
          throw new Error('not needed');
        },
        ecs: async () => {
          throw new Error('not needed');
        },
        codebuild: async () => {
          throw new Error('not needed');
        },
        now: () => NOW,
        logger: stubLogger(),
      },
    );
    expect(report).toMatchObject({ marked: [{ repository: 'team/old' }], errors: [] });
    expect(service.calls).toEqual([
      'GetResources',
      'GetResources',
      'DescribeImages',
      'DescribeImages',
      'DescribeImages',
      'TagResource',
      'TagResource',
    ]);
    // The adaptive mode waits on its client-side rate after a throttle: seconds, not milliseconds.
  }, 30_000);
});
