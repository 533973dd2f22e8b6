/**
 * CodeBuild's state-change events write times as `Sep 1, 2017 4:12:29 PM` (UTC), not ISO 8601.
 * Parsed here by hand: `Date.parse` of that form depends on the engine and the local time zone.
 */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const PATTERN = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP]M)$/;

/** Milliseconds since the epoch, or undefined when `value` is not a CodeBuild or ISO time. */
export function parseCodeBuildTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = PATTERN.exec(value.trim());
  if (!match) {
    const iso = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : Number.NaN;
    return Number.isNaN(iso) ? undefined : iso;
  }
  const [, mon, day, year, hour, minute, second, half] = match;
  const month = MONTHS.indexOf(mon as string);
  if (month < 0) return undefined;
  const h12 = Number(hour) % 12;
  const h24 = half === 'PM' ? h12 + 12 : h12;
  return Date.UTC(Number(year), month, Number(day), h24, Number(minute), Number(second));
}
