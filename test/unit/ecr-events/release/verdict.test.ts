import { describe, expect, it } from 'vitest';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import { renderSlack } from '../../../../functions/ecr-events/notify/render-slack.ts';
import { plainText } from '../../../../functions/ecr-events/notify/render-sns.ts';
import {
  attachedText,
  legsText,
  timeText,
  verdictNotification,
} from '../../../../functions/ecr-events/release/verdict.ts';
import { type Route, route } from '../../../../functions/ecr-events/route.ts';
import { event } from '../fixtures.ts';

const options = {
  projectName: 'ecr-pipeline-dev',
  account: '123456789012',
  region: 'us-west-2',
  now: () => new Date(),
};

function notification(c: Route): Notification {
  if (c.action !== 'notify') throw new Error(`expected a notification, got ${JSON.stringify(c)}`);
  return c.notification;
}

describe('Release Verdict', () => {
  it('says which platforms a joined image was released for, and which were built natively', () => {
    const e = event('ecr-pipeline/release-verdict-held.json');
    Object.assign(e.detail as object, {
      verdict: 'released',
      legs: [
        { platform: 'linux/amd64', emulated: false },
        { platform: 'linux/arm64', emulated: false },
      ],
    });
    const n = notification(route(e, options));
    expect(n).toMatchObject({
      title: 'Image released',
      detail: 'Released linux/amd64 + linux/arm64 (native)',
    });
    expect(plainText(n)).toContain('Released linux/amd64 + linux/arm64 (native)');
  });

  it('says where the build spent its time, in the message of every verdict', () => {
    const e = event('ecr-pipeline/release-verdict-held.json');
    Object.assign(e.detail as object, {
      verdict: 'released',
      durations: { queued: 2, provisioning: 41, downloadSource: 1, build: 63, install: 0 },
    });
    const n = notification(route(e, options));
    expect(n.detail).toBe('Build time: queued 2 s, provisioning 41 s, download 1 s, build 63 s');
    expect(plainText(n)).toContain('Build time: queued 2 s, provisioning 41 s, download 1 s, build 63 s');
    Object.assign(e.detail as object, { verdict: 'failed', reason: 'tag move denied' });
    expect(notification(route(e, options)).detail).toBe(
      'tag move denied. Build time: queued 2 s, provisioning 41 s, download 1 s, build 63 s',
    );
  });

  it("gives each leg's time, and nothing a payload puts there that is not a duration", () => {
    expect(
      timeText(undefined, [
        { platform: 'linux/amd64', emulated: false, durations: { provisioning: 40, build: 60 } },
        { platform: 'linux/arm64', emulated: false, durations: { provisioning: 90, build: '60' } },
        { platform: 'linux/s390x', durations: { build: -1 } },
        { emulated: true, durations: { build: 5 } },
      ]),
    ).toBe('Build time: linux/amd64 provisioning 40 s, build 60 s; linux/arm64 provisioning 90 s');
    expect(timeText({ build: 'soon' }, undefined)).toBeUndefined();
    expect(timeText(undefined, [{ platform: 'linux/amd64' }])).toBeUndefined();
    expect(timeText({ build: 3 }, [{ platform: 'linux/amd64', durations: { build: 4 } }])).toBe(
      'Build time: build 3 s',
    );
  });

  it('names the emulated legs, and says nothing of legs an image has not', () => {
    expect(
      legsText([
        { platform: 'linux/amd64', emulated: false },
        { platform: 'linux/arm/v7', emulated: true },
      ]),
    ).toBe('linux/amd64 (native) + linux/arm/v7 (emulated)');
    expect(
      legsText([
        { platform: 'linux/arm64', emulated: true },
        { platform: 'linux/riscv64', emulated: true },
      ]),
    ).toBe('linux/arm64 + linux/riscv64 (emulated)');
    expect(legsText(undefined)).toBeUndefined();
    expect(legsText([{ emulated: true }])).toBeUndefined();
  });

  it('tells a held image with why and how to release it anyway, in one message', () => {
    const n = notification(route(event('ecr-pipeline/release-verdict-held.json'), options));
    expect(n).toMatchObject({
      kind: 'release',
      outcome: 'warning',
      title: 'Image held',
      repository: 'team/web',
      tag: 'v1.4.3',
      counts: { CRITICAL: 10, MEDIUM: 9 },
      severity: 'CRITICAL',
      detail:
        'Held: the scan found 10 CRITICAL (the gate holds at HIGH and above). The image stays pushed by digest; the tag was not moved. To release it anyway: ecr-pipeline release team/web/v1.4.3.tar.gz --override --reason "..."',
    });
    expect(n.links.map((l) => l.label)).toEqual(['Image', 'Upload']);
    expect(plainText(n)).toContain('To release it anyway');
    expect(JSON.stringify(renderSlack(n))).toContain('Image held');
  });

  it('titles each verdict, and says who released an image by override', () => {
    const titles: Record<string, [string, string]> = {
      released: ['Image released', 'success'],
      superseded: ['Upload superseded', 'info'],
      rejected: ['Release rejected', 'failure'],
      failed: ['Release failed', 'failure'],
    };
    for (const [verdict, [title, outcome]] of Object.entries(titles)) {
      const e = event('ecr-pipeline/release-verdict-held.json');
      e.detail.verdict = verdict;
      delete e.detail.counts;
      const n = notification(route(e, options));
      expect(n).toMatchObject({ title, outcome });
      expect(n).not.toHaveProperty('counts');
      expect(n.detail).toBe(verdict === 'released' ? undefined : e.detail.reason);
    }
    const e = event('ecr-pipeline/release-verdict-held.json');
    e.detail.verdict = 'released';
    e.detail.override = { reason: 'accepted risk', by: 'ops', at: 'x' };
    expect(notification(route(e, options)).detail).toBe('Released by override (ops): accepted risk');
    delete e.detail.digest;
    expect(notification(route(e, options)).links.map((l) => l.label)).toEqual(['Upload']);
  });

  it('says what a released image carries (SBOM, provenance), and nothing of names it does not know', () => {
    const e = event('ecr-pipeline/release-verdict-held.json');
    e.detail.verdict = 'released';
    e.detail.attestations = ['sbom', 'provenance'];
    const n = notification(route(e, options));
    expect(n.detail).toBe('Carries: SBOM, provenance');
    expect(plainText(n)).toContain('SBOM, provenance');
    e.detail.override = { reason: 'accepted risk', by: 'ops', at: 'x' };
    expect(notification(route(e, options)).detail).toBe(
      'Released by override (ops): accepted risk. Carries: SBOM, provenance',
    );
    delete e.detail.override;
    e.detail.attestations = ['<!channel>', 7];
    expect(notification(route(e, options)).detail).toBeUndefined();
    e.detail.attestations = 'sbom';
    expect(notification(route(e, options)).detail).toBeUndefined();
  });

  it('refuses a verdict it does not know, or one without its image', () => {
    for (const change of [
      (d: Record<string, unknown>) => {
        d.verdict = 'approved';
      },
      (d: Record<string, unknown>) => {
        delete d.repository;
      },
      (d: Record<string, unknown>) => {
        delete d.key;
      },
    ]) {
      const e = event('ecr-pipeline/release-verdict-held.json');
      change(e.detail);
      expect(route(e, options)).toMatchObject({ action: 'ignore', malformed: true });
    }
  });
});

