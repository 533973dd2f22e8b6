import { describe, expect, it } from 'vitest';
import { parseCodeBuildTime } from '../../../functions/ecr-events/codebuild-time.ts';
import type { Notification } from '../../../functions/ecr-events/notify/notification.ts';
import { type Route, repositoryName, route, withBuildLog } from '../../../functions/ecr-events/route.ts';
import { event } from './fixtures.ts';

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

  it("tells nobody of the build cache's tag moving", () => {
    const e = event('ecr/image-action-push.json');
    e.detail['image-tag'] = 'ecr-pipeline-cache';
    expect(route(e, options)).toMatchObject({ action: 'ignore', reason: expect.stringContaining('cache') });
  });

  it('still reports a failed push without a tag', () => {
    const e = event('ecr/image-action-push-failure.json');
    delete e.detail['image-tag'];
    expect(notification(route(e, options)).kind).toBe('image-action-failed');
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
      region: 'us-west-2',
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
      url: 'https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#logsV2:log-groups/log-group/$252Faws$252Fcodebuild$252Fecr-pipeline-dev/log-events/8745a7a9-c340-456a-9166-edf953571bef',
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

  it('refuses builds of other projects', () => {
    expect(route(event('codebuild/build-other-project.json'), options)).toMatchObject({
      action: 'ignore',
      malformed: true,
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
    e['detail-type'] = 'ECR Pull Through Cache Action';
    expect(route(e, options)).toMatchObject({
      action: 'ignore',
      malformed: false,
      detailType: 'ECR Pull Through Cache Action',
    });
  });
});

describe('what every routed event carries', () => {
  const fixed = { ...options, now: () => new Date('2026-11-20T10:00:00.000Z') };

  it('routes the replication check schedule to the replication check', () => {
    expect(route({ action: 'check-replication' }, options)).toEqual({ action: 'check-replication' });
  });

  it('leaves the dry run of an on-demand sweep to the configuration when the payload gives no boolean', () => {
    expect(route({ action: 'sweep', dryRun: 'yes' }, options)).toEqual({
      action: 'sweep',
      trigger: 'on-demand',
      dryRun: undefined,
    });
    expect(route({ action: 'sweep', dryRun: false }, options)).toMatchObject({ dryRun: false });
  });

  it('drops an event without source or detail-type as malformed, and says why', () => {
    expect(route({ source: 'aws.ecr', detail: {} }, options)).toEqual({
      action: 'ignore',
      reason: 'not an EventBridge event (no source or detail-type)',
      malformed: true,
      detailType: undefined,
    });
    expect(route({ source: '', 'detail-type': 'ECR Image Action', detail: {} }, options)).toMatchObject({
      malformed: true,
    });
  });

  it('drops an event whose detail is not an object, naming its detail-type', () => {
    const from = { account: '123456789012', region: 'us-west-2' };
    for (const detail of [null, [], 'text']) {
      expect(
        route({ ...from, source: 'aws.ecr', 'detail-type': 'ECR Image Action', detail }, options),
      ).toEqual({
        action: 'ignore',
        reason: 'event has no detail object',
        malformed: true,
        detailType: 'ECR Image Action',
      });
    }
  });

  it('sweeps on the schedule only for a Scheduled Event of aws.events', () => {
    const from = { account: '123456789012', region: 'us-west-2' };
    expect(
      route({ ...from, source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }, options),
    ).toEqual({ action: 'sweep', trigger: 'schedule' });
    expect(
      route({ ...from, source: 'aws.events', 'detail-type': 'Other', detail: {} }, options),
    ).toMatchObject({
      action: 'ignore',
      reason: 'unknown event aws.events / Other',
      malformed: false,
    });
    expect(
      route({ ...from, source: 'aws.ecr', 'detail-type': 'Scheduled Event', detail: {} }, options),
    ).toMatchObject({ action: 'ignore' });
  });

  it("takes the clock's time for an event that names none", () => {
    const e = event('ecr/image-action-delete.json');
    delete e.time;
    expect(notification(route(e, fixed))).toMatchObject({
      region: 'us-west-2',
      account: '123456789012',
      time: '2026-11-20T10:00:00.000Z',
    });
    const named = notification(route(event('ecr/image-action-delete.json'), fixed));
    expect(named.time).not.toBe('2026-11-20T10:00:00.000Z');
  });
});

describe('ECR Image Action: what the notification says', () => {
  it('links the image first, then the repository, for a successful push', () => {
    const e = event('ecr/image-action-push.json');
    const n = notification(route(e, options));
    const digest = String(e.detail['image-digest']);
    expect(n.title).toBe('Image pushed');
    expect(n.links).toEqual([
      {
        label: 'Image',
        url: `https://us-west-2.console.aws.amazon.com/ecr/repositories/private/123456789012/team/web/_/image/${digest}/details?region=us-west-2`,
      },
      {
        label: 'Repository',
        url: 'https://us-west-2.console.aws.amazon.com/ecr/repositories/private/123456789012/team/web?region=us-west-2',
      },
    ]);
  });

  it('links only the repository for a push without a digest, a failed push or a deletion', () => {
    const untagged = event('ecr/image-action-push.json');
    delete untagged.detail['image-digest'];
    for (const e of [
      untagged,
      event('ecr/image-action-push-failure.json'),
      event('ecr/image-action-delete.json'),
    ]) {
      expect(notification(route(e, options)).links.map((l) => l.label)).toEqual(['Repository']);
    }
  });

  it('says what ECR reported for a failed push, with the tag and digest', () => {
    const e = event('ecr/image-action-push-failure.json');
    expect(route(e, options)).toEqual({
      action: 'notify',
      notification: {
        region: 'us-west-2',
        account: '123456789012',
        time: '2026-11-16T03:05:41Z',
        kind: 'image-action-failed',
        outcome: 'failure',
        title: 'Image push failed',
        repository: 'team/web',
        tag: 'v1.4.3',
        digest: e.detail['image-digest'],
        detail: 'ECR reported FAILURE for the push.',
        links: [expect.objectContaining({ label: 'Repository' })],
      },
    });
  });

  it('calls a failed deletion a failed deletion', () => {
    const e = event('ecr/image-action-delete.json');
    e.detail.result = 'FAILURE';
    expect(notification(route(e, options))).toMatchObject({
      kind: 'image-action-failed',
      title: 'Image delete failed',
      detail: 'ECR reported FAILURE for the delete.',
    });
  });

  it('titles a deletion', () => {
    expect(notification(route(event('ecr/image-action-delete.json'), options)).title).toBe('Image deleted');
  });

  it.each(['repository-name', 'action-type', 'result'])(
    'drops an image action without %s as malformed',
    (field) => {
      const e = event('ecr/image-action-push.json');
      delete e.detail[field];
      expect(route(e, options)).toEqual({
        action: 'ignore',
        reason: 'ECR Image Action without repository-name, action-type or result',
        malformed: true,
        detailType: 'ECR Image Action',
      });
    },
  );

  it('names the unknown action type and the repository when it ignores one', () => {
    const e = event('ecr/image-action-push.json');
    e.detail['action-type'] = 'REPLICATE';
    expect(route(e, options)).toEqual({
      action: 'ignore',
      reason: 'unknown action-type REPLICATE',
      malformed: false,
      detailType: 'ECR Image Action',
      repository: 'team/web',
    });
  });
});

describe('scans: what the notification says', () => {
  it('links the findings, then the image, of a scanned image', () => {
    const e = event('ecr/image-scan-complete.json');
    const digest = String(e.detail['image-digest']);
    expect(notification(route(e, options)).links).toEqual([
      {
        label: 'Scan findings',
        url: `https://us-west-2.console.aws.amazon.com/ecr/repositories/private/123456789012/team/web/_/image/${digest}/scan-results?region=us-west-2`,
      },
      {
        label: 'Image',
        url: `https://us-west-2.console.aws.amazon.com/ecr/repositories/private/123456789012/team/web/_/image/${digest}/details?region=us-west-2`,
      },
    ]);
  });

  it('links the repository of a scan that names no digest', () => {
    const e = event('ecr/image-scan-complete.json');
    delete e.detail['image-digest'];
    expect(notification(route(e, options)).links).toEqual([
      {
        label: 'Repository',
        url: 'https://us-west-2.console.aws.amazon.com/ecr/repositories/private/123456789012/team/web?region=us-west-2',
      },
    ]);
  });

  it('takes the first tag that is a non-empty string', () => {
    const e = event('ecr/image-scan-complete.json');
    e.detail['image-tags'] = ['', 7, 'v2', 'latest'];
    expect(notification(route(e, options)).tag).toBe('v2');
  });

  it('says the status of a failed scan, including the statuses that end in _FAILED', () => {
    expect(notification(route(event('ecr/image-scan-failed.json'), options))).toMatchObject({
      outcome: 'failure',
      detail: 'Scan status FAILED.',
      repository: 'team/api',
      tag: 'v2.0.1',
      scanner: 'basic',
    });
    const e = event('inspector/scan-initial-complete.json');
    e.detail['scan-status'] = 'INITIAL_SCAN_FAILED';
    expect(notification(route(e, options))).toMatchObject({
      outcome: 'failure',
      title: 'Image scan failed',
      detail: 'Scan status INITIAL_SCAN_FAILED.',
      scanner: 'enhanced',
    });
  });

  it('ignores a scan status that carries no results, naming the status and the repository', () => {
    const e = event('ecr/image-scan-complete.json');
    e.detail['scan-status'] = 'IN_PROGRESS';
    expect(route(e, options)).toEqual({
      action: 'ignore',
      reason: 'scan-status IN_PROGRESS carries no results',
      malformed: false,
      detailType: 'ECR Image Scan',
      repository: 'team/web',
    });
    e.detail['scan-status'] = 'COMPLETE_SOON';
    expect(route(e, options)).toMatchObject({ action: 'ignore' });
  });

  it('drops a scan without repository-name as malformed, naming the detail-type', () => {
    const e = event('inspector/scan-initial-complete.json');
    delete e.detail['repository-name'];
    expect(route(e, options)).toEqual({
      action: 'ignore',
      reason: 'Inspector2 Scan without repository-name or scan-status',
      malformed: true,
      detailType: 'Inspector2 Scan',
    });
  });

  it('calls HIGH a warning and titles the worst severity; MEDIUM and below are a success', () => {
    const high = event('ecr/image-scan-complete.json');
    high.detail['finding-severity-counts'] = { HIGH: 1, LOW: 2 };
    expect(notification(route(high, options))).toMatchObject({
      outcome: 'warning',
      title: 'Vulnerabilities found (worst: HIGH)',
      severity: 'HIGH',
    });
    const medium = event('ecr/image-scan-complete.json');
    medium.detail['finding-severity-counts'] = { MEDIUM: 3 };
    expect(notification(route(medium, options))).toMatchObject({
      outcome: 'success',
      title: 'Vulnerabilities found (worst: MEDIUM)',
      severity: 'MEDIUM',
    });
  });
});

describe('Inspector2 Finding', () => {
  const finding = () => event('inspector/finding-ecr-image.json');
  const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';

  it("routes an active finding as news of its image, naming the finding, with the image's links", () => {
    expect(route(finding(), options)).toEqual({
      action: 'notify',
      notification: {
        region: 'us-west-2',
        account: '123456789012',
        time: '2026-11-20T06:02:30Z',
        kind: 'scan',
        scanner: 'enhanced',
        outcome: 'info',
        title: 'New finding',
        repository: 'team/web',
        tag: 'v1.4.3',
        digest: DIGEST,
        finding: {
          arn: 'arn:aws:inspector2:us-west-2:123456789012:finding/be674aaddd0f75ac632055a1b2c3d4e5',
          severity: 'HIGH',
          title: 'CVE-2019-17498 - libssh2',
        },
        links: [
          expect.objectContaining({
            label: 'Scan findings',
            url: expect.stringContaining(`/image/${DIGEST}/`),
          }),
          expect.objectContaining({
            label: 'Image',
            url: expect.stringContaining(`/image/${DIGEST}/details`),
          }),
        ],
      },
    });
  });

  it('titles a finding without a title by its ARN, and takes the first non-empty tag', () => {
    const e = finding();
    delete e.detail.title;
    const resources = e.detail.resources as { details: { awsEcrContainerImage: { imageTags: unknown } } }[];
    (resources[0] as (typeof resources)[0]).details.awsEcrContainerImage.imageTags = ['', 3, 'v9'];
    const n = notification(route(e, options));
    expect(n.finding?.title).toBe(n.finding?.arn);
    expect(n.tag).toBe('v9');
  });

  it('reports an image without tags as untagged', () => {
    const e = finding();
    const resources = e.detail.resources as { details: { awsEcrContainerImage: Record<string, unknown> } }[];
    delete (resources[0] as (typeof resources)[0]).details.awsEcrContainerImage.imageTags;
    expect(notification(route(e, options)).tag).toBeUndefined();
  });

  it('finds the image among other resources', () => {
    const e = finding();
    e.detail.resources = ['text', { details: 'none' }, { details: {} }, ...(e.detail.resources as unknown[])];
    expect(notification(route(e, options)).repository).toBe('team/web');
  });

  it.each(['findingArn', 'severity', 'status'])('drops a finding without %s as malformed', (field) => {
    const e = finding();
    delete e.detail[field];
    expect(route(e, options)).toEqual({
      action: 'ignore',
      reason: 'Inspector2 Finding without findingArn, severity or status',
      malformed: true,
      detailType: 'Inspector2 Finding',
    });
  });

  it('ignores a finding of a resource other than an ECR image', () => {
    for (const resources of [undefined, 'none', [{ details: { awsLambdaFunction: {} } }]]) {
      const e = finding();
      e.detail.resources = resources;
      expect(route(e, options)).toEqual({
        action: 'ignore',
        reason: 'finding of a resource other than an ECR image',
        malformed: false,
        detailType: 'Inspector2 Finding',
        repository: undefined,
      });
    }
    const noDigest = finding();
    const resources = noDigest.detail.resources as {
      details: { awsEcrContainerImage: Record<string, unknown> };
    }[];
    delete (resources[0] as (typeof resources)[0]).details.awsEcrContainerImage.imageHash;
    expect(route(noDigest, options)).toMatchObject({
      reason: 'finding of a resource other than an ECR image',
    });
  });

  it('ignores a finding that is no longer active, naming its status and repository', () => {
    const e = finding();
    e.detail.status = 'SUPPRESSED';
    expect(route(e, options)).toEqual({
      action: 'ignore',
      reason: 'finding status SUPPRESSED is not news',
      malformed: false,
      detailType: 'Inspector2 Finding',
      repository: 'team/web',
    });
  });
});

describe('CodeBuild Build State Change: what the notification says', () => {
  type Info = Record<string, unknown> & { phases: Record<string, unknown>[] };
  const failed = () => event('codebuild/build-failed.json');
  const infoOf = (e: ReturnType<typeof event>) => e.detail['additional-information'] as Info;
  const BUILD_ID =
    'arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef';

  it('gives the build, its log stream, and links to the log, the build and the repository', () => {
    const n = notification(route(failed(), options));
    expect(n.build).toEqual({
      id: BUILD_ID,
      project: 'ecr-pipeline-dev',
      status: 'FAILED',
      buildNumber: 42,
      durationSeconds: 112,
      failingPhase: 'BUILD',
      failingPhaseStatus: 'FAILED',
      failureMessage:
        'COMMAND_EXECUTION_ERROR: Error while executing command: buildctl build --frontend dockerfile.v0. Reason: exit status 1',
      initiator: 'ecr-pipeline-dev-buildTrigger',
      logStream: { group: '/aws/codebuild/ecr-pipeline-dev', stream: '8745a7a9-c340-456a-9166-edf953571bef' },
    });
    expect(n.links.map((l) => l.label)).toEqual(['Build logs', 'Build', 'Repository']);
    expect(n.links[1]?.url).toBe(
      `https://us-west-2.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/ecr-pipeline-dev/build/${encodeURIComponent(BUILD_ID)}/?region=us-west-2`,
    );
    expect(n).toMatchObject({ repository: 'team/web', tag: 'v1.4.3', time: '2026-11-16T16:14:21Z' });
  });

  it('refuses every build when no project name is configured, and builds of another project', () => {
    const e = event('codebuild/build-other-project.json');
    const refusal = {
      action: 'ignore',
      reason: `build of another project (${e.detail['project-name']})`,
      malformed: true,
      detailType: 'CodeBuild Build State Change',
    };
    expect(route(e, { ...options, projectName: '' })).toEqual(refusal);
    expect(route(e, options)).toEqual(refusal);
    expect(route(failed(), { ...options, projectName: '' })).toMatchObject({ action: 'ignore' });
  });

  it.each(['build-status', 'project-name', 'build-id'])(
    'drops a build event without %s as malformed',
    (field) => {
      const e = failed();
      delete e.detail[field];
      expect(route(e, options)).toEqual({
        action: 'ignore',
        reason: 'CodeBuild event without build-status, project-name or build-id',
        malformed: true,
        detailType: 'CodeBuild Build State Change',
      });
    },
  );

  it('ignores an unknown build status, naming it and the repository', () => {
    const e = failed();
    e.detail['build-status'] = 'PAUSED';
    expect(route(e, options)).toEqual({
      action: 'ignore',
      reason: 'unknown build-status PAUSED',
      malformed: false,
      detailType: 'CodeBuild Build State Change',
      repository: 'team/web',
    });
  });

  it('titles a build that ended in a CodeBuild fault, and each failed status as a failure', () => {
    const e = failed();
    e.detail['build-status'] = 'FAULT';
    expect(notification(route(e, options))).toMatchObject({
      kind: 'build-failed',
      outcome: 'failure',
      title: 'Build failed (CodeBuild fault)',
    });
    expect(notification(route(failed(), options)).title).toBe('Build failed');
    expect(notification(route(event('codebuild/build-succeeded.json'), options)).title).toBe(
      'Build succeeded',
    );
    expect(notification(route(event('codebuild/build-in-progress.json'), options)).title).toBe(
      'Build started',
    );
  });

  it.each(['FAULT', 'TIMED_OUT', 'STOPPED', 'CLIENT_ERROR'])(
    'takes a phase that ended %s as the failing phase',
    (status) => {
      const e = failed();
      const phases = infoOf(e).phases;
      (phases[6] as Record<string, unknown>)['phase-status'] = 'SUCCEEDED';
      (phases[4] as Record<string, unknown>)['phase-status'] = status;
      expect(notification(route(e, options)).build).toMatchObject({
        failingPhase: 'INSTALL',
        failingPhaseStatus: status,
      });
    },
  );

  it("takes the failing phase's first message that says something", () => {
    const e = failed();
    (infoOf(e).phases[6] as Record<string, unknown>)['phase-context'] = ['  ', ':', 7, '  exit status 2 '];
    expect(notification(route(e, options)).build?.failureMessage).toBe('exit status 2');
    (infoOf(e).phases[6] as Record<string, unknown>)['phase-context'] = 'exit status 3';
    expect(notification(route(e, options)).build?.failureMessage).toBeUndefined();
  });

  it('without phase details, names the phase a failed build stopped in, but not COMPLETED', () => {
    const e = failed();
    infoOf(e).phases = [];
    e.detail['current-phase'] = 'PRE_BUILD';
    expect(notification(route(e, options)).build).toMatchObject({
      failingPhase: 'PRE_BUILD',
      failingPhaseStatus: undefined,
    });
    e.detail['current-phase'] = 'COMPLETED';
    expect(notification(route(e, options)).build?.failingPhase).toBeUndefined();
    const succeeded = event('codebuild/build-succeeded.json');
    succeeded.detail['current-phase'] = 'BUILD';
    expect(notification(route(succeeded, options)).build?.failingPhase).toBeUndefined();
    const started = event('codebuild/build-in-progress.json');
    expect(notification(route(started, options)).build?.failingPhase).toBeUndefined();
  });

  it('reads environment variables and phases only from lists of objects', () => {
    const e = failed();
    const info = infoOf(e);
    (info.environment as Record<string, unknown>)['environment-variables'] = 'IMAGE_REPOSITORY=team/web';
    expect(notification(route(e, options)).repository).toBeUndefined();
    info.environment = 'none';
    expect(notification(route(e, options)).tag).toBeUndefined();
    info.phases = 'none' as never;
    e.detail['current-phase'] = 'BUILD';
    expect(notification(route(e, options)).build?.failingPhase).toBe('BUILD');
    info['build-number'] = '42';
    expect(notification(route(e, options)).build?.buildNumber).toBeUndefined();
  });

  it('links no log and names no stream when the event has no log details', () => {
    const e = failed();
    infoOf(e).logs = { 'group-name': '/aws/codebuild/ecr-pipeline-dev' };
    const n = notification(route(e, options));
    expect(n.build?.logStream).toBeUndefined();
    expect(n.links.map((l) => l.label)).toEqual(['Build', 'Repository']);
    infoOf(e).logs = 'none';
    expect(notification(route(e, options)).links.map((l) => l.label)).toEqual(['Build', 'Repository']);
  });

  it("builds the log link from the log group and stream, never from the event's deep-link", () => {
    const link = (url: string) => {
      const e = failed();
      (infoOf(e).logs as Record<string, unknown>)['deep-link'] = url;
      return notification(route(e, options)).links.find((l) => l.label === 'Build logs')?.url;
    };
    const ours = link('https://console.aws.amazon.com/cloudwatch/home');
    expect(ours).toMatch(
      /^https:\/\/us-west-2\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=us-west-2#/,
    );
    for (const forged of [
      'https://evil.example.com/logs',
      'http://127.0.0.1:4590/logs/x',
      'javascript:alert(1)',
    ]) {
      expect(link(forged)).toBe(ours);
    }
  });

  it('escapes the log group and stream in the log link, and links no log without them', () => {
    const e = failed();
    const logs = infoOf(e).logs as Record<string, unknown>;
    logs['stream-name'] = 'a/b#c?d';
    const url = notification(route(e, options)).links.find((l) => l.label === 'Build logs')?.url;
    expect(url?.endsWith('/log-events/a$252Fb$2523c$253Fd')).toBe(true);
    delete logs['group-name'];
    expect(notification(route(e, options)).links.map((l) => l.label)).not.toContain('Build logs');
  });

  it('times a build from its start to the COMPLETED phase, else to the end of the last phase', () => {
    const e = failed();
    expect(notification(route(e, options)).build?.durationSeconds).toBe(112);
    const phases = infoOf(e).phases.filter((p) => p['phase-type'] !== 'COMPLETED');
    (phases.at(-1) as Record<string, unknown>)['end-time'] = 'Nov 16, 2026 4:14:18 PM';
    infoOf(e).phases = phases;
    expect(notification(route(e, options)).build?.durationSeconds).toBe(109);
  });

  it('sums the phases when the end comes before the start, and uses the event time when nothing else tells', () => {
    const e = failed();
    const info = infoOf(e);
    info['build-start-time'] = 'Nov 16, 2026 4:20:00 PM';
    expect(notification(route(e, options)).build?.durationSeconds).toBe(112);
    info['build-start-time'] = 'Nov 16, 2026 4:14:21 PM';
    expect(notification(route(e, options)).build?.durationSeconds).toBe(0);
    info['build-start-time'] = 'Nov 16, 2026 4:12:29 PM';
    info.phases = [];
    expect(notification(route(e, options)).build?.durationSeconds).toBe(112);
    e.time = '2026-11-16T16:12:28Z';
    expect(notification(route(e, options)).build?.durationSeconds).toBeUndefined();
    e.time = '2026-11-16T16:12:29Z';
    expect(notification(route(e, options)).build?.durationSeconds).toBe(0);
    delete info['build-start-time'];
    expect(notification(route(e, options)).build?.durationSeconds).toBeUndefined();
  });

  it('rounds the duration to the second and counts only numeric phase durations', () => {
    const e = failed();
    const info = infoOf(e);
    info['build-start-time'] = '2026-11-16T16:12:29.600Z';
    info.phases = [{ 'phase-type': 'COMPLETED', 'start-time': '2026-11-16T16:14:21.000Z' }];
    expect(notification(route(e, options)).build?.durationSeconds).toBe(111);
    delete info['build-start-time'];
    info.phases = [
      { 'duration-in-seconds': 5 },
      { 'duration-in-seconds': '7' },
      { 'duration-in-seconds': 2 },
    ];
    expect(notification(route(e, options)).build?.durationSeconds).toBe(7);
  });
});

describe('Build Rejected: what the notification says', () => {
  it('gives the rejection and links the upload in the S3 console', () => {
    expect(route(event('ecr-pipeline/build-rejected.json'), options)).toEqual({
      action: 'notify',
      notification: {
        region: 'us-west-2',
        account: '123456789012',
        time: '2026-11-16T09:30:00Z',
        kind: 'build-rejected',
        outcome: 'failure',
        title: 'Upload rejected',
        repository: 'team/web',
        tag: 'v1.4.2',
        rejection: {
          code: 'TagAlreadyExists',
          reason: 'tag v1.4.2 already exists in team/web, whose tags are immutable',
          bucket: 'ecr-pipeline-dev-contexts-123456789012-us-west-2',
          key: 'team/web/v1.4.2.tar.gz',
        },
        links: [
          {
            label: 'Upload',
            url: 'https://s3.console.aws.amazon.com/s3/object/ecr-pipeline-dev-contexts-123456789012-us-west-2?region=us-west-2&prefix=team%2Fweb%2Fv1.4.2.tar.gz',
          },
        ],
      },
    });
  });

  it.each(['code', 'reason', 'bucket', 'key'])(
    'drops a rejection without %s as malformed, saying why',
    (field) => {
      const e = event('ecr-pipeline/build-rejected.json');
      delete e.detail[field];
      expect(route(e, options)).toEqual({
        action: 'ignore',
        reason: 'Build Rejected without code, reason, bucket or key',
        malformed: true,
        detailType: 'Build Rejected',
      });
    },
  );
});

describe('withBuildLog', () => {
  const failedBuild = () => notification(route(event('codebuild/build-failed.json'), options));

  it('adds the excerpt to a failed build, keeping its title', () => {
    const log = { tail: ['error: configuration missing'] };
    const n = withBuildLog(failedBuild(), log);
    expect(n).toMatchObject({
      title: 'Build failed',
      outcome: 'failure',
      build: { log, id: expect.any(String) },
    });
  });

  it('calls a failed build whose log says superseded superseded, as information', () => {
    const log = { reason: 'superseded: a newer upload exists', tail: [] };
    expect(withBuildLog(failedBuild(), log)).toMatchObject({ title: 'Build superseded', outcome: 'info' });
  });

  it('leaves a notification without a build alone, and never calls a succeeded build superseded', () => {
    const push = notification(route(event('ecr/image-action-push.json'), options));
    expect(withBuildLog(push, { reason: 'superseded: x', tail: [] })).toBe(push);
    const succeeded = notification(route(event('codebuild/build-succeeded.json'), options));
    expect(withBuildLog(succeeded, { reason: 'superseded: x', tail: [] })).toMatchObject({
      title: 'Build succeeded',
      outcome: 'success',
    });
  });
});

describe('fields of the wrong type', () => {
  it('takes only non-empty text for the fields of an event, and refuses an origin that is not text', () => {
    const e = event('ecr/image-action-delete.json');
    e.time = 1_763_309_549_000;
    expect(
      notification(route(e, { ...options, now: () => new Date('2026-11-20T10:00:00.000Z') })),
    ).toMatchObject({ time: '2026-11-20T10:00:00.000Z' });
    const region = event('ecr/image-action-delete.json');
    region.region = 7;
    expect(route(region, options)).toMatchObject({
      action: 'ignore',
      malformed: true,
      reason: "event from region none, not this function's (us-west-2)",
    });
    const account = event('ecr/image-action-delete.json');
    account.account = ['123456789012'];
    expect(route(account, options)).toMatchObject({
      action: 'ignore',
      reason: "event from account none, not this function's (123456789012)",
    });
  });

  it('takes a repository name only from an ARN that begins the value', () => {
    expect(repositoryName('xarn:aws:ecr:us-east-2:123456789012:repository/web')).toBe(
      'xarn:aws:ecr:us-east-2:123456789012:repository/web',
    );
  });

  it('skips null entries among the resources of a finding and the variables of a build', () => {
    const finding = event('inspector/finding-ecr-image.json');
    finding.detail.resources = [null, ...(finding.detail.resources as unknown[])];
    expect(notification(route(finding, options)).repository).toBe('team/web');
    const build = event('codebuild/build-failed.json');
    const info = build.detail['additional-information'] as { environment: Record<string, unknown[]> };
    info.environment['environment-variables'] = [null, ...(info.environment['environment-variables'] ?? [])];
    expect(notification(route(build, options)).repository).toBe('team/web');
  });

  it('links no repository for a build that names none', () => {
    const e = event('codebuild/build-failed.json');
    const info = e.detail['additional-information'] as { environment: Record<string, unknown> };
    info.environment['environment-variables'] = [];
    expect(notification(route(e, options)).links.map((l) => l.label)).toEqual(['Build logs', 'Build']);
  });
});

describe('phases of the wrong type', () => {
  it('skips null entries among the phases of a build', () => {
    const e = event('codebuild/build-failed.json');
    const info = e.detail['additional-information'] as { phases: unknown[] };
    info.phases = [null, ...info.phases];
    expect(notification(route(e, options)).build).toMatchObject({
      failingPhase: 'BUILD',
      durationSeconds: 112,
    });
  });
});

describe("an event's origin", () => {
  const fixtures = [
    'ecr/image-action-push.json',
    'ecr/image-scan-complete.json',
    'inspector/scan-initial-complete.json',
    'inspector/finding-ecr-image.json',
    'codebuild/build-failed.json',
    // The pipeline's own events, put on the stack's bus by its functions (source ecr-pipeline):
    // EventBridge stamps them with the putter's account and region, which are the function's.
    'ecr-pipeline/build-rejected.json',
    'ecr-pipeline/release-verdict-held.json',
  ];

  it.each(fixtures)('refuses %s from another account, naming both accounts', (path) => {
    const e = event(path);
    expect(route(e, options)).toMatchObject({ action: 'notify' });
    e.account = '999999999999';
    expect(route(e, options)).toEqual({
      action: 'ignore',
      reason: `event from account "999999999999", not this function's (123456789012)`,
      malformed: true,
      detailType: e['detail-type'],
    });
  });

  it.each(fixtures)('refuses %s from another region', (path) => {
    const e = event(path);
    e.region = 'eu-west-1';
    expect(route(e, options)).toMatchObject({
      action: 'ignore',
      reason: `event from region "eu-west-1", not this function's (us-west-2)`,
      malformed: true,
    });
  });

  it('refuses an event that names no account or region', () => {
    for (const field of ['account', 'region']) {
      const e = event('ecr/image-action-push.json');
      delete e[field];
      expect(route(e, options)).toMatchObject({ action: 'ignore', malformed: true });
    }
  });

  it('sweeps on a schedule only from its own account', () => {
    const scheduled = {
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      detail: {},
      region: 'us-west-2',
    };
    expect(route({ ...scheduled, account: '123456789012' }, options)).toMatchObject({ action: 'sweep' });
    expect(route({ ...scheduled, account: '999999999999' }, options)).toMatchObject({ action: 'ignore' });
  });

  it.each([
    ['another project', 'arn:aws:codebuild:us-west-2:123456789012:build/other-project:8745a7a9'],
    ['another account', 'arn:aws:codebuild:us-west-2:999999999999:build/ecr-pipeline-dev:8745a7a9'],
    ['another region', 'arn:aws:codebuild:eu-west-1:123456789012:build/ecr-pipeline-dev:8745a7a9'],
    ['no ARN', 'ecr-pipeline-dev:8745a7a9'],
    ['a path in the ARN', 'arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:8745a7a9/x'],
  ])('refuses a build event whose build id names %s', (_what, buildId) => {
    const e = event('codebuild/build-failed.json');
    e.detail['build-id'] = buildId;
    const routed = route(e, options);
    expect(routed).toMatchObject({ action: 'ignore', malformed: true });
    expect(routed.action === 'ignore' && routed.reason).toContain(buildId);
  });
});
