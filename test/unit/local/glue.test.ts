import { describe, expect, it } from 'vitest';
import { rewriteEcrHosts } from '../../../local/gateway.ts';
import { manifestSize } from '../../../local/registry/images.ts';
import { parseRegistryPath } from '../../../local/registry-front.ts';
import { grypeCounts, trivyCounts } from '../../../local/scanner.ts';
import { ratePeriodMs } from '../../../local/schedules.ts';
import { slackText } from '../../../local/sinks.ts';

describe('gateway', () => {
  it('points ECR answers at the local registry instead of the AWS registry host', () => {
    const body = JSON.stringify({
      repository: { repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app' },
      authorizationData: [{ proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com' }],
    });
    expect(JSON.parse(rewriteEcrHosts(body, 'us-east-1', '127.0.0.1:4568'))).toEqual({
      repository: { repositoryUri: '127.0.0.1:4568/team/app' },
      authorizationData: [{ proxyEndpoint: 'http://127.0.0.1:4568' }],
    });
  });

  it('leaves other regions alone', () => {
    const body = '"123456789012.dkr.ecr.eu-west-1.amazonaws.com/a"';
    expect(rewriteEcrHosts(body, 'us-east-1', '127.0.0.1:1')).toBe(body);
  });
});

describe('registry front', () => {
  it('splits registry paths whose repository names have slashes', () => {
    expect(parseRegistryPath('/v2/team/app/manifests/v1')).toEqual({
      name: 'team/app',
      kind: 'manifests',
      reference: 'v1',
    });
    expect(parseRegistryPath('/v2/a/blobs/uploads/?x=1')).toEqual({
      name: 'a',
      kind: 'blobs',
      reference: 'uploads/',
    });
    expect(parseRegistryPath('/v2/')).toBeUndefined();
    expect(parseRegistryPath('/v2/_catalog')).toBeUndefined();
  });

  it('sizes an image as the sum of its layers, as ECR reports it', () => {
    const manifest = JSON.stringify({ config: { size: 500 }, layers: [{ size: 1000 }, { size: 24 }] });
    expect(manifestSize(manifest)).toBe(1024);
    expect(manifestSize(JSON.stringify({ manifests: [] }))).toBeUndefined();
    expect(manifestSize('not json')).toBeUndefined();
  });
});

describe('schedules', () => {
  it('reads the period of rate() expressions and leaves cron() to fireSchedule', () => {
    expect(ratePeriodMs('rate(1 day)')).toBe(86_400_000);
    expect(ratePeriodMs('rate(5 minutes)')).toBe(300_000);
    expect(ratePeriodMs('rate(2 hours)')).toBe(7_200_000);
    expect(ratePeriodMs('cron(0 3 * * ? *)')).toBeUndefined();
  });
});

describe('Slack sink', () => {
  it('prints the text of a message, or of its blocks and attachments', () => {
    expect(slackText({ text: 'hello' })).toBe('hello');
    expect(
      slackText({
        blocks: [
          { text: { text: 'title' } },
          { fields: [{ text: 'a' }, { text: 'b' }] },
          { elements: [{ text: 'ctx' }] },
        ],
      }),
    ).toBe('title\na\nb\nctx');
    expect(slackText({ attachments: [{ text: 'att', blocks: [{ text: { text: 'inner' } }] }] })).toBe(
      'att\ninner',
    );
  });
});

describe('scanner reports', () => {
  it("count trivy's findings by ECR severity, leaving zero counts out", () => {
    const report = {
      Results: [
        { Vulnerabilities: [{ Severity: 'HIGH' }, { Severity: 'CRITICAL' }, { Severity: 'HIGH' }] },
        { Vulnerabilities: [{ Severity: 'UNKNOWN' }] },
        { Target: 'no findings' },
      ],
    };
    expect(trivyCounts(report)).toEqual({ HIGH: 2, CRITICAL: 1, UNDEFINED: 1 });
    expect(trivyCounts({ Results: [] })).toEqual({});
  });

  it("count grype's findings by ECR severity, negligible as INFORMATIONAL", () => {
    const report = {
      matches: [{ vulnerability: { severity: 'Negligible' } }, { vulnerability: { severity: 'Medium' } }],
    };
    expect(grypeCounts(report)).toEqual({ INFORMATIONAL: 1, MEDIUM: 1 });
  });
});
