/**
 * Reading a function's environment once, at module load: each reader validates one variable and
 * throws a ConfigError that names it, so a misconfigured function fails at cold start, clearly.
 */

/** A variable is missing or invalid; the message names it. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export type Env = Record<string, string | undefined>;

/** A string; required unless a fallback is given (empty counts as unset). */
export function text(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim();
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`environment variable ${name} is required`);
}

/** An integer within [min, max]. */
export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `environment variable ${name} must be an integer from ${min} to ${max}, got "${raw}"`,
    );
  }
  return value;
}

/** One of the allowed strings. */
export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`environment variable ${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** `true` or `false`. */
export function boolean(env: Env, name: string, fallback: boolean): boolean {
  // Stryker disable next-line StringLiteral: any fallback but 'true' reads as false
  return oneOf(env, name, ['true', 'false'], fallback ? 'true' : 'false') === 'true';
}

/**
 * An IAM-style wildcard (`*`, `?`) over ECR repository names; both functions and the IAM policies
 * read the same parameter, so both check it the same way. An empty fallback means "none".
 */
export function repositoryWildcard(env: Env, name: string, fallback = '*'): string {
  const value = text(env, name, fallback);
  // Stryker disable next-line ConditionalExpression: text() returns '' only when the fallback is ''
  if (value === '' && fallback === '') return value;
  if (!/^[a-z0-9._/*?-]+$/.test(value)) {
    throw new ConfigError(
      `environment variable ${name} may hold only a-z, 0-9, ".", "_", "-", "/", "*" and "?", got "${value}"`,
    );
  }
  return value;
}

/** A comma-separated list; blanks dropped. */
export function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
