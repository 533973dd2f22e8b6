import { describe, expect, it } from 'vitest';
import { pathSegment, repositoryPath } from '../../../functions/shared/url.ts';

const HOSTILE = 'we b?x=1#top|<@U1>%2F..';

describe('names in URLs', () => {
  it('leaves a name of the ECR grammar and a digest as they are', () => {
    expect(repositoryPath('team-a/api.v2/web_1')).toBe('team-a/api.v2/web_1');
    expect(pathSegment('sha256:7f5b2640fe6f')).toBe('sha256:7f5b2640fe6f');
    expect(pathSegment('user@host')).toBe('user@host');
  });

  it('encodes every character that could change the shape of the URL or end a Slack link', () => {
    expect(pathSegment(HOSTILE)).toBe('we%20b%3Fx%3D1%23top%7C%3C@U1%3E%252F..');
    expect(pathSegment('a/b')).toBe('a%2Fb');
  });

  it('keeps the slashes between namespaces and encodes each namespace', () => {
    expect(repositoryPath(`team/${HOSTILE}`)).toBe(`team/${pathSegment(HOSTILE)}`);
    const url = new URL(`https://example.com/r/${repositoryPath(`team/${HOSTILE}`)}?region=x`);
    expect(url.search).toBe('?region=x');
    expect(url.hash).toBe('');
    expect(decodeURIComponent(url.pathname)).toBe(`/r/team/${HOSTILE}`);
  });
});
