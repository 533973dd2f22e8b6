/**
 * Names in URLs: a repository, a digest or a tag becomes path segments that cannot change the
 * URL's shape (no `?`, `#`, `%`, space, or a `|` or `>` that would end a Slack link), whoever wrote
 * the name.
 */

/** One path segment: percent-encoded, keeping `:` and `@` as a segment may hold them (RFC 3986 pchar). */
export function pathSegment(value: string): string {
  return encodeURIComponent(value).replace(/%3A/g, ':').replace(/%40/g, '@');
}

/** A repository name as path segments: each namespace encoded, the `/` between them kept. */
export function repositoryPath(name: string): string {
  return name.split('/').map(pathSegment).join('/');
}
