import type { Build } from '@aws-sdk/client-codebuild';
import { describe, expect, it } from 'vitest';
import { uploadOfBuild, verifyBuild } from '../../../../functions/ecr-events/origin/verify-build.ts';
import { confirmed, FIXTURE_BUILD_ARN } from '../fixtures.ts';

const answering = (build: Build | undefined) => async (id: string) => {
  expect(id).toBe(FIXTURE_BUILD_ARN);
  return build;
};
const question = { id: FIXTURE_BUILD_ARN, status: 'FAILED', projectName: 'ecr-pipeline-dev' };

describe('confirming a build with CodeBuild', () => {
  it('confirms a build of this project that ended as the event says', async () => {
    expect(await verifyBuild(answering(confirmed('FAILED')), question)).toEqual({
      ok: true,
      build: confirmed('FAILED'),
    });
  });

  it('refuses a build CodeBuild does not have', async () => {
    expect(await verifyBuild(answering(undefined), question)).toEqual({
      ok: false,
      reason: `CodeBuild has no build ${FIXTURE_BUILD_ARN}`,
    });
  });

  it('refuses a build of another project, and a build with no project', async () => {
    const other = await verifyBuild(answering(confirmed('FAILED', { projectName: 'other' })), question);
    expect(other).toEqual({
      ok: false,
      reason: `build ${FIXTURE_BUILD_ARN} belongs to project other, not ecr-pipeline-dev`,
    });
    const none = await verifyBuild(answering(confirmed('FAILED', { projectName: undefined })), question);
    expect(none).toMatchObject({ ok: false, reason: expect.stringContaining('project (none)') });
  });

  it('refuses an event that says a build ended otherwise than CodeBuild says', async () => {
    const succeeded = await verifyBuild(answering(confirmed('SUCCEEDED')), question);
    expect(succeeded).toEqual({
      ok: false,
      reason: `the event says build ${FIXTURE_BUILD_ARN} ended FAILED; CodeBuild says SUCCEEDED`,
    });
    const running = await verifyBuild(answering(confirmed('FAILED', { buildStatus: undefined })), question);
    expect(running).toMatchObject({ ok: false, reason: expect.stringContaining('CodeBuild says nothing') });
  });

  it('takes a started event for a build in any state: it may arrive after the build ended', async () => {
    const started = { ...question, status: 'IN_PROGRESS' };
    expect(await verifyBuild(answering(confirmed('SUCCEEDED')), started)).toMatchObject({ ok: true });
  });
});

describe('the upload of a build', () => {
  it("reads the upload from the build's environment as CodeBuild reports it", () => {
    const build = confirmed('FAILED');
    build.environment?.environmentVariables?.push(
      { name: 'CONTEXT_VERSION_ID', value: 'v1' },
      { name: 'CONTEXT_ETAG', value: 'e1' },
    );
    expect(uploadOfBuild(build)).toEqual({
      identity: {
        bucket: 'ecr-pipeline-dev-contexts-123456789012-us-west-2',
        key: 'team/web/v1.4.3.tar.gz',
        versionId: 'v1',
        eTag: 'e1',
      },
      buildId: FIXTURE_BUILD_ARN,
    });
  });

  it('names no upload without a bucket, a key or a build id, and takes no empty value', () => {
    const without = (name: string) => {
      const build = confirmed('FAILED');
      const variables = build.environment?.environmentVariables ?? [];
      return {
        ...build,
        environment: { ...build.environment, environmentVariables: variables.filter((v) => v.name !== name) },
      } as Build;
    };
    expect(uploadOfBuild(without('CONTEXT_BUCKET'))).toBeUndefined();
    expect(uploadOfBuild(without('CONTEXT_KEY'))).toBeUndefined();
    expect(uploadOfBuild(confirmed('FAILED', { arn: undefined, id: undefined }))).toBeUndefined();
    expect(uploadOfBuild(confirmed('FAILED', { arn: undefined }))?.buildId).toBe(
      'ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef',
    );
    const empty = confirmed('FAILED');
    empty.environment?.environmentVariables?.push({ name: 'CONTEXT_VERSION_ID', value: '' });
    expect(uploadOfBuild(empty)?.identity.versionId).toBeUndefined();
    expect(uploadOfBuild({ arn: FIXTURE_BUILD_ARN })).toBeUndefined();
  });
});
