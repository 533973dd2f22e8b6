import { describe, expect, it } from 'vitest';
import { parseImageUri } from '../../../functions/ecr-events/in-use.ts';

const digest = `sha256:${'c'.repeat(64)}`;

describe('ECR image references', () => {
  it.each([
    [
      'by tag',
      '123456789012.dkr.ecr.us-west-2.amazonaws.com/web:v1',
      { repository: 'web', tag: 'v1', digest: undefined },
    ],
    [
      'by digest',
      `123456789012.dkr.ecr.us-west-2.amazonaws.com/team/web@${digest}`,
      { repository: 'team/web', tag: undefined, digest },
    ],
    [
      'by tag and digest',
      `123456789012.dkr.ecr.us-west-2.amazonaws.com/a/b/c:v2@${digest}`,
      { repository: 'a/b/c', tag: 'v2', digest },
    ],
    [
      'without a tag',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/web',
      { repository: 'web', tag: undefined },
    ],
    ['in China', '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web:v1', { repository: 'web', tag: 'v1' }],
    [
      'through a FIPS endpoint',
      '123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/web:v1',
      { repository: 'web' },
    ],
  ])('reads a reference %s', (_, uri, expected) => {
    expect(parseImageUri(uri, 'lambda:f')).toMatchObject({
      registry: '123456789012',
      user: 'lambda:f',
      ...expected,
    });
  });

  it.each(['nginx:latest', 'public.ecr.aws/nginx/nginx:1.27', 'ghcr.io/org/app@sha256:abc', ''])(
    'ignores an image outside private ECR (%s)',
    (uri) => {
      expect(parseImageUri(uri, 'ecs:web:1')).toBeUndefined();
    },
  );
});
