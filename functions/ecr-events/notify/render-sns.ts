/**
 * SNS message of a notification: a short ASCII subject, a plain-text body for email, an Amazon Q
 * Developer (chat applications) custom notification for HTTPS subscribers, and message attributes
 * for subscription filter policies.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { SEVERITIES } from '../../shared/severity.ts';
import { replicaNote } from '../sweep/report.ts';
import { imageRef, type Notification, shortDigest } from './notification.ts';
import { formatDuration } from './render-slack.ts';
import { cutEscaped, cutPlain, escapeMrkdwn } from './text.ts';

export interface SnsMessage {
  subject: string;
  /** `MessageStructure: 'json'`: `default` (email, SQS, Lambda...) and `https` (Amazon Q Developer). */
  message: string;
  text: string;
  attributes: Record<string, MessageAttributeValue>;
}

/** SNS subjects: at most 100 printable ASCII characters, no line breaks. */
export function toSubject(value: string): string {
  const ascii = value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/gu, '?')
    .trim();
  return ascii.length <= 100 ? ascii : `${ascii.slice(0, 97)}...`;
}

/** Caps of user text in the plain-text body: enough to act on, never a runaway message. */
const PLAIN = { line: 2000, item: 300, logLine: 300 } as const;
/** Caps of the chat notification (Amazon Q Developer renders it in Slack or Teams). */
const CHAT = { description: 8000, summary: 300 } as const;

/** Message attribute values cannot be empty. */
const attribute = (value: string | undefined): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: value || 'none',
});

/** The plain-text body: one fact a line, links last. User text is capped here, not escaped. */
export function plainText(n: Notification): string {
  const lines = [n.title + (n.sweep?.dryRun ? ' (dry run)' : ''), ''];
  const capped = (label: string, value: string) => lines.push(`${label}${cutPlain(value, PLAIN.line)}`);
  const ref = imageRef(n);
  if (ref) capped('Image:      ', ref);
  if (n.digest) lines.push(`Digest:     ${n.digest}`);
  const counts = n.counts;
  if (counts) {
    const present = SEVERITIES.filter((s) => (counts[s] ?? 0) > 0);
    lines.push(
      `Findings:   ${present.length === 0 ? 'none' : present.map((s) => `${s} ${counts[s]}`).join(', ')}`,
    );
  }
  if (n.build) {
    lines.push(`Build:      ${n.build.id} (${n.build.status})`);
    if (n.build.durationSeconds !== undefined)
      lines.push(`Duration:   ${formatDuration(n.build.durationSeconds)}`);
    if (n.build.failingPhase) capped('Failed in:  ', n.build.failingPhase);
    if (n.build.failureMessage) capped('Message:    ', n.build.failureMessage);
    const log = n.build.log;
    if (log?.reason) capped('Reason:     ', log.reason);
    else if (log && log.tail.length > 0) {
      lines.push(`Last lines of the log:`);
      for (const line of log.tail) lines.push(`  | ${cutPlain(line, PLAIN.logLine)}`);
    }
    if (log?.unavailable) capped('', log.unavailable);
  }
  if (n.rejection) {
    capped('Upload:     ', `s3://${n.rejection.bucket}/${n.rejection.key}`);
    capped('Code:       ', n.rejection.code);
    capped('Reason:     ', n.rejection.reason);
  }
  if (n.detail) capped('', n.detail);
  if (n.sweep) {
    const s = n.sweep;
    const would = s.dryRun ? 'would be ' : '';
    lines.push(`Repositories looked at: ${s.candidates}`);
    lines.push(
      `Marked stale: ${s.marked.length}, deleted: ${s.deleted.length}, kept: ${s.kept}, errors: ${s.errors.length}`,
    );
    const section = (label: string, items: { repository: string; note?: string }[]) => {
      if (items.length === 0) return;
      lines.push('', `${label}:`);
      for (const item of items.slice(0, 50))
        lines.push(`  - ${cutPlain(`${item.repository}${item.note ? ` ${item.note}` : ''}`, PLAIN.item)}`);
      if (items.length > 50) lines.push(`  ...and ${items.length - 50} more`);
    };
    section(`${would}deleted`, s.deleted);
    const replicas = replicaNote(s);
    if (replicas) lines.push('', replicas);
    section(`${would}marked stale (deleted after the grace period unless pushed or pulled)`, s.marked);
    section(
      'errors',
      s.errors.map((e) => ({ repository: e.repository, note: e.error })),
    );
  }
  lines.push('', `Account ${n.account || '-'}, region ${n.region}, ${n.time}`);
  if (n.links.length > 0) {
    lines.push('');
    for (const link of n.links) lines.push(`${link.label}: ${link.url}`);
  }
  return lines.join('\n');
}

/** Amazon Q Developer in chat applications custom notification (schema version 1.0). */
export function chatNotification(n: Notification, text: string): Record<string, unknown> {
  const ref = imageRef(n);
  // The description is markdown that Amazon Q Developer posts into the chat: user text in it is
  // escaped (no mention, no link) and then capped, like the Slack message.
  const description = text
    .split('\n')
    .slice(2)
    .filter((line) => !n.links.some((l) => line.endsWith(l.url)));
  return {
    version: '1.0',
    source: 'custom',
    content: {
      textType: 'client-markdown',
      title: escapeMrkdwn(n.title + (n.sweep?.dryRun ? ' (dry run)' : '')),
      description: cutEscaped(escapeMrkdwn(description.join('\n').trim()), CHAT.description),
      nextSteps: n.links.map((link) => escapeMrkdwn(`${link.label}: ${link.url}`)),
      keywords: [n.kind, n.outcome, ...(n.severity ? [n.severity] : [])],
    },
    metadata: {
      summary: cutEscaped(escapeMrkdwn([n.title, ref].filter(Boolean).join(': ')), CHAT.summary),
      eventType: n.kind,
      relatedResources: n.repository
        ? [`arn:aws:ecr:${n.region}:${n.account}:repository/${n.repository}`]
        : [],
      additionalContext: {
        repository: n.repository ?? '',
        tag: n.tag ?? '',
        digest: shortDigest(n.digest) ?? '',
        outcome: n.outcome,
      },
    },
  };
}

/** Renders `n` for SNS. */
export function renderSns(n: Notification): SnsMessage {
  const ref = imageRef(n);
  const text = plainText(n);
  const subject = toSubject(
    `[ecr-pipeline] ${n.title}${n.sweep?.dryRun ? ' (dry run)' : ''}${ref ? `: ${ref}` : ''}`,
  );
  return {
    subject,
    text,
    message: JSON.stringify({ default: text, https: JSON.stringify(chatNotification(n, text)) }),
    attributes: {
      'event-type': attribute(n.kind),
      repository: attribute(n.repository),
      severity: attribute(n.severity),
      outcome: attribute(n.outcome),
    },
  };
}
