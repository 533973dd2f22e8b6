/** Slack Block Kit message of a notification, for an incoming webhook: readable in two seconds. */

import { SEVERITIES, type Severity } from '../../shared/severity.ts';
import { replicaNote, type SweepReport } from '../sweep/report.ts';
import { imageRef, type LogExcerpt, type Notification, shortDigest } from './notification.ts';
import { codeSpan, cutEscaped, cutPlain, escapeMrkdwn, fitBlocks, fitLines, mrkdwn, SLACK } from './text.ts';

type Block = Record<string, unknown>;
export interface SlackMessage {
  /** Fallback for notifications and screen readers. */
  text: string;
  blocks: Block[];
}

const SEVERITY_EMOJI: Record<Severity, string> = {
  CRITICAL: ':red_circle:',
  HIGH: ':large_orange_circle:',
  MEDIUM: ':large_yellow_circle:',
  LOW: ':large_blue_circle:',
  INFORMATIONAL: ':white_circle:',
  UNDEFINED: ':white_circle:',
};
const OUTCOME_EMOJI = {
  success: ':white_check_mark:',
  failure: ':x:',
  warning: ':warning:',
  info: ':information_source:',
};

export { escapeMrkdwn };

/**
 * A mrkdwn text object. `verbatim`: Slack turns nothing in it into a link or a mention by itself
 * (a bare URL in a key or a log line stays text); only what we write as `<url|label>` would be one,
 * and every user text is escaped (text.ts), so none is.
 */
const text = (value: string) => ({ type: 'mrkdwn', text: value, verbatim: true });

/** A field: bold label, then a value that fits in what the label leaves of SLACK.field. */
const field = (label: string, value: (room: number) => string) => {
  const head = `*${label}*\n`;
  return text(head + value(SLACK.field - head.length));
};
const codeField = (label: string, raw: string) => field(label, (room) => codeSpan(raw, room));
const section = (value: string) => ({ type: 'section', text: text(value) });

/** A user-controlled line of a list: escaped and short enough that a list shows several. */
const LIST_ITEM = 300;
/** A log line in the excerpt. */
const LOG_LINE = 300;

/** `1h 02m 03s`, `4m 05s`, `42s`. */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

/** The severity line: every non-zero count, the worst first, in bold with its colour. */
export function severityLine(counts: Partial<Record<Severity, number>>): string {
  const present = SEVERITIES.filter((s) => (counts[s] ?? 0) > 0);
  if (present.length === 0) return ':white_check_mark: no findings';
  return present
    .map((s, i) => (i === 0 ? `${SEVERITY_EMOJI[s]} *${s} ${counts[s]}*` : `${s} ${counts[s]}`))
    .join('  ·  ');
}

function headerEmoji(n: Notification): string {
  if (n.kind === 'scan' && n.outcome !== 'failure')
    return n.severity ? SEVERITY_EMOJI[n.severity] : OUTCOME_EMOJI.success;
  return OUTCOME_EMOJI[n.outcome];
}

function sweepBlocks(report: SweepReport): Block[] {
  const would = report.dryRun ? 'would be ' : '';
  const list = (heading: string, items: { repository: string; note?: string }[], max = 10) => {
    const lines = items.slice(0, max).map((i) => {
      const name = `• ${codeSpan(i.repository, LIST_ITEM / 2)}`;
      return i.note ? `${name} ${mrkdwn(i.note, LIST_ITEM - name.length - 1)}` : name;
    });
    const more = (n: number) => `…and ${n} more`;
    return fitLines(heading, lines, SLACK.sectionText, more, items.length - lines.length);
  };
  const count = (n: number) => () => String(n);
  const blocks: Block[] = [
    {
      type: 'section',
      fields: [
        field('Marked stale', count(report.marked.length)),
        field('Deleted', count(report.deleted.length)),
        field('Kept', count(report.kept)),
        field('Errors', () => (report.errors.length > 0 ? `:x: *${report.errors.length}*` : '0')),
      ],
    },
  ];
  if (report.deleted.length > 0) blocks.push(section(list(`*${would}deleted*`, report.deleted)));
  if (report.marked.length > 0) {
    blocks.push(
      section(
        list(
          `*${would}marked stale (deleted after the grace period unless pushed or pulled)*`,
          report.marked,
        ),
      ),
    );
  }
  const replicas = replicaNote(report);
  if (replicas) blocks.push(section(`:warning: ${mrkdwn(replicas, SLACK.sectionText - 10)}`));
  if (report.errors.length > 0) {
    blocks.push(
      section(
        list(
          '*errors*',
          report.errors.map((e) => ({ repository: e.repository, note: e.error })),
        ),
      ),
    );
  }
  return blocks;
}

