/**
 * User text in notifications: escaped first, then cut to the channel's limits, never cut inside an
 * escape sequence. Every renderer goes through these helpers, so that no key, name, tag, reason or
 * log line can mention a channel, link somewhere or make Slack refuse the whole message.
 */

/** Slack Block Kit limits the Slack renderer holds (characters, or counts). */
export const SLACK = {
  /** Section `text`. */
  sectionText: 3000,
  /** One section field, and at most `fields` of them per section. */
  field: 2000,
  fields: 10,
  /** Header `plain_text`. */
  header: 150,
  /** Blocks per message. */
  blocks: 50,
  /** A context block's text element (a text object holds at most 3,000). */
  contextText: 3000,
  /** A button's `plain_text` label and its `url`. */
  buttonText: 75,
  url: 3000,
  /**
   * Our cap on the top-level `text` (the push notification preview). Slack itself truncates above
   * 40,000 characters; a preview needs one line.
   */
  text: 300,
} as const;

/** Escapes the three characters Slack's mrkdwn (and the chat markdown) treats as control characters. */
export function escapeMrkdwn(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Longest entity escapeMrkdwn writes (`&amp;`). */
const LONGEST_ENTITY = 5;

/**
 * Cuts already-escaped text to at most `max` characters, ending in `…` when cut. Never leaves half
 * an entity (`&am`) or half a surrogate pair at the end.
 */
export function cutEscaped(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  if (max < 1) return '';
  let end = max - 1;
  const amp = escaped.lastIndexOf('&', end - 1);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: an entity starting LONGEST_ENTITY or more before the cut ends before it
  if (amp >= 0 && amp > end - LONGEST_ENTITY) {
    const semi = escaped.indexOf(';', amp);
    // Stryker disable next-line ConditionalExpression,EqualityOperator,UnaryOperator: escaped text closes every entity with ";"
    if (semi === -1 || semi >= end) end = amp;
  }
  const last = escaped.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${escaped.slice(0, end)}…`;
}

/** Plain text (no escaping: a Slack `plain_text` object, an email line) cut to `max` characters. */
export function cutPlain(value: string, max: number): string {
  if (value.length <= max) return value;
  if (max < 1) return '';
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}…`;
}

/** User text as mrkdwn: escaped, then cut to `max`. */
export function mrkdwn(value: string, max: number): string {
  return cutEscaped(escapeMrkdwn(value), max);
}

/** User text as an inline code span of at most `max` characters, closing backtick kept. */
export function codeSpan(value: string, max: number): string {
  return `\`${cutEscaped(escapeMrkdwn(value).replace(/`/g, "'"), max - 2)}\``;
}

/**
 * `heading` then as many of `lines` as fit in `max` characters (one a line), then `more(n)` for the
 * n lines left out (plus `hidden` more that were never offered). Lines must already be escaped.
 */
export function fitLines(
  heading: string,
  lines: readonly string[],
  max: number,
  more: (n: number) => string,
  hidden = 0,
): string {
  let text = heading;
  for (const [i, line] of lines.entries()) {
    const rest = lines.length - i - 1 + hidden;
    // Room for this line and, when some stay out, for the "and n more" line after it.
    const tail = rest > 0 ? 1 + more(rest).length : 0;
    if (text.length + 1 + line.length + tail > max) return `${text}\n${more(lines.length - i + hidden)}`;
    text += `\n${line}`;
  }
  return hidden > 0 ? `${text}\n${more(hidden)}` : text;
}

/** At most SLACK.blocks blocks: the first ones and the last (the context line). */
export function fitBlocks<T>(blocks: readonly T[]): T[] {
  // Stryker disable next-line EqualityOperator: at exactly SLACK.blocks, the first ones and the last are all of them
  if (blocks.length <= SLACK.blocks) return [...blocks];
  return [...blocks.slice(0, SLACK.blocks - 1), blocks.at(-1) as T];
}
