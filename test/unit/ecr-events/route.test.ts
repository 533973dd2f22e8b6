import { describe, expect, it } from 'vitest';
import { parseCodeBuildTime } from '../../../functions/ecr-events/codebuild-time.ts';
import type { Notification } from '../../../functions/ecr-events/notification.ts';
import { type Route, repositoryName, route } from '../../../functions/ecr-events/route.ts';
import { event } from './fixtures.ts';

const options = { projectName: 'ecr-pipeline-dev', region: 'us-east-1', now: () => new Date() };

function notification(c: Route): Notification {
  if (c.action !== 'notify') throw new Error(`expected a notification, got ${JSON.stringify(c)}`);
  return c.notification;
}

describe('ECR Image Action', () => {
  it('reports a push with repository, tag and digest, and asks to clear the stale mark', () => {
    const c = route(event('ecr/image-action-push.json'), options);
    expect(c).toMatchObject({ action: 'notify', clearStaleMarkOf: 'team/web' });
    expect(notification(c)).toMatchObject({
      kind: 'image-push',
      outcome: 'success',
      repository: 'team/web',
      tag: 'v1.4.2',
      digest: 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd',
      region: 'us-west-2',
      account: '123456789012',
    });
    expect(notification(c).links[0]?.url).toContain(
      '/ecr/repositories/private/123456789012/team/web/_/image/sha256:',
    );
  });

  it('reports an untagged push without inventing a tag', () => {
    const n = notification(route(event('ecr/image-action-push-untagged.json'), options));
    expect(n.kind).toBe('image-push');
    expect(n.tag).toBeUndefined();
  });

  it('treats an empty image-tag as untagged', () => {
    const e = event('ecr/image-action-push.json');
    e.detail['image-tag'] = '';
    expect(notification(route(e, options)).tag).toBeUndefined();
  });

  it('reports a deletion, without clearing any mark', () => {
    const c = route(event('ecr/image-action-delete.json'), options);
    expect(notification(c)).toMatchObject({ kind: 'image-delete', outcome: 'info' });
    expect(c).not.toHaveProperty('clearStaleMarkOf');
  });

  it('reports a failed push as a failure, without clearing the mark', () => {
    const c = route(event('ecr/image-action-push-failure.json'), options);
    expect(notification(c)).toMatchObject({
      kind: 'image-action-failed',
      outcome: 'failure',
      title: 'Image push failed',
    });
    expect(c).not.toHaveProperty('clearStaleMarkOf');
  });

  it('ignores an unknown action type', () => {
    const e = event('ecr/image-action-push.json');
    e.detail['action-type'] = 'REPLICATE';
    expect(route(e, options)).toMatchObject({ action: 'ignore', malformed: false });
  });
});

describe('ECR Image Scan (basic)', () => {
  it('counts findings by severity and names the worst', () => {
    const n = notification(route(event('ecr/image-scan-complete.json'), options));
    expect(n).toMatchObject({
      kind: 'scan',
      scanner: 'basic',
      severity: 'CRITICAL',
      counts: { CRITICAL: 10, MEDIUM: 9 },
      tag: 'v1.4.2',
      outcome: 'warning',
    });
    expect(n.links[0]?.label).toBe('Scan findings');
  });

  it('handles an untagged image (empty image-tags) without crashing', () => {
    const n = notification(route(event('ecr/image-scan-untagged.json'), options));
    expect(n.tag).toBeUndefined();
    expect(n.counts).toEqual({ HIGH: 2, LOW: 5, INFORMATIONAL: 3 });
    expect(n.severity).toBe('HIGH');
  });

  it('reports a scan without findings as clean', () => {
    const n = notification(route(event('ecr/image-scan-clean.json'), options));
    expect(n).toMatchObject({
      severity: undefined,
      counts: {},
      outcome: 'success',
      title: 'Image scan clean',
    });
  });

  it('survives a missing finding-severity-counts and malformed counts', () => {
    const e = event('ecr/image-scan-complete.json');
    delete e.detail['finding-severity-counts'];
    expect(notification(route(e, options)).counts).toEqual({});
    e.detail['finding-severity-counts'] = {
      CRITICAL: 'many',
      HIGH: -1,
      LOW: 1.5,
      INFORMATIONAL: 2,
      INFORMATIVE: 4,
    };
    expect(notification(route(e, options)).counts).toEqual({ INFORMATIONAL: 2 });
  });

  it('reports a scan whose finding-severity-counts is null as clean', () => {
    const e = event('ecr/image-scan-complete.json');
    e.detail['finding-severity-counts'] = null;
    const n = notification(route(e, options));
    expect(n.counts).toEqual({});
    expect(n.severity).toBeUndefined();
  });

  it('survives image-tags that is not a list', () => {
    const e = event('ecr/image-scan-complete.json');
    e.detail['image-tags'] = null;
    expect(notification(route(e, options)).tag).toBeUndefined();
  });

  it('reports a failed scan as a failure', () => {
    const n = notification(route(event('ecr/image-scan-failed.json'), options));
    expect(n).toMatchObject({ kind: 'scan', outcome: 'failure', title: 'Image scan failed' });
  });
});