describe('Release Verdict, field by field', () => {
  const base = { region: 'us-west-2', account: '123456789012', time: '2026-12-03T16:00:00Z' };
  const detail = { verdict: 'released', repository: 'team/web', bucket: 'b', key: 'team/web/v1.tar.gz' };

  it('lists only the attachments it knows, by their own names', () => {
    expect(attachedText(['sbom', 'provenance'])).toBe('SBOM, provenance');
    expect(attachedText(['signed', 'sbom'])).toBe('signed, SBOM');
    expect(attachedText([7, null, ['sbom'], 'toString', 'sbom'])).toBe('SBOM');
    expect(attachedText([])).toBeUndefined();
    expect(attachedText(['constructor'])).toBeUndefined();
  });

  it('reads only legs that are objects with a platform, each platform cut at 40 characters', () => {
    expect(legsText([null, 7, { platform: 7 }, { platform: 'linux/amd64' }])).toBe('linux/amd64 (native)');
    expect(legsText([{ platform: 'x'.repeat(50), emulated: true }])).toBe(`${'x'.repeat(40)} (emulated)`);
  });

  it('takes an empty or non-text field for no field', () => {
    expect(verdictNotification({ ...detail, tag: '' }, base)?.tag).toBeUndefined();
    expect(verdictNotification({ ...detail, tag: 'v1' }, base)?.tag).toBe('v1');
    expect(verdictNotification({ ...detail, repository: 7 }, base)).toBeUndefined();
    expect(verdictNotification({ ...detail, verdict: '' }, base)).toBeUndefined();
  });

  it("takes no name of an object's prototype for a verdict", () => {
    for (const verdict of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(verdictNotification({ ...detail, verdict }, base), verdict).toBeUndefined();
    }
  });

  it("reads each leg's time only from objects with a platform, each platform cut at 40 characters", () => {
    expect(
      timeText(undefined, [
        null,
        7,
        'linux/amd64',
        { platform: 7, durations: { build: 1 } },
        { platform: 'y'.repeat(50), durations: { build: 2 } },
      ]),
    ).toBe(`Build time: ${'y'.repeat(40)} build 2 s`);
  });

  it('says a verdict came without its reason', () => {
    expect(verdictNotification({ ...detail, verdict: 'failed' }, base)?.detail).toBe('no reason given');
    expect(verdictNotification({ ...detail, verdict: 'held', reason: '' }, base)?.detail).toMatch(
      /^Held: no reason given\. /,
    );
  });
});
