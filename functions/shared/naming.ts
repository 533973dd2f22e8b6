/**
 * The S3 key convention `<prefix><repository>/<tag>.(tar.gz|tgz|tar)` and the grammars of its parts.
 * Pure functions, shared by the build-trigger function, the command-line tool and the local cloud.
 */
import { CACHE_TAG, CACHE_TAG_PATTERN, type RejectionCode } from './contract.ts';

/** Supported context extensions (case-sensitive, like S3 notification filters); `.tar.gz` before `.tar`. */
export const CONTEXT_EXTENSIONS = ['.tar.gz', '.tgz', '.tar'] as const;
export type ContextExtension = (typeof CONTEXT_EXTENSIONS)[number];

/** Why an upload is refused: a stable code for machines and a specific reason for people. */
export interface Rejection {
  code: RejectionCode;
  reason: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

/** What a context key names. */
export interface ContextRef {
  repository: string;
  tag: string;
  extension: ContextExtension;
}

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const reject = <T>(code: RejectionCode, reason: string): Result<T> => ({
  ok: false,
  rejection: { code, reason },
});

// ECR API reference (CreateRepository): 2-256 characters of this grammar.
const REPOSITORY_PATTERN = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const REPOSITORY_MIN = 2;
const REPOSITORY_MAX = 256;
// distribution/reference: narrower than what ECR accepts (1-300 characters), so every registry takes it.
const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const TAG_MAX = 128;

/** Decodes a key as S3 event notifications encode it: `+` is a space, then percent-encoding. */
export function decodeS3Key(raw: string): Result<string> {
  try {
    return ok(decodeURIComponent(raw.replace(/\+/g, ' ')));
  } catch {
    return reject(
      'InvalidKey',
      `the object key "${raw}" has a malformed percent-encoding and cannot be decoded`,
    );
  }
}

/** Checks a repository name against ECR's grammar; undefined when it is valid. */
export function checkRepositoryName(name: string): Rejection | undefined {
  const bad = (reason: string): Rejection => ({
    code: 'InvalidRepositoryName',
    reason: `repository name "${name}" ${reason}`,
  });
  if (name.length < REPOSITORY_MIN || name.length > REPOSITORY_MAX) {
    return bad(`is ${name.length} characters long; ECR allows ${REPOSITORY_MIN} to ${REPOSITORY_MAX}`);
  }
  if (REPOSITORY_PATTERN.test(name)) return undefined;
  if (/[A-Z]/.test(name)) return bad('has upper-case letters; ECR repository names are lower case');
  const other = name.match(/[^a-z0-9._/-]/);
  if (other) {
    return bad(`contains "${other[0]}"; only a-z, 0-9, ".", "_", "-" and "/" between namespaces are allowed`);
  }
  if (name.split('/').some((part) => part === '')) {
    return bad('has an empty path component (a leading, trailing or doubled "/")');
  }
  return bad('has a component that starts or ends with ".", "_" or "-", or has two of them in a row');
}

/** Checks an image tag against the Docker reference grammar; undefined when it is valid. */
export function checkTag(tag: string): Rejection | undefined {
  const bad = (reason: string): Rejection => ({ code: 'InvalidTag', reason: `tag "${tag}" ${reason}` });
  if (tag.length === 0) return bad('is empty');
  if (tag.length > TAG_MAX) return bad(`is ${tag.length} characters long; at most ${TAG_MAX} are allowed`);
  // CACHE_TAG_PATTERN is CACHE_TAG followed by anything: those tags stay mutable, never a release.
  if (tag.startsWith(CACHE_TAG))
    return bad(`is reserved: tags matching "${CACHE_TAG_PATTERN}" hold the build cache`);
  if (TAG_PATTERN.test(tag)) return undefined;
  const other = tag.match(/[^A-Za-z0-9_.-]/);
  if (other) return bad(`contains "${other[0]}"; only letters, digits, "_", "." and "-" are allowed`);
  return bad('must start with a letter, a digit or "_"');
}

/**
 * Parses a decoded key under `prefix` into repository, tag and extension, or says precisely why not.
 * A key outside the prefix is an `InvalidKey` rejection; callers that ignore such keys check first.
 */
export function parseContextKey(key: string, prefix = ''): Result<ContextRef> {
  const shape = `expected "${prefix}<repository>/<tag>.tar.gz" (or .tgz, .tar)`;
  if (!key.startsWith(prefix)) return reject('InvalidKey', `the key "${key}" is not under "${prefix}"`);
  const rest = key.slice(prefix.length);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0) {
    return reject('InvalidKey', `the key "${key}" names no repository; ${shape}`);
  }
  const repository = rest.slice(0, slash);
  const file = rest.slice(slash + 1);
  const extension = CONTEXT_EXTENSIONS.find((ext) => file.endsWith(ext));
  if (!extension) {
    const dot = file.indexOf('.');
    const found = dot >= 0 ? `ends in "${file.slice(dot)}"` : 'has no extension';
    return reject(
      'UnsupportedExtension',
      `the key "${key}" ${found}; a build context is a tarball: ${CONTEXT_EXTENSIONS.join(', ')}`,
    );
  }
  const tag = file.slice(0, file.length - extension.length);
  const badRepository = checkRepositoryName(repository);
  if (badRepository) return { ok: false, rejection: badRepository };
  const badTag = checkTag(tag);
  if (badTag) return { ok: false, rejection: badTag };
  return ok({ repository, tag, extension });
}

/**
 * The other keys that name the same image as `key`: `api/v1.tgz`, `api/v1.tar.gz` and `api/v1.tar`
 * all build `api:v1`, so whichever was uploaded last is the newest upload of that image.
 */
export function sameImageKeys(key: string): string[] {
  const extension = CONTEXT_EXTENSIONS.find((ext) => key.endsWith(ext));
  if (!extension) return [];
  const stem = key.slice(0, key.length - extension.length);
  return CONTEXT_EXTENSIONS.filter((ext) => ext !== extension).map((ext) => `${stem}${ext}`);
}

/** Decodes a key from an S3 event record and parses it (see decodeS3Key and parseContextKey). */
export function parseEventKey(rawKey: string, prefix = ''): Result<ContextRef & { key: string }> {
  const decoded = decodeS3Key(rawKey);
  if (!decoded.ok) return decoded;
  const parsed = parseContextKey(decoded.value, prefix);
  return parsed.ok ? ok({ ...parsed.value, key: decoded.value }) : parsed;
}

/** The object key for `repository:tag` under `prefix`; the reverse of parseContextKey. Throws on invalid names. */
export function contextKey(
  prefix: string,
  repository: string,
  tag: string,
  extension: ContextExtension = '.tar.gz',
): string {
  const bad = checkRepositoryName(repository) ?? checkTag(tag);
  if (bad) throw new RangeError(bad.reason);
  return `${prefix}${repository}/${tag}${extension}`;
}
