/**
 * IAM/ECR-style wildcards: `*` matches any run of characters (including `/`), `?` exactly one.
 * `flags` are the RegExp's (the local cloud's IAM evaluator: `i` for actions, `s` for any character).
 */
export function wildcardToRegExp(pattern: string, flags = ''): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}