describe('Inspector2 Scan (enhanced)', () => {
  it('takes the repository name out of the ARN and ignores TOTAL', () => {
    const n = notification(route(event('inspector/scan-initial-complete.json'), options));
    expect(n).toMatchObject({
      kind: 'scan',
      scanner: 'enhanced',
      repository: 'team/web',
      tag: 'latest',
      counts: { CRITICAL: 7, HIGH: 61, MEDIUM: 62 },
      severity: 'CRITICAL',
      region: 'us-east-2',
    });
    expect(n.counts).not.toHaveProperty('TOTAL');
  });

  it('parses repository ARNs with paths, and leaves plain names alone', () => {
    expect(repositoryName('arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-linux')).toBe(
      'amazon/amazon-linux',
    );
    expect(repositoryName('arn:aws-cn:ecr:cn-north-1:123456789012:repository/web')).toBe('web');
    expect(repositoryName('team/web')).toBe('team/web');
  });
});

describe('CodeBuild Build State Change', () => {
  it('reports a failed build with its duration, failing phase, message and log link', () => {
    const n = notification(route(event('codebuild/build-failed.json'), options));
    expect(n).toMatchObject({
      kind: 'build-failed',
      outcome: 'failure',
      title: 'Build failed',
      repository: 'team/web',
      tag: 'v1.4.3',
      build: {
        project: 'ecr-pipeline-dev',
        status: 'FAILED',
        buildNumber: 42,
        durationSeconds: 112,
        failingPhase: 'BUILD',
        failureMessage: expect.stringContaining('exit status 1'),
      },
    });
    expect(n.links[0]).toEqual({
      label: 'Build logs',
      url: expect.stringMatching(
        /^https:\/\/console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-west-2#logEvent:/,
      ),
    });
  });

  it('reports a success without a failing phase', () => {
    const n = notification(route(event('codebuild/build-succeeded.json'), options));
    expect(n).toMatchObject({ kind: 'build-succeeded', outcome: 'success', build: { durationSeconds: 112 } });
    expect(n.build?.failingPhase).toBeUndefined();
    expect(n.build?.failureMessage).toBeUndefined();
  });

  it('reports a started build without a duration', () => {
    const n = notification(route(event('codebuild/build-in-progress.json'), options));
    expect(n).toMatchObject({ kind: 'build-started', outcome: 'info' });
    expect(n.build?.durationSeconds).toBeUndefined();
  });

  it('reports timed-out and stopped builds as failures of their phase', () => {
    expect(notification(route(event('codebuild/build-timed-out.json'), options))).toMatchObject({
      kind: 'build-failed',
      title: 'Build timed out',
      build: { failingPhase: 'BUILD', failingPhaseStatus: 'TIMED_OUT' },
    });
    expect(notification(route(event('codebuild/build-stopped.json'), options))).toMatchObject({
      kind: 'build-failed',
      title: 'Build stopped',
      build: { failingPhase: 'BUILD' },
    });
  });

  it('ignores builds of other projects', () => {
    expect(route(event('codebuild/build-other-project.json'), options)).toMatchObject({
      action: 'ignore',
      malformed: false,
    });
  });

  it('falls back to the sum of phase durations when the times are missing', () => {
    const e = event('codebuild/build-failed.json');
    const info = e.detail['additional-information'] as Record<string, unknown>;
    delete info['build-start-time'];
    expect(notification(route(e, options)).build?.durationSeconds).toBe(112);
  });

  it('survives an event without additional-information', () => {
    const e = event('codebuild/build-failed.json');
    delete e.detail['additional-information'];
    const n = notification(route(e, options));
    expect(n.build).toMatchObject({ status: 'FAILED', failingPhase: undefined, durationSeconds: undefined });
    expect(n.repository).toBeUndefined();
  });

  it('parses CodeBuild times as UTC, whatever the local time zone', () => {
    expect(parseCodeBuildTime('Nov 16, 2026 4:12:29 PM')).toBe(Date.UTC(2026, 10, 16, 16, 12, 29));
    expect(parseCodeBuildTime('Jan 1, 2026 12:00:00 AM')).toBe(Date.UTC(2026, 0, 1, 0, 0, 0));
    expect(parseCodeBuildTime('Jan 1, 2026 12:30:00 PM')).toBe(Date.UTC(2026, 0, 1, 12, 30, 0));
    expect(parseCodeBuildTime('2026-11-16T16:14:21Z')).toBe(Date.UTC(2026, 10, 16, 16, 14, 21));
    expect(parseCodeBuildTime('yesterday')).toBeUndefined();
  });
});