/** Why a failed build stopped: the pipeline's verdict, else the last lines of the build's output, quoted as output. */
function logBlocks(log: LogExcerpt): Block[] {
  const blocks: Block[] = [];
  if (log.reason) blocks.push(section(`*Reason:* ${mrkdwn(log.reason, SLACK.sectionText - 10)}`));
  else {
    const heading = "*Last lines of the build's output*";
    const fence = '```';
    // The end of the log is what matters: drop lines from the start until the block fits.
    // An empty tail joins to '', which is left out below.
    const lines = log.tail.map((line) => cutEscaped(escapeMrkdwn(line).replace(/```/g, "'''"), LOG_LINE));
    const room = SLACK.sectionText - heading.length - 2 * fence.length - 3;
    let body = lines.join('\n');
    while (body.length > room) body = body.slice(body.indexOf('\n') + 1 || body.length);
    if (body !== '') blocks.push(section(`${heading}\n${fence}${body}${fence}`));
  }
  if (log.unavailable) blocks.push(section(`_${mrkdwn(log.unavailable, SLACK.sectionText - 2)}_`));
  return blocks;
}

/** Renders `n` as a Block Kit message within every Slack limit (text.ts). */
export function renderSlack(n: Notification): SlackMessage {
  const ref = imageRef(n);
  const title = `${headerEmoji(n)} ${n.title}${n.sweep?.dryRun ? ' (dry run)' : ''}`;
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: cutPlain(title, SLACK.header), emoji: true } },
  ];
  const fields: Block[] = [];
  if (ref) fields.push(codeField('Image', ref));
  const digest = shortDigest(n.digest);
  if (digest && n.tag) fields.push(codeField('Digest', digest));
  if (n.build) {
    const { durationSeconds, failingPhase, buildNumber } = n.build;
    if (durationSeconds !== undefined) fields.push(field('Duration', () => formatDuration(durationSeconds)));
    if (failingPhase) fields.push(field('Failed phase', (room) => `*${mrkdwn(failingPhase, room - 2)}*`));
    if (buildNumber !== undefined) fields.push(field('Build', () => `#${buildNumber}`));
  }
  if (n.rejection) {
    fields.push(codeField('Code', n.rejection.code));
    fields.push(codeField('Upload', `s3://${n.rejection.bucket}/${n.rejection.key}`));
  }
  // Stryker disable next-line MethodExpression: at most seven fields are pushed above, fewer than SLACK.fields
  if (fields.length > 0) blocks.push({ type: 'section', fields: fields.slice(0, SLACK.fields) });
  if (n.counts) blocks.push(section(severityLine(n.counts)));
  if (n.rejection) blocks.push(section(`*Reason:* ${mrkdwn(n.rejection.reason, SLACK.sectionText - 10)}`));
  if (n.build?.failureMessage)
    blocks.push(section(`>${mrkdwn(n.build.failureMessage, SLACK.sectionText - 1)}`));
  if (n.build?.log) blocks.push(...logBlocks(n.build.log));
  if (n.detail) blocks.push(section(mrkdwn(n.detail, SLACK.sectionText)));
  if (n.sweep) blocks.push(...sweepBlocks(n.sweep));
  // A URL over Slack's limit would make it refuse the whole message: such a link is left out.
  const links = n.links.filter((link) => link.url.length <= SLACK.url).slice(0, 5);
  if (links.length > 0) {
    blocks.push({
      type: 'actions',
      elements: links.map((link, i) => ({
        type: 'button',
        text: { type: 'plain_text', text: cutPlain(link.label, SLACK.buttonText) },
        url: link.url,
        action_id: `link-${i}`,
      })),
    });
  }
  const where = [n.build ? `${n.build.project}` : undefined, n.region, n.account, n.time]
    .filter(Boolean)
    .join(' · ');
  blocks.push({ type: 'context', elements: [text(mrkdwn(where, SLACK.contextText))] });
  return {
    text: mrkdwn([n.title, ref].filter(Boolean).join(': '), SLACK.text),
    blocks: fitBlocks(blocks),
  };
}
