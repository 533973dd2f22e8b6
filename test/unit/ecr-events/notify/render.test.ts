import { describe, expect, it } from 'vitest';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import {
  escapeMrkdwn,
  formatDuration,
  renderSlack,
  severityLine,
} from '../../../../functions/ecr-events/notify/render-slack.ts';
import { renderSns, toSubject } from '../../../../functions/ecr-events/notify/render-sns.ts';
import { route } from '../../../../functions/ecr-events/route.ts';
import type { SweepReport } from '../../../../functions/ecr-events/sweep/sweep.ts';
import type { Severity } from '../../../../functions/shared/severity.ts';
import { event } from '../fixtures.ts';

function fromFixture(path: string): Notification {
  const c = route(event(path), {
    projectName: 'ecr-pipeline-dev',
    account: '123456789012',
    region: 'us-west-2',
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
    expect(actions.elements[0]?.url).toMatch(/^https:\/\/us-west-2\.console\.aws\.amazon\.com\/cloudwatch\//);
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

describe('Slack Block Kit: each part of the message', () => {
  type Field = { type: string; text: string };
  type Block = { type: string; text?: Field; fields?: Field[]; elements?: unknown[] };
  const blocksOf = (n: Notification) => renderSlack(n).blocks as Block[];
  const header = (n: Notification) => blocksOf(n)[0]?.text?.text;
  const fieldsOf = (n: Notification) => blocksOf(n).find((b) => b.type === 'section' && b.fields)?.fields;
  const sectionTexts = (n: Notification) =>
    blocksOf(n).flatMap((b) => (b.type === 'section' && b.text ? [b.text.text] : []));
  const sweep = (report: Partial<SweepReport>, outcome: Notification['outcome'] = 'info'): Notification => ({
    kind: 'sweep',
    outcome,
    title: 'Stale repository sweep',
    region: 'us-west-2',
    account: '123456789012',
    time: '2026-11-16T00:00:00Z',
    sweep: {
      dryRun: false,
      candidates: 0,
      marked: [],
      deleted: [],
      unmarked: [],
      pending: [],
      inUse: [],
      protected: [],
      kept: 0,
      errors: [],
      ...report,
    },
    links: [],
  });
  const failedBuild = (build: Partial<NonNullable<Notification['build']>>) => {
    const n = fromFixture('codebuild/build-failed.json');
    n.build = { ...(n.build as NonNullable<Notification['build']>), ...build };
    return n;
  };

  it('heads each outcome with its emoji', () => {
    expect(header(fromFixture('ecr/image-scan-failed.json'))).toBe(':x: Image scan failed');
    expect(header(fromFixture('ecr/image-scan-clean.json'))).toBe(':white_check_mark: Image scan clean');
    expect(header(fromFixture('codebuild/build-succeeded.json'))).toBe(':white_check_mark: Build succeeded');
    expect(header(sweep({}, 'warning'))).toBe(':warning: Stale repository sweep');
    expect(header(sweep({}, 'info'))).toBe(':information_source: Stale repository sweep');
  });

  it('heads a scan with the colour of its worst severity', () => {
    const scan = (severity: Severity) => ({ ...fromFixture('ecr/image-scan-complete.json'), severity });
    expect(header(scan('HIGH'))).toMatch(/^:large_orange_circle: /);
    expect(header(scan('MEDIUM'))).toMatch(/^:large_yellow_circle: /);
    expect(header(scan('LOW'))).toMatch(/^:large_blue_circle: /);
    expect(header(scan('INFORMATIONAL'))).toMatch(/^:white_circle: /);
    expect(header(scan('UNDEFINED'))).toMatch(/^:white_circle: /);
  });

  it('lists the facts of a build as labelled fields, and only those it has', () => {
    expect(fieldsOf(fromFixture('codebuild/build-failed.json'))).toEqual([
      { type: 'mrkdwn', verbatim: true, text: '*Image*\n`team/web:v1.4.3`' },
      { type: 'mrkdwn', verbatim: true, text: '*Duration*\n1m 52s' },
      { type: 'mrkdwn', verbatim: true, text: '*Failed phase*\n*BUILD*' },
      { type: 'mrkdwn', verbatim: true, text: '*Build*\n#42' },
    ]);
    expect(fieldsOf(fromFixture('codebuild/build-succeeded.json'))).toEqual([
      { type: 'mrkdwn', verbatim: true, text: '*Image*\n`team/web:v1.4.3`' },
      { type: 'mrkdwn', verbatim: true, text: '*Duration*\n1m 52s' },
      { type: 'mrkdwn', verbatim: true, text: '*Build*\n#42' },
    ]);
    const bare = failedBuild({ durationSeconds: undefined, failingPhase: undefined, buildNumber: undefined });
    bare.repository = undefined;
    expect(fieldsOf(bare)).toBeUndefined();
  });

  it('lists the digest of a tagged image and the code and upload of a rejection as code fields', () => {
    expect(fieldsOf(fromFixture('ecr/image-scan-complete.json'))).toEqual([
      { type: 'mrkdwn', verbatim: true, text: '*Image*\n`team/web:v1.4.2`' },
      { type: 'mrkdwn', verbatim: true, text: '*Digest*\n`7f5b2640fe6f`' },
    ]);
    expect(fieldsOf(fromFixture('ecr-pipeline/build-rejected.json'))).toEqual([
      { type: 'mrkdwn', verbatim: true, text: '*Image*\n`team/web:v1.4.2`' },
      { type: 'mrkdwn', verbatim: true, text: '*Code*\n`TagAlreadyExists`' },
      {
        type: 'mrkdwn',
        verbatim: true,
        text: '*Upload*\n`s3://ecr-pipeline-dev-contexts-123456789012-us-west-2/team/web/v1.4.2.tar.gz`',
      },
    ]);
  });

  it('quotes the failure message and shows the detail of a failure as mrkdwn sections', () => {
    expect(blocksOf(fromFixture('codebuild/build-failed.json'))).toContainEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        verbatim: true,
        text: '>COMMAND_EXECUTION_ERROR: Error while executing command: buildctl build --frontend dockerfile.v0. Reason: exit status 1',
      },
    });
    expect(sectionTexts(fromFixture('ecr/image-scan-failed.json'))).toContain('Scan status FAILED.');
  });

  it('cuts a huge failure message and a huge log-unavailable note to the section limit', () => {
    const huge = 'm'.repeat(5000);
    const message = sectionTexts(failedBuild({ failureMessage: huge })).find((t) => t.startsWith('>'));
    expect(message).toHaveLength(3000);
    const unread = failedBuild({ log: { tail: [], unavailable: huge } });
    const note = sectionTexts(unread).find((t) => t.startsWith('_')) ?? '';
    expect(note).toHaveLength(3000);
    expect(note.endsWith('…_')).toBe(true);
  });

  it('shows the last lines of a failed build log in a code block that they cannot close', () => {
    const n = failedBuild({ log: { tail: ['step 1', 'echo ``` <!here>', 'exit 1'] } });
    // After the header, the fields and the failure message; before the buttons and the context.
    expect(blocksOf(n).slice(3, -2)).toEqual([
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          verbatim: true,
          text: "*Last lines of the build's output*\n```step 1\necho ''' &lt;!here&gt;\nexit 1```",
        },
      },
    ]);
  });

  it('shows the refusal line of a failed build instead of its log, and says when the log could not be read', () => {
    const refused = failedBuild({ log: { reason: 'tag <v1> exists', tail: ['ignored'] } });
    expect(sectionTexts(refused)).toContain('*Reason:* tag &lt;v1&gt; exists');
    expect(JSON.stringify(blocksOf(refused))).not.toContain('ignored');
    const unread = failedBuild({ log: { tail: [], unavailable: 'log group <gone>' } });
    expect(sectionTexts(unread)).toContain('_log group &lt;gone&gt;_');
    expect(JSON.stringify(blocksOf(unread))).not.toContain('Last lines');
    // A tail of one empty line has nothing to show.
    expect(JSON.stringify(blocksOf(failedBuild({ log: { tail: [''] } })))).not.toContain('Last lines');
  });

  it('keeps the last lines of a long log that fit in one section, dropping the first ones', () => {
    const logSection = (tail: string[]) =>
      sectionTexts(failedBuild({ log: { tail } })).find((t) => t.startsWith('*Last lines'));
    const nine = Array.from({ length: 9 }, (_, i) => String(i).repeat(296));
    const block = (lines: string[]) => `*Last lines of the build's output*\n\`\`\`${lines.join('\n')}\`\`\``;
    // The most the section holds with its heading and fences, two characters short of 3,000.
    const fits = ['a'.repeat(284), ...nine];
    expect(logSection(fits)).toBe(block(fits));
    expect(block(fits)).toHaveLength(2998);
    // Three characters more: the first line goes.
    expect(logSection(['a'.repeat(287), ...nine])).toBe(block(nine));
  });

  it('adds a button for each of the first five links, in order', () => {
    const n = fromFixture('codebuild/build-failed.json');
    n.links = Array.from({ length: 7 }, (_, i) => ({ label: `L${i}`, url: `https://x.example/${i}` }));
    expect(blocksOf(n).find((b) => b.type === 'actions')?.elements).toEqual(
      [0, 1, 2, 3, 4].map((i) => ({
        type: 'button',
        text: { type: 'plain_text', text: `L${i}` },
        url: `https://x.example/${i}`,
        action_id: `link-${i}`,
      })),
    );
  });

  it('ends with where it happened: project, region, account and time', () => {
    expect(blocksOf(fromFixture('codebuild/build-failed.json')).at(-1)).toEqual({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          verbatim: true,
          text: 'ecr-pipeline-dev · us-west-2 · 123456789012 · 2026-11-16T16:14:21Z',
        },
      ],
    });
    expect(blocksOf(sweep({})).at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', verbatim: true, text: 'us-west-2 · 123456789012 · 2026-11-16T00:00:00Z' }],
    });
  });

  it('gives a notification without an image its title alone as text', () => {
    expect(renderSlack(sweep({})).text).toBe('Stale repository sweep');
  });

  it('summarises a quiet sweep in its counts alone', () => {
    expect(blocksOf(sweep({ kept: 3 })).slice(1, -1)).toEqual([
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', verbatim: true, text: '*Marked stale*\n0' },
          { type: 'mrkdwn', verbatim: true, text: '*Deleted*\n0' },
          { type: 'mrkdwn', verbatim: true, text: '*Kept*\n3' },
          { type: 'mrkdwn', verbatim: true, text: '*Errors*\n0' },
        ],
      },
    ]);
  });

  it('lists what a sweep deleted and marked, and its errors, with their count in red', () => {
    const n = sweep({
      deleted: [{ repository: 'team/old' }],
      marked: [{ repository: 'team/idle', note: '(no push <since> 2026)' }],
      errors: [
        { repository: 'team/a', error: 'AccessDenied' },
        { repository: 'team/b', error: 'Throttled' },
      ],
    });
    expect(fieldsOf(n)?.at(-1)).toEqual({ type: 'mrkdwn', verbatim: true, text: '*Errors*\n:x: *2*' });
    expect(sectionTexts(n)).toEqual([
      '*deleted*\n• `team/old`',
      '*marked stale (deleted after the grace period unless pushed or pulled)*\n• `team/idle` (no push &lt;since&gt; 2026)',
      '*errors*\n• `team/a` AccessDenied\n• `team/b` Throttled',
    ]);
  });

  it('lists ten repositories of a sweep, then how many more', () => {
    const deleted = Array.from({ length: 12 }, (_, i) => ({ repository: `team/r${i}` }));
    const lines = sectionTexts(sweep({ deleted }))[0]?.split('\n') ?? [];
    expect(lines.slice(1, 11)).toEqual(deleted.slice(0, 10).map((d) => `• \`${d.repository}\``));
    expect(lines.slice(11)).toEqual(['…and 2 more']);
  });

  it('cuts a long repository name and a long note of a sweep list to a short line', () => {
    const n = sweep({ deleted: [{ repository: 'r'.repeat(400), note: 'n'.repeat(400) }] });
    const line = sectionTexts(n)[0]?.split('\n')[1] ?? '';
    expect(line).toHaveLength(300);
    expect(line.startsWith(`• \`${'r'.repeat(147)}…\` n`)).toBe(true);
  });

  it('cuts the replica note of a sweep to the section limit', () => {
    const replicaRegions = Array.from({ length: 400 }, (_, i) => `xx-region-${i}`);
    const texts = sectionTexts(sweep({ deleted: [{ repository: 'team/old' }], replicaRegions }));
    expect(texts.find((t) => t.startsWith(':warning: '))).toHaveLength(3000);
  });
});

