/**
 * The local clock: the stack's scheduled rules fire their functions every period (a `rate()`
 * expression's own, or a fixed test interval), or on demand with `fire()`, with the event
 * EventBridge Scheduler would send (or the target's constant Input).
 */
import { ACCOUNT_ID } from '../shared/local-cloud.ts';
import type { ScheduledRule } from './deployer.ts';

/** Milliseconds in a `rate(N unit)` schedule expression; undefined for cron(). */
export function ratePeriodMs(expression: string): number | undefined {
  const match = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) return undefined;
  const unit = match[2]?.startsWith('minute')
    ? 60_000
    : match[2]?.startsWith('hour')
      ? 3_600_000
      : 86_400_000;
  return Number(match[1]) * unit;
}

/** The event a scheduled rule delivers: its target's Input, or a `Scheduled Event`. */
export function scheduledEvent(rule: ScheduledRule, region: string, now = new Date()): unknown {
  return (
    rule.input ?? {
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: ACCOUNT_ID,
      time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: [rule.ruleArn],
      detail: {},
    }
  );
}

/** The scheduled rules of the stack and their timers. */
export class LocalClock {
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly rules: ScheduledRule[],
    private readonly region: string,
    private readonly invokeAsync: (functionKey: string, event: unknown) => Promise<unknown>,
  ) {}

  /** Starts a timer per rule: every `intervalMs`, or the rule's rate; 0 or a cron rule: none. */
  start(intervalMs?: number): void {
    for (const rule of this.rules) {
      const period = intervalMs ?? ratePeriodMs(rule.expression);
      if (!period) continue;
      const timer = setInterval(
        () => void this.invokeAsync(rule.functionKey, scheduledEvent(rule, this.region)),
        period,
      );
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** Fires every rule that targets `functionKey` now. */
  async fire(functionKey: string): Promise<void> {
    const rules = this.rules.filter((s) => s.functionKey === functionKey);
    if (rules.length === 0) throw new Error(`no scheduled rule targets ${functionKey} in the template`);
    await Promise.all(
      rules.map((rule) => this.invokeAsync(rule.functionKey, scheduledEvent(rule, this.region))),
    );
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }
}
