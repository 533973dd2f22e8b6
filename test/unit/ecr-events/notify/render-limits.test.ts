import { describe, expect, it } from 'vitest';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import { renderSlack, type SlackMessage } from '../../../../functions/ecr-events/notify/render-slack.ts';
import { renderSns } from '../../../../functions/ecr-events/notify/render-sns.ts';
import { cutEscaped, escapeMrkdwn, fitBlocks, SLACK } from '../../../../functions/ecr-events/notify/text.ts';
import { route } from '../../../../functions/ecr-events/route.ts';
import type { SweepReport } from '../../../../functions/ecr-events/sweep/sweep.ts';
import { event } from '../fixtures.ts';

type Text = { type: string; text: string };
type Block = {
  type: string;
  text?: Text;
  fields?: Text[];
  elements?: Array<{ type: string; text: string | Text; url?: string; action_id?: string }>;
};

/** Every Slack limit the renderer must hold; an empty list means Slack accepts the message. */
function violations(message: SlackMessage): string[] {
  const out: string[] = [];
  const check = (what: string, value: string, max: number) => {
    if (value.length > max) out.push(`${what}: ${value.length} > ${max}`);
    // An entity cut in half shows as garbage and can turn what follows into markup.
    if (/&(a|am|amp|l|lt|g|gt)?$/.test(value.replace(/…$/, ''))) out.push(`${what}: ends inside an entity`);
  };
  check('text', message.text, SLACK.text);
  const blocks = message.blocks as Block[];
  if (blocks.length > SLACK.blocks) out.push(`blocks: ${blocks.length} > ${SLACK.blocks}`);
  for (const [i, block] of blocks.entries()) {
    if (block.type === 'header') check(`header ${i}`, block.text?.text ?? '', SLACK.header);
    if (block.type === 'section') {
      if (block.text) check(`section ${i}`, block.text.text, SLACK.sectionText);
      if ((block.fields?.length ?? 0) > SLACK.fields) out.push(`section ${i}: too many fields`);
      for (const [j, f] of (block.fields ?? []).entries()) check(`field ${i}.${j}`, f.text, SLACK.field);
    }
    if (block.type === 'context')
      for (const e of block.elements ?? []) check(`context ${i}`, String(e.text), SLACK.contextText);
    if (block.type === 'actions') {
      for (const e of block.elements ?? []) {
        check(`button ${i}`, (e.text as Text).text, SLACK.buttonText);
        check(`url ${i}`, e.url ?? '', SLACK.url);
      }
    }
  }
  return out;
}

/** Mentions and links that would reach someone if user text were not escaped. */
const LIVE = /<!(channel|here|everyone)|<@U|<https?:|<mailto:/;
const HOSTILE = '<!channel> <!here> <@U0123ABCD> <https://evil.example|click> & ';

/** A rejection of `key` as build-trigger reports it (the Upload link names the key too). */
function rejection(key: string, reason = 'the key does not name a repository'): Notification {
  const e = event('ecr-pipeline/build-rejected.json');
  Object.assign(e.detail, { key, reason });
  const c = route(e, {
    projectName: 'ecr-pipeline-dev',
    account: '123456789012',
    region: 'us-west-2',
    now: () => new Date(),
  });
  if (c.action !== 'notify') throw new Error('expected a notification');
  return c.notification;
}