describe('Slack: nothing the build or the uploader wrote becomes a link', () => {
  /** Every text object of a message, wherever it sits (section text, fields, context elements). */
  const textObjects = (value: unknown): Array<Record<string, unknown>> => {
    if (Array.isArray(value)) return value.flatMap(textObjects);
    if (!value || typeof value !== 'object') return [];
    const object = value as Record<string, unknown>;
    const own = object.type === 'mrkdwn' ? [object] : [];
    return [...own, ...Object.values(object).flatMap(textObjects)];
  };

  it('sends every mrkdwn text verbatim, so a bare URL in a key or a log line stays text', () => {
    const rejected = fromFixture('ecr-pipeline/build-rejected.json');
    rejected.rejection = {
      code: 'InvalidTag',
      reason: 'see https://evil.example/login',
      bucket: 'contexts',
      key: 'https://evil.example/x.tar.gz',
    };
    const failed = fromFixture('codebuild/build-failed.json');
    failed.build = {
      ...(failed.build as NonNullable<Notification['build']>),
      log: { tail: ['visit https://evil.example/login now', 'www.evil.example'] },
    };
    for (const n of [rejected, failed]) {
      const m = renderSlack(n);
      const objects = textObjects(m.blocks);
      expect(objects.length).toBeGreaterThan(2);
      for (const object of objects) expect(object.verbatim).toBe(true);
      expect(JSON.stringify(m.blocks)).toContain('https://evil.example');
      expect(JSON.stringify(m.blocks)).not.toContain('<https://evil');
    }
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
    expect(m.text).toMatch(/Build logs: https:\/\/us-west-2\.console\.aws\.amazon\.com\/cloudwatch\//);
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

describe('SNS message: the email body and the chat notification', () => {
  const sweep = (report: Partial<SweepReport>): Notification => ({
    kind: 'sweep',
    outcome: 'info',
    title: 'Stale repository sweep',
    region: 'us-west-2',
    account: '123456789012',
    time: '2026-11-16T00:00:00Z',
    sweep: {
      dryRun: false,
      candidates: 5,
      marked: [],
      deleted: [],
      unmarked: [],
      pending: [],
      inUse: [],
      protected: [],
      kept: 5,
      errors: [],
      ...report,
    },
    links: [],
  });
  const chatOf = (n: Notification) =>
    JSON.parse((JSON.parse(renderSns(n).message) as { https: string }).https) as {
      content: { title: string; description: string; nextSteps: string[]; keywords: string[] };
      metadata: { summary: string; relatedResources: string[]; additionalContext: Record<string, string> };
    };
  const withLog = (log: NonNullable<NonNullable<Notification['build']>['log']>) => {
    const n = fromFixture('codebuild/build-failed.json');
    n.build = { ...(n.build as NonNullable<Notification['build']>), log };
    return n;
  };
  const buildLogs =
    'Build logs: https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#logsV2:log-groups/log-group/$252Faws$252Fcodebuild$252Fecr-pipeline-dev/log-events/8745a7a9-c340-456a-9166-edf953571bef';

  it('writes a failed build one fact a line, the last lines of its log, then where, then the links', () => {
    const n = withLog({ tail: ['step 1', 'exit 1'] });
    expect(renderSns(n).text.split('\n')).toEqual([
      'Build failed',
      '',
      'Image:      team/web:v1.4.3',
      'Build:      arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef (FAILED)',
      'Duration:   1m 52s',
      'Failed in:  BUILD',
      'Message:    COMMAND_EXECUTION_ERROR: Error while executing command: buildctl build --frontend dockerfile.v0. Reason: exit status 1',
      'Last lines of the log:',
      '  | step 1',
      '  | exit 1',
      '',
      'Account 123456789012, region us-west-2, 2026-11-16T16:14:21Z',
      '',
      buildLogs,
      expect.stringMatching(/^Build: https:/),
      expect.stringMatching(/^Repository: https:/),
    ]);
  });

  it('gives the refusal line of a failed build instead of its log, and why the log could not be read', () => {
    const refused = renderSns(withLog({ reason: 'tag exists', tail: ['ignored'] })).text;
    expect(refused).toContain('\nReason:     tag exists\n');
    expect(refused).not.toContain('ignored');
    const unread = renderSns(withLog({ tail: [], unavailable: 'log group gone' })).text;
    expect(unread).toContain('\nlog group gone\n');
    expect(unread).not.toContain('Last lines');
  });

  it('leaves out what a build does not have', () => {
    const n = fromFixture('codebuild/build-succeeded.json');
    n.build = { ...(n.build as NonNullable<Notification['build']>), durationSeconds: undefined };
    expect(renderSns(n).text).not.toContain('Duration');
  });

  it('writes a scan with its digest and findings, and a clean scan as no findings', () => {
    expect(renderSns(fromFixture('ecr/image-scan-complete.json')).text).toContain(
      '\nDigest:     sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd\nFindings:   CRITICAL 10, MEDIUM 9\n\n',
    );
    expect(renderSns(fromFixture('ecr/image-scan-clean.json')).text).toContain('\nFindings:   none\n');
    const push = fromFixture('codebuild/build-succeeded.json');
    expect(renderSns(push).text).not.toMatch(/Digest|Findings/);
  });

  it('writes a rejection with its upload, code and reason, and the detail of a failure', () => {
    expect(renderSns(fromFixture('ecr-pipeline/build-rejected.json')).text).toContain(
      [
        '\nUpload:     s3://ecr-pipeline-dev-contexts-123456789012-us-west-2/team/web/v1.4.2.tar.gz',
        'Code:       TagAlreadyExists',
        'Reason:     tag v1.4.2 already exists in team/web, whose tags are immutable\n',
      ].join('\n'),
    );
    expect(renderSns(fromFixture('ecr/image-scan-failed.json')).text).toContain('\nScan status FAILED.\n');
  });

  it('writes an account it does not know as a dash', () => {
    const n = sweep({});
    n.account = '';
    expect(renderSns(n).text.split('\n').at(-1)).toBe('Account -, region us-west-2, 2026-11-16T00:00:00Z');
  });

  it('lists what a sweep did, the replicas that remain and its errors', () => {
    const n = sweep({
      dryRun: true,
      deleted: [{ repository: 'team/old', note: '(no pull since 2026-01-01)' }],
      marked: [{ repository: 'team/idle' }],
      errors: [{ repository: 'team/a', error: 'AccessDenied' }],
      kept: 3,
      replicaRegions: ['eu-west-1'],
    });
    expect(renderSns(n).text.split('\n')).toEqual([
      'Stale repository sweep (dry run)',
      '',
      'Repositories looked at: 5',
      'Marked stale: 1, deleted: 1, kept: 3, errors: 1',
      '',
      'would be deleted:',
      '  - team/old (no pull since 2026-01-01)',
      '',
      expect.stringMatching(/^Replicas of the repositories that would be deleted remain in eu-west-1: /),
      '',
      'would be marked stale (deleted after the grace period unless pushed or pulled):',
      '  - team/idle',
      '',
      'errors:',
      '  - team/a AccessDenied',
      '',
      'Account 123456789012, region us-west-2, 2026-11-16T00:00:00Z',
    ]);
  });

  it('lists fifty repositories of a sweep, then how many more, and no heading for an empty list', () => {
    const deleted = Array.from({ length: 52 }, (_, i) => ({ repository: `team/r${i}` }));
    const lines = renderSns(sweep({ deleted })).text.split('\n');
    const at = lines.indexOf('deleted:');
    expect(lines.slice(at + 1)).toEqual([
      ...deleted.slice(0, 50).map((d) => `  - ${d.repository}`),
      '  ...and 2 more',
      '',
      'Account 123456789012, region us-west-2, 2026-11-16T00:00:00Z',
    ]);
    expect(lines).not.toContain('errors:');
    const fifty = renderSns(sweep({ deleted: deleted.slice(0, 50) })).text;
    expect(fifty).not.toContain('more');
    expect(renderSns(sweep({})).text.split('\n')).not.toContain('deleted:');
  });

  it('gives the chat notification the body without its title and links, and the links as next steps', () => {
    const n = withLog({ tail: ['exit 1'] });
    const chat = chatOf(n);
    expect(chat.content.description).toBe(renderSns(n).text.split('\n').slice(2, -4).join('\n'));
    expect(chat.content.nextSteps[0]).toBe(buildLogs);
    expect(chat.content.nextSteps).toHaveLength(3);
    expect(chat.content.keywords).toEqual(['build-failed', 'failure']);
    expect(chat.metadata.summary).toBe('Build failed: team/web:v1.4.3');
    expect(chat.metadata.relatedResources).toEqual([
      'arn:aws:ecr:us-west-2:123456789012:repository/team/web',
    ]);
    expect(chat.metadata.additionalContext).toEqual({
      repository: 'team/web',
      tag: 'v1.4.3',
      digest: '',
      outcome: 'failure',
    });
  });

  it('keeps a line of the chat description that merely starts with a link', () => {
    const n = fromFixture('ecr-pipeline/build-rejected.json');
    const url = n.links[0]?.url ?? '';
    n.detail = `${url} was refused`;
    expect(chatOf(n).content.description).toContain(`${url.replace(/&/g, '&amp;')} was refused`);
  });

  it('names the severity, the dry run and the short digest in the chat notification', () => {
    const scan = chatOf(fromFixture('ecr/image-scan-complete.json'));
    expect(scan.content.keywords).toEqual(['scan', 'warning', 'CRITICAL']);
    expect(scan.metadata.additionalContext).toMatchObject({ digest: '7f5b2640fe6f' });
    const dry = chatOf(sweep({ dryRun: true }));
    expect(dry.content.title).toBe('Stale repository sweep (dry run)');
    expect(dry.metadata.summary).toBe('Stale repository sweep');
    expect(dry.metadata.relatedResources).toEqual([]);
    expect(dry.metadata.additionalContext).toEqual({ repository: '', tag: '', digest: '', outcome: 'info' });
  });

  it('keeps a subject of exactly 100 characters whole, trims its ends and joins its whitespace', () => {
    const hundred = 'x'.repeat(100);
    expect(toSubject(hundred)).toBe(hundred);
    expect(toSubject(`${hundred}y`)).toBe(`${'x'.repeat(97)}...`);
    expect(toSubject(' a \t\n b ')).toBe('a b');
  });
});
