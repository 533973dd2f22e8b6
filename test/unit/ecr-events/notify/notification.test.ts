import { describe, expect, it } from 'vitest';
import { consoleLinks, imageRef, shortDigest } from '../../../../functions/ecr-events/notify/notification.ts';

const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';

describe('shortDigest', () => {
  it('keeps the first twelve hex digits after the algorithm', () => {
    expect(shortDigest(DIGEST)).toBe('7f5b2640fe6f');
  });

  it('shortens a digest without an algorithm as it is, and gives nothing for no digest', () => {
    expect(shortDigest('7f5b2640fe6fb4f46592')).toBe('7f5b2640fe6f');
    expect(shortDigest('')).toBeUndefined();
    expect(shortDigest(undefined)).toBeUndefined();
  });
});

describe('imageRef', () => {
  it('names an image by repository and tag', () => {
    expect(imageRef({ repository: 'team/web', tag: 'v1', digest: DIGEST })).toBe('team/web:v1');
  });

  it('names an untagged image by its short digest, and says it is untagged', () => {
    expect(imageRef({ repository: 'team/web', digest: DIGEST })).toBe('team/web@7f5b2640fe6f (untagged)');
  });

  it('names the repository alone without a tag or digest, and nothing without a repository', () => {
    expect(imageRef({ repository: 'team/web', tag: '' })).toBe('team/web');
    expect(imageRef({ tag: 'v1', digest: DIGEST })).toBeUndefined();
  });
});

describe('consoleLinks', () => {
  it("links the regional console's repository, image and findings pages", () => {
    expect(consoleLinks.repository('eu-west-1', '123456789012', 'team/web')).toEqual({
      label: 'Repository',
      url: 'https://eu-west-1.console.aws.amazon.com/ecr/repositories/private/123456789012/team/web?region=eu-west-1',
    });
    expect(consoleLinks.image('eu-west-1', '123456789012', 'team/web', DIGEST)).toEqual({
      label: 'Image',
      url: `https://eu-west-1.console.aws.amazon.com/ecr/repositories/private/123456789012/team/web/_/image/${DIGEST}/details?region=eu-west-1`,
    });
    expect(consoleLinks.findings('eu-west-1', '123456789012', 'team/web', DIGEST)).toEqual({
      label: 'Scan findings',
      url: `https://eu-west-1.console.aws.amazon.com/ecr/repositories/private/123456789012/team/web/_/image/${DIGEST}/scan-results?region=eu-west-1`,
    });
  });

  it('encodes the project and build id of a build link, and the key of an upload link', () => {
    expect(consoleLinks.build('eu-west-1', '123456789012', 'my project', 'my project:b/1')).toEqual({
      label: 'Build',
      url: 'https://eu-west-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/my%20project/build/my%20project%3Ab%2F1/?region=eu-west-1',
    });
    expect(consoleLinks.object('eu-west-1', 'contexts', 'team/web/v 1.tar.gz')).toEqual({
      label: 'Upload',
      url: 'https://s3.console.aws.amazon.com/s3/object/contexts?region=eu-west-1&prefix=team%2Fweb%2Fv%201.tar.gz',
    });
  });

  it('encodes the repository and the digest of the ECR links, keeping the namespaces', () => {
    const hostile = 'team/we b?x=1#top|<@U1>';
    for (const link of [
      consoleLinks.repository('eu-west-1', '123456789012', hostile),
      consoleLinks.image('eu-west-1', '123456789012', hostile, 'sha256:ab?c'),
      consoleLinks.findings('eu-west-1', '123456789012', hostile, 'sha256:ab?c'),
    ]) {
      const url = new URL(link.url);
      expect(url.host).toBe('eu-west-1.console.aws.amazon.com');
      expect([...url.searchParams]).toEqual([['region', 'eu-west-1']]);
      expect(url.hash).toBe('');
      expect(link.url).toContain('/123456789012/team/we%20b%3Fx%3D1%23top%7C%3C@U1%3E');
      expect(link.url).not.toMatch(/[ |<>]/);
    }
    expect(consoleLinks.image('eu-west-1', '1', 'team/web', 'sha256:ab?c').url).toContain(
      '/_/image/sha256:ab%3Fc/details',
    );
    expect(consoleLinks.object('eu-west-1', 'con?texts', 'k').url).toContain(
      '/s3/object/con%3Ftexts?region=',
    );
  });
});