describe('Slack limits', () => {
  it('caps the Upload field of a rejection of a 900-character key at 2,000 characters', () => {
    const m = renderSlack(rejection(`team/${'&<>'.repeat(300)}.tar.gz`));
    expect(violations(m)).toEqual([]);
    const upload = JSON.stringify(m.blocks).match(/\*Upload\*\\n`[^`]*`/);
    expect(upload).not.toBeNull();
  });

  it('holds every limit when every user text is hostile and huge', () => {
    const huge = HOSTILE.repeat(500);
    const n = rejection(huge, huge);
    n.repository = huge;
    n.tag = huge;
    n.detail = huge;
    n.build = {
      id: huge,
      project: huge,
      status: 'FAILED',
      failingPhase: huge,
      failureMessage: huge,
      log: { reason: huge, tail: Array.from({ length: 200 }, () => huge) },
    };
    n.links = Array.from({ length: 8 }, () => ({
      label: huge,
      url: `https://x.example/${'a'.repeat(4000)}`,
    }));
    const m = renderSlack(n);
    expect(violations(m)).toEqual([]);
    expect(JSON.stringify(m)).not.toMatch(LIVE);
  });

  it('keeps a section of exactly 3,000 characters whole and cuts one more to 3,000', () => {
    const prefix = '*Reason:* ';
    const fits = 'r'.repeat(SLACK.sectionText - prefix.length);
    const reasonOf = (m: SlackMessage) =>
      (m.blocks as Block[]).find((b) => b.text?.text.startsWith(prefix))?.text?.text ?? '';
    expect(reasonOf(renderSlack(rejection('a/b.tar.gz', fits)))).toBe(prefix + fits);
    const cut = reasonOf(renderSlack(rejection('a/b.tar.gz', `${fits}r`)));
    expect(cut).toHaveLength(SLACK.sectionText);
    expect(cut.endsWith('…')).toBe(true);
  });

  it('counts the escaped length against the limit, not the raw one', () => {
    const prefix = '*Reason:* ';
    // 600 raw characters that escape to 3,000: one more would not fit.
    const raw = '&'.repeat((SLACK.sectionText - prefix.length) / 5);
    const m = renderSlack(rejection('a/b.tar.gz', raw));
    const text = (m.blocks as Block[]).find((b) => b.text?.text.startsWith(prefix))?.text?.text ?? '';
    expect(text).toBe(prefix + '&amp;'.repeat(raw.length));
    const over = renderSlack(rejection('a/b.tar.gz', `${raw}&`));
    const overText = (over.blocks as Block[]).find((b) => b.text?.text.startsWith(prefix))?.text?.text ?? '';
    expect(overText).toHaveLength(SLACK.sectionText - 4);
    expect(overText.endsWith('&amp;…')).toBe(true);
  });

  it('holds a field of exactly 2,000 characters and cuts one more', () => {
    const label = '*Upload*\n';
    const base = 's3://ecr-pipeline-dev-contexts-123456789012-us-west-2/';
    const room = SLACK.field - label.length - 2 - base.length;
    const fieldOf = (m: SlackMessage) =>
      (m.blocks as Block[]).flatMap((b) => b.fields ?? []).find((f) => f.text.startsWith(label))?.text ?? '';
    expect(fieldOf(renderSlack(rejection('k'.repeat(room))))).toHaveLength(SLACK.field);
    expect(fieldOf(renderSlack(rejection('k'.repeat(room))))).toBe(`${label}\`${base}${'k'.repeat(room)}\``);
    const cut = fieldOf(renderSlack(rejection('k'.repeat(room + 1))));
    expect(cut).toHaveLength(SLACK.field);
    expect(cut.endsWith('…`')).toBe(true);
  });

  it('keeps the top-level text at 300 characters, escaped', () => {
    const n = rejection('a/b.tar.gz');
    n.repository = `<!channel>${'x'.repeat(400)}`;
    const m = renderSlack(n);
    expect(m.text.length).toBe(SLACK.text);
    expect(m.text).toContain('&lt;!channel&gt;');
    expect(m.text).not.toMatch(LIVE);
  });

  it('never sends a button whose URL Slack would refuse, and caps button labels', () => {
    const n = rejection(`team/${'é'.repeat(1000)}`);
    const m = renderSlack(n);
    expect(violations(m)).toEqual([]);
    expect((m.blocks as Block[]).some((b) => b.type === 'actions')).toBe(false);
    const ok = rejection('team/web/v1.tar.gz');
    ok.links = [{ label: 'L'.repeat(80), url: 'https://x.example/'.padEnd(SLACK.url, 'a') }];
    const buttons = (renderSlack(ok).blocks as Block[]).find((b) => b.type === 'actions')?.elements ?? [];
    expect(buttons[0]?.url).toHaveLength(SLACK.url);
    expect((buttons[0]?.text as Text | undefined)?.text).toHaveLength(SLACK.buttonText);
  });

  it('caps sweep lists: long notes, many items, hostile error messages', () => {
    const item = (i: number) => ({ repository: `team/r${i}`, note: HOSTILE.repeat(40) });
    const report: SweepReport = {
      dryRun: false,
      candidates: 400,
      marked: Array.from({ length: 200 }, (_, i) => item(i)),
      deleted: Array.from({ length: 200 }, (_, i) => item(i)),
      unmarked: [],
      pending: [],
      inUse: [],
      protected: [],
      kept: 0,
      errors: Array.from({ length: 200 }, (_, i) => ({
        repository: `team/e${i}`,
        error: HOSTILE.repeat(80),
      })),
    };
    const m = renderSlack({
      kind: 'sweep',
      outcome: 'failure',
      title: 'Stale repository sweep',
      region: 'us-west-2',
      account: '123456789012',
      time: '2026-11-16T00:00:00Z',
      sweep: report,
      links: [],
    });
    expect(violations(m)).toEqual([]);
    expect(JSON.stringify(m)).not.toMatch(LIVE);
    expect(JSON.stringify(m)).toMatch(/and \d+ more/);
  });

  it('never cuts an escape sequence in half', () => {
    for (let max = 2; max < 30; max++) {
      const cut = cutEscaped(escapeMrkdwn('a&b<c>d&&&<<<>>>e'.repeat(3)), max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut.replace(/…$/, '')).not.toMatch(/&[a-z]*$/);
    }
    expect(cutEscaped('ab😀cd', 4)).toBe('ab…');
  });

  it('keeps at most 50 blocks, the last one (where it happened) included', () => {
    const blocks = Array.from({ length: 60 }, (_, i) => ({ type: 'section', i }));
    const fitted = fitBlocks(blocks);
    expect(fitted).toHaveLength(SLACK.blocks);
    expect(fitted.at(-1)).toEqual({ type: 'section', i: 59 });
    expect(fitBlocks(blocks.slice(0, 50))).toHaveLength(50);
  });
});

describe('SNS chat markdown', () => {
  it('escapes user text in the Amazon Q Developer notification and caps it', () => {
    const huge = HOSTILE.repeat(500);
    const n = rejection(`team/${HOSTILE}`, huge);
    n.repository = `team/${HOSTILE}`;
    const m = renderSns(n);
    const chat = JSON.parse((JSON.parse(m.message) as { https: string }).https);
    const rendered = JSON.stringify([chat.content, chat.metadata.summary]);
    expect(rendered).not.toMatch(LIVE);
    expect(chat.content.description).toContain('&lt;!channel&gt;');
    expect(chat.content.description.length).toBeLessThanOrEqual(8000);
    expect(chat.metadata.summary.length).toBeLessThanOrEqual(300);
    // Email is plain text: not escaped, but capped.
    expect(m.text).toContain('<!channel>');
    expect(m.text.length).toBeLessThan(12_000);
  });
});
