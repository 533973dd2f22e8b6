import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BUILD_ENV,
  BUILD_REJECTED,
  BUILD_SUPERSEDED,
  EVENT_SOURCE,
  RELEASE_METADATA,
  RELEASE_VERDICT,
  REPOSITORY_TAGS,
  UPLOAD_METADATA,
} from '../../../functions/shared/contract.ts';

// The contract is read by code outside TypeScript too (the stack's templates, the buildspec's
// scripts, the README users follow): these tests hold each name to what those files say.
const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe('the shared contract', () => {
  it("is the source and detail type the stack's Build Rejected rule listens for", () => {
    const template = read('resources/ecr-events.yml');
    expect(template).toContain(`source: [${EVENT_SOURCE}]`);
    expect(template).toContain(`detail-type: [${BUILD_REJECTED}, ${RELEASE_VERDICT}]`);
    expect([EVENT_SOURCE, BUILD_REJECTED, RELEASE_VERDICT]).toEqual([
      'ecr-pipeline',
      'Build Rejected',
      'Release Verdict',
    ]);
  });

  it("names the repository tags the stack's IAM conditions allow", () => {
    const template = read('resources/ecr-events.yml');
    expect(template).toContain(`"aws:ResourceTag/${REPOSITORY_TAGS.managedBy}"`);
    expect(template).toContain(`"aws:TagKeys": ["${REPOSITORY_TAGS.staleSince}"]`);
    expect(REPOSITORY_TAGS).toEqual({
      managedBy: 'ecr-pipeline:managed-by',
      staleSince: 'ecr-pipeline:stale-since',
    });
  });

  it('leaves "superseded" out of the build: the newest-upload check is the release step\'s', () => {
    expect(read('buildspec/build-image.sh')).not.toContain(BUILD_SUPERSEDED);
    expect(read('buildspec/build-image.sh')).not.toMatch(/\baws s3api\b/);
    expect(BUILD_SUPERSEDED).toBe('superseded:');
  });

  it('names the build variables as the build script reads them', () => {
    const script = read('buildspec/build-image.sh');
    for (const name of ['IMAGE_REPOSITORY_URI', 'IMAGE_TAG', 'CONTEXT_BUCKET', 'CONTEXT_KEY'])
      expect(script).toContain(`"\${${name}:?}"`);
    expect(BUILD_ENV).toEqual({
      bucket: 'CONTEXT_BUCKET',
      key: 'CONTEXT_KEY',
      versionId: 'CONTEXT_VERSION_ID',
      eTag: 'CONTEXT_ETAG',
      repositoryUri: 'IMAGE_REPOSITORY_URI',
      repository: 'IMAGE_REPOSITORY',
      tag: 'IMAGE_TAG',
      cacheTag: 'IMAGE_CACHE_TAG',
      platform: 'BUILD_PLATFORM',
    });
    expect(script).toContain('BUILD_PLATFORM:-');
  });

  it('names the upload metadata as the README tells users to set it', () => {
    const readme = read('README.md');
    for (const name of Object.values(UPLOAD_METADATA)) expect(readme).toContain(`| \`${name}\``);
    expect(UPLOAD_METADATA).toEqual({
      dockerfile: 'dockerfile',
      buildArgs: 'build-args',
      target: 'target',
      platforms: 'platforms',
      lambdaSafe: 'lambda-safe',
      secrets: 'secrets',
    });
  });

  it('names the release metadata as the README tells users to set it', () => {
    const readme = read('README.md');
    for (const name of Object.values(RELEASE_METADATA)) expect(readme).toContain(`| \`${name}\``);
    expect(RELEASE_METADATA).toEqual({ gate: 'release-gate', maxSeverity: 'release-max-severity' });
  });
});