describe('Build Rejected', () => {
  it('reports the reason, code and upload', () => {
    const n = notification(route(event('ecr-pipeline/build-rejected.json'), options));
    expect(n).toMatchObject({
      kind: 'build-rejected',
      outcome: 'failure',
      repository: 'team/web',
      tag: 'v1.4.2',
      rejection: {
        code: 'TagAlreadyExists',
        reason: expect.stringContaining('immutable'),
        key: 'team/web/v1.4.2.tar.gz',
      },
    });
  });

  it('drops a rejection without a reason as malformed', () => {
    const e = event('ecr-pipeline/build-rejected.json');
    delete e.detail.reason;
    expect(route(e, options)).toMatchObject({ action: 'ignore', malformed: true });
  });
});

describe('sweeps and malformed input', () => {
  it('runs a sweep on the schedule', () => {
    expect(route(event('ecr-pipeline/scheduled-sweep.json'), options)).toEqual({
      action: 'sweep',
      trigger: 'schedule',
    });
  });

  it('runs a sweep on demand, with the dry run asked for', () => {
    expect(route(event('ecr-pipeline/sweep-on-demand.json'), options)).toEqual({
      action: 'sweep',
      trigger: 'on-demand',
      dryRun: true,
    });
  });

  it.each([
    ['null', null],
    ['a string', 'hello'],
    ['an array', []],
    ['an object without source', { 'detail-type': 'ECR Image Action', detail: {} }],
    ['an event without detail', { source: 'aws.ecr', 'detail-type': 'ECR Image Action' }],
    [
      'an image action without repository',
      { source: 'aws.ecr', 'detail-type': 'ECR Image Action', detail: { result: 'SUCCESS' } },
    ],
    [
      'a scan without status',
      { source: 'aws.ecr', 'detail-type': 'ECR Image Scan', detail: { 'repository-name': 'a' } },
    ],
  ])('drops %s as malformed', (_, payload) => {
    expect(route(payload, options)).toMatchObject({ action: 'ignore', malformed: true });
  });

  it('ignores an unknown detail-type without calling it malformed', () => {
    const e = event('ecr/image-action-push.json');
    e['detail-type'] = 'ECR Replication Action';
    expect(route(e, options)).toMatchObject({
      action: 'ignore',
      malformed: false,
      detailType: 'ECR Replication Action',
    });
  });
});
