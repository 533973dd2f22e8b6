import { describe, expect, it } from 'vitest';
import type { Notification } from '../../../functions/ecr-events/notification.ts';
import {
  escapeMrkdwn,
  formatDuration,
  renderSlack,
  severityLine,
} from '../../../functions/ecr-events/render-slack.ts';
import { renderSns, toSubject } from '../../../functions/ecr-events/render-sns.ts';
import { route } from '../../../functions/ecr-events/route.ts';
import type { SweepReport } from '../../../functions/ecr-events/sweep.ts';
import { event } from './fixtures.ts';

function fromFixture(path: string): Notification {
  const c = route(event(path), {
    projectName: 'ecr-pipeline-dev',
    region: 'us-east-1',
    now: () => new Date(),
  });
  if (c.action !== 'notify') throw new Error('expected a notification');
  return c.notification;
}

const text = (blocks: unknown) => JSON.stringify(blocks);

describe('Slack Block Kit', () => {
  it('leads a scan with the worst severity, in bold, then the others', () => {
    const m = renderSlack(fromFixture('ecr/image-scan-complete.json'));
    expect(m.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':red_circle: Vulnerabilities found (worst: CRITICAL)', emoji: true },
    });
    expect(text(m.blocks)).toContain(':red_circle: *CRITICAL 10*  ·  MEDIUM 9');
    expect(text(m.blocks)).toContain('`team/web:v1.4.2`');
    expect(text(m.blocks)).toContain('`7f5b2640fe6f`');
    expect(m.text).toBe('Vulnerabilities found (worst: CRITICAL): team/web:v1.4.2');
  });

  it('shows an untagged image by its short digest', () => {
    const m = renderSlack(fromFixture('ecr/image-scan-untagged.json'));
    expect(text(m.blocks)).toContain('team/web@1a2b3c4d5e6f (untagged)');
  });

  it('shows a failed build with duration, failing phase, message and a logs button', () => {
    const m = renderSlack(fromFixture('codebuild/build-failed.json'));
    const all = text(m.blocks);
    expect(all).toContain(':x: Build failed');
    expect(all).toContain('*Duration*\\n1m 52s');
    expect(all).toContain('*Failed phase*\\n*BUILD*');
    expect(all).toContain('exit status 1');
    const actions = m.blocks.find((b) => b.type === 'actions') as {
      elements: { text: { text: string }; url: string }[];
    };
    expect(actions.elements[0]?.text.text).toBe('Build logs');
    expect(actions.elements[0]?.url).toMatch(/^https:\/\/console\.aws\.amazon\.com\/cloudwatch\//);
  });

  it('shows the reason of a rejection', () => {
    const all = text(renderSlack(fromFixture('ecr-pipeline/build-rejected.json')).blocks);
    expect(all).toContain('*Reason:* tag v1.4.2 already exists in team/web, whose tags are immutable');
    expect(all).toContain('`TagAlreadyExists`');
  });

  it('escapes Slack control characters in values it does not control', () => {
    const n = fromFixture('ecr-pipeline/build-rejected.json');
    n.rejection = {
      ...(n.rejection as NonNullable<Notification['rejection']>),
      reason: '<!channel> & <http://x|y>',
    };
    const all = text(renderSlack(n).blocks);
    expect(all).toContain('&lt;!channel&gt; &amp; &lt;http://x|y&gt;');
    expect(all).not.toContain('<!channel>');
    expect(escapeMrkdwn('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });

  it('summarises a sweep in one message', () => {
    const report: SweepReport = {
      dryRun: true,
      candidates: 40,
      marked: [{ repository: 'team/old', note: '(no push since 2026-01-01)' }],
      deleted: [{ repository: 'team/older' }],
      unmarked: [],
      pending: [],
      inUse: [],
      protected: [],
      kept: 38,
      errors: [],
    };
    const n: Notification = {
      kind: 'sweep',
      outcome: 'info',
      title: 'Stale repository sweep',
      region: 'us-west-2',
      account: '123456789012',
      time: '2026-11-16T00:00:00Z',
      sweep: report,
      links: [],
    };
    const m = renderSlack(n);
    const all = text(m.blocks);
    expect(all).toContain('Stale repository sweep (dry run)');
    expect(all).toContain('*Marked stale*\\n1');
    expect(all).toContain('*Kept*\\n38');
    expect(all).toContain('would be deleted');
    expect(all).toContain('`team/older`');
    const sns = renderSns(n);
    expect(sns.subject).toBe('[ecr-pipeline] Stale repository sweep (dry run)');
    expect(sns.text).toContain('Marked stale: 1, deleted: 1, kept: 38, errors: 0');
  });

  it("says plainly that the deleted repositories' replicas remain, in Slack and SNS", () => {
    const report: SweepReport = {
      dryRun: false,
      candidates: 3,
      marked: [],
      deleted: [{ repository: 'team/older' }],
      unmarked: [],
      pending: [],
      inUse: [],
      protected: [],
      kept: 2,
      errors: [],
      replicaRegions: ['eu-west-1', 'ap-south-1'],
    };
    const n: Notification = {
      kind: 'sweep',
      outcome: 'warning',
      title: 'Stale repository sweep',
      region: 'us-west-2',
      account: '123456789012',
      time: '2026-11-16T00:00:00Z',
      sweep: report,
      links: [],
    };
    const said = 'Replicas of the repositories deleted remain in eu-west-1, ap-south-1';
    expect(text(renderSlack(n).blocks)).toContain(said);
    expect(renderSns(n).text).toContain(said);
    // Nothing deleted: nothing to say about replicas.
    const quiet = { ...n, sweep: { ...report, deleted: [] } };
    expect(text(renderSlack(quiet).blocks)).not.toContain('Replicas');
    expect(renderSns(quiet).text).not.toContain('Replicas');
  });

  it('formats durations and severity lines', () => {
    expect(formatDuration(42)).toBe('42s');
    expect(formatDuration(112)).toBe('1m 52s');
    expect(formatDuration(3723)).toBe('1h 02m 03s');
    expect(severityLine({})).toBe(':white_check_mark: no findings');
    expect(severityLine({ LOW: 1, HIGH: 2 })).toBe(':large_orange_circle: *HIGH 2*  ·  LOW 1');
  });
});

describe('SNS message', () => {
  it('has an ASCII subject of at most 100 characters', () => {
    const n = fromFixture('ecr/image-scan-complete.json');
    n.repository = `team/${'very-long-name-'.repeat(10)}ünïcode`;
    const { subject } = renderSns(n);
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(toSubject('Build failed:\nüber 🚀')).toBe('Build failed: uber ?');
  });

  it('carries event type, repository, severity and outcome as message attributes', () => {
    const m = renderSns(fromFixture('inspector/scan-initial-complete.json'));
    expect(m.attributes).toEqual({
      'event-type': { DataType: 'String', StringValue: 'scan' },
      repository: { DataType: 'String', StringValue: 'team/web' },
      severity: { DataType: 'String', StringValue: 'CRITICAL' },
      outcome: { DataType: 'String', StringValue: 'warning' },
    });
  });

  it('never sends an empty attribute value', () => {
    const m = renderSns(fromFixture('codebuild/build-succeeded.json'));
    expect(m.attributes.severity).toEqual({ DataType: 'String', StringValue: 'none' });
  });

  it('gives email a plain-text body and Amazon Q Developer a custom notification', () => {
    const m = renderSns(fromFixture('codebuild/build-failed.json'));
    const structure = JSON.parse(m.message) as { default: string; https: string };
    expect(structure.default).toBe(m.text);
    expect(m.text).toContain('Image:      team/web:v1.4.3');
    expect(m.text).toContain('Failed in:  BUILD');
    expect(m.text).toContain('Duration:   1m 52s');
    expect(m.text).toMatch(/Build logs: https:\/\/console\.aws\.amazon\.com\/cloudwatch\//);
    const chat = JSON.parse(structure.https);
    expect(chat).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown', title: 'Build failed', nextSteps: expect.any(Array) },
      metadata: { eventType: 'build-failed' },
    });
    expect(chat.content.description).toContain('Failed in:  BUILD');
  });
});
