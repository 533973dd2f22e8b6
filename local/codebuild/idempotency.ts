/**
 * StartBuild's idempotency tokens: within five minutes, a token used again with the same parameters
 * names the build it started; with other parameters it is refused.
 */
import { createHash } from 'node:crypto';
import { CodeBuildError } from './model.ts';

export const IDEMPOTENCY_WINDOW_MS = 5 * 60_000;

/** The tokens seen, with a hash of the parameters each came with and the build it started. */
export class IdempotencyTokens {
  private readonly seen = new Map<string, { hash: string; at: number; id: string }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The build id an earlier use of the token started, if any; throws on other parameters. */
  check(token: string, hash: string): string | undefined {
    const seen = this.seen.get(token);
    if (!seen || this.now() - seen.at >= IDEMPOTENCY_WINDOW_MS) return undefined;
    if (seen.hash !== hash) {
      throw new CodeBuildError(
        'InvalidInputException',
        `Idempotency token ${token} was already used with different parameters within the last 5 minutes`,
      );
    }
    return seen.id;
  }

  remember(token: string, hash: string, id: string): void {
    this.seen.set(token, { hash, at: this.now(), id });
  }
}

/** The hash of the parameters a token was used with: all of the input but the token itself. */
export function parametersHash(input: Record<string, unknown>): string {
  const { idempotencyToken: _ignored, ...rest } = input;
  return createHash('sha256').update(stableJson(rest)).digest('hex');
}

/** JSON with object keys sorted, so that equal inputs hash alike. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
