import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

/** The slice of a logger the domain code needs; Powertools' Logger satisfies it, tests pass a stub. */
export type Logger = Pick<PowertoolsLogger, 'debug' | 'info' | 'warn' | 'error'>;

/** Renders an error for a log line or a report: name and message, never a whole SDK response. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
