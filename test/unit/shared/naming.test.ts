import { describe, expect, it } from 'vitest';
import {
  checkRepositoryName,
  checkTag,
  contextKey,
  decodeS3Key,
  parseContextKey,
  parseEventKey,
  sameImageKeys,
} from '../../../functions/shared/naming.ts';

describe('checkRepositoryName', () => {
  it.each([
    'ab',
    'api',
    'team-a/api',
    'my-team/web.app/api_v2',
    'a/b/c',
    'my.app_x-y',
    'a0/b1.c2',
    'x'.repeat(256),
  ])('accepts %s', (name) => {
    expect(checkRepositoryName(name)).toBeUndefined();
  });

  it.each([
    ['a', '1 characters long'],
    ['x'.repeat(257), '257 characters long'],
    ['Team/api', 'upper-case'],
    ['team a/api', 'contains " "'],
    ['team:api', 'contains ":"'],
    ['/api', 'empty path component'],
    ['api/', 'empty path component'],
    ['team//api', 'empty path component'],
    ['-api', 'starts or ends'],
    ['api-', 'starts or ends'],
    ['a..b', 'two of them in a row'],
  ])('rejects %s with a specific reason', (name, reason) => {
    const rejection = checkRepositoryName(name);
    expect(rejection?.code).toBe('InvalidRepositoryName');
    expect(rejection?.reason).toContain(reason);
  });
});

describe('checkTag', () => {
  it.each([
    'v1.2.3',
    'latest',
    '_x',
    '1',
    'A-b_c.d',
    'x'.repeat(128),
    'ecr-pipeline-cach',
    'my-ecr-pipeline-cache',
  ])('accepts %s', (tag) => {
    expect(checkTag(tag)).toBeUndefined();
  });

  it.each([
    ['', 'is empty'],
    ['x'.repeat(129), '129 characters long'],
    ['.hidden', 'must start with'],
    ['-rc', 'must start with'],
    ['v1+build', 'contains "+"'],
    ['v 1', 'contains " "'],
    // The build cache's tag stays mutable: a release under it could be moved by any later build.
    ['ecr-pipeline-cache', 'is reserved'],
    ['ecr-pipeline-cache-v1', 'is reserved'],
  ])('rejects "%s" with a specific reason', (tag, reason) => {
    const rejection = checkTag(tag);
    expect(rejection?.code).toBe('InvalidTag');
    expect(rejection?.reason).toContain(reason);
  });
});

describe('decodeS3Key', () => {
  it('turns + into a space before percent-decoding, so %2B stays a plus', () => {
    expect(decodeS3Key('a+b%2Bc%2Fd')).toEqual({ ok: true, value: 'a b+c/d' });
  });

  it('rejects a malformed percent-escape instead of throwing', () => {
    const result = decodeS3Key('team/api/v1%ZZ.tar.gz');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection.code).toBe('InvalidKey');
      expect(result.rejection.reason).toContain('malformed percent-encoding');
    }
  });
});

describe('parseContextKey', () => {
  it.each([
    ['team-a/api/v1.2.3.tar.gz', 'team-a/api', 'v1.2.3', '.tar.gz'],
    ['web/1.0.tgz', 'web', '1.0', '.tgz'],
    ['web/1.0.tar', 'web', '1.0', '.tar'],
    ['web/1.0.tar.gz.tar', 'web', '1.0.tar.gz', '.tar'],
  ])('parses %s', (key, repository, tag, extension) => {
    expect(parseContextKey(key)).toEqual({ ok: true, value: { repository, tag, extension } });
  });

  it('strips the configured prefix', () => {
    expect(parseContextKey('contexts/team/api/v1.tar.gz', 'contexts/')).toEqual({
      ok: true,
      value: { repository: 'team/api', tag: 'v1', extension: '.tar.gz' },
    });
  });

  it.each([
    ['other/api/v1.tar.gz', 'contexts/', 'InvalidKey', 'is not under "contexts/"'],
    ['v1.tar.gz', '', 'InvalidKey', 'names no repository'],
    ['/v1.tar.gz', '', 'InvalidKey', 'names no repository'],
    [
      'contexts/v1.tar.gz',
      'contexts/',
      'InvalidKey',
      'expected "contexts/<repository>/<tag>.tar.gz" (or .tgz, .tar)',
    ],
    ['api/v1.zip', '', 'UnsupportedExtension', 'a build context is a tarball: .tar.gz, .tgz, .tar'],
    ['api/.env', '', 'UnsupportedExtension', 'ends in ".env"'],
    ['api/v1.zip', '', 'UnsupportedExtension', 'ends in ".zip"'],
    ['api/v1.TAR.GZ', '', 'UnsupportedExtension', 'ends in ".TAR.GZ"'],
    ['api/Dockerfile', '', 'UnsupportedExtension', 'has no extension'],
    ['API/v1.tar.gz', '', 'InvalidRepositoryName', 'upper-case'],
    ['api/.tar.gz', '', 'InvalidTag', 'is empty'],
    ['api/-x.tgz', '', 'InvalidTag', 'must start with'],
  ])('rejects %s (prefix "%s") as %s', (key, prefix, code, reason) => {
    const result = parseContextKey(key, prefix);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection.code).toBe(code);
      expect(result.rejection.reason).toContain(reason);
    }
  });
});

describe('parseEventKey', () => {
  it('decodes then parses, returning the decoded key', () => {
    expect(parseEventKey('team%2Fapi/v1%2E0.tar.gz')).toEqual({
      ok: true,
      value: { repository: 'team/api', tag: 'v1.0', extension: '.tar.gz', key: 'team/api/v1.0.tar.gz' },
    });
  });

  it('rejects a key whose space (encoded +) makes the tag invalid', () => {
    const result = parseEventKey('api/my+tag.tar.gz');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.rejection).toMatchObject({ code: 'InvalidTag' });
  });

  it('rejects a malformed escape', () => {
    const result = parseEventKey('api/%E0%A4%A.tar.gz');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.rejection.code).toBe('InvalidKey');
  });
});

describe('contextKey', () => {
  it('builds the key that parseContextKey reads back', () => {
    const key = contextKey('contexts/', 'team/api', 'v1.2.3', '.tgz');
    expect(key).toBe('contexts/team/api/v1.2.3.tgz');
    expect(parseContextKey(key, 'contexts/')).toEqual({
      ok: true,
      value: { repository: 'team/api', tag: 'v1.2.3', extension: '.tgz' },
    });
  });

  it('defaults to .tar.gz and refuses invalid names', () => {
    expect(contextKey('', 'api', 'v1')).toBe('api/v1.tar.gz');
    expect(() => contextKey('', 'API', 'v1')).toThrow(/upper-case/);
    expect(() => contextKey('', 'api', '-v1')).toThrow(/must start with/);
  });
});

describe('sameImageKeys', () => {
  it('names the keys of the same image under the other context extensions', () => {
    expect(sameImageKeys('ci/api/v1.tar.gz')).toEqual(['ci/api/v1.tgz', 'ci/api/v1.tar']);
    expect(sameImageKeys('api/v1.tgz')).toEqual(['api/v1.tar.gz', 'api/v1.tar']);
    expect(sameImageKeys('api/v1.tar')).toEqual(['api/v1.tar.gz', 'api/v1.tgz']);
    expect(sameImageKeys('api/v1.zip')).toEqual([]);
  });
});
