/** Slack Block Kit message of a notification, for an incoming webhook: readable in two seconds. */
import { imageRef, type Notification, shortDigest } from './notification.ts';
import { SEVERITIES, type Severity } from './severity.ts';
import type { SweepReport } from './sweep.ts';

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

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const code = (value: string) => `\`${escapeMrkdwn(value).replace(/`/g, "'")}\``;
const field = (label: string, value: string) => ({ type: 'mrkdwn', text: `*${label}*\n${value}` });

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

const truncate = (value: string, max: number) =>
  value.length <= max ? value : `${value.slice(0, max - 1)}…`;

function sweepBlocks(report: SweepReport): Block[] {
  const would = report.dryRun ? 'would be ' : '';
  const list = (items: { repository: string; note?: string }[], max = 10) => {
    const shown = items
      .slice(0, max)
      .map((i) => `• ${code(i.repository)}${i.note ? ` ${escapeMrkdwn(i.note)}` : ''}`);
    if (items.length > max) shown.push(`…and ${items.length - max} more`);
    return shown.join('\n');
  };
  const blocks: Block[] = [
    {
      type: 'section',
      fields: [
        field(`Marked stale`, String(report.marked.length)),
        field(`Deleted`, String(report.deleted.length)),
        field('Kept', String(report.kept)),
        field('Errors', report.errors.length > 0 ? `:x: *${report.errors.length}*` : '0'),
      ],
    },
  ];
  if (report.deleted.length > 0) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*${would}deleted*\n${list(report.deleted)}` },
    });
  }
  if (report.marked.length > 0) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${would}marked stale (deleted after the grace period unless pushed or pulled)*\n${list(report.marked)}`,
      },
    });
  }
  if (report.errors.length > 0) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*errors*\n${list(report.errors.map((e) => ({ repository: e.repository, note: e.error })))}`,
      },
    });
  }
  return blocks;
}

/** Renders `n` as a Block Kit message. */
export function renderSlack(n: Notification): SlackMessage {
  const ref = imageRef(n);
  const title = `${headerEmoji(n)} ${n.title}${n.sweep?.dryRun ? ' (dry run)' : ''}`;
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, 150), emoji: true } },
  ];
  const fields: Block[] = [];
  if (ref) fields.push(field('Image', code(ref)));
  const digest = shortDigest(n.digest);
  if (digest && n.tag) fields.push(field('Digest', code(digest)));
  if (n.build) {
    if (n.build.durationSeconds !== undefined)
      fields.push(field('Duration', formatDuration(n.build.durationSeconds)));
    if (n.build.failingPhase) fields.push(field('Failed phase', `*${escapeMrkdwn(n.build.failingPhase)}*`));
    if (n.build.buildNumber !== undefined) fields.push(field('Build', `#${n.build.buildNumber}`));
  }
  if (n.rejection) {
    fields.push(field('Code', code(n.rejection.code)));
    fields.push(field('Upload', code(`s3://${n.rejection.bucket}/${n.rejection.key}`)));
  }
  if (fields.length > 0) blocks.push({ type: 'section', fields: fields.slice(0, 10) });
  if (n.counts) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: severityLine(n.counts) } });
  if (n.rejection) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*Reason:* ${escapeMrkdwn(truncate(n.rejection.reason, 2800))}` },
    });
  }
  if (n.build?.failureMessage) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `>${escapeMrkdwn(truncate(n.build.failureMessage, 2800))}` },
    });
  }
  if (n.detail) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(n.detail) } });
  if (n.sweep) blocks.push(...sweepBlocks(n.sweep));
  if (n.links.length > 0) {
    blocks.push({
      type: 'actions',
      elements: n.links.slice(0, 5).map((link, i) => ({
        type: 'button',
        text: { type: 'plain_text', text: link.label },
        url: link.url,
        action_id: `link-${i}`,
      })),
    });
  }
  const where = [n.build ? `${n.build.project}` : undefined, n.region, n.account, n.time]
    .filter(Boolean)
    .join(' · ');
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(where) }] });
  return { text: truncate([n.title, ref].filter(Boolean).join(': '), 300), blocks };
}
