import { describe, expect, it } from 'vitest';
import { NOTIFICATION_KINDS, type NotificationKind } from '../../../../functions/ecr-events/config.ts';
import { verdict } from '../../../../functions/ecr-events/notify/noise.ts';
import type { Notification } from '../../../../functions/ecr-events/notify/notification.ts';
import type { Severity } from '../../../../functions/shared/severity.ts';

function config(overrides: Partial<Parameters<typeof verdict>[1]> = {}): Parameters<typeof verdict>[1] {
  return {
    notify: new Set(NOTIFICATION_KINDS),
    minScanSeverity: 'HIGH',
    ignoredRepositories: [],
    ...overrides,
  };
}

function scan(severity: Severity | undefined, outcome: Notification['outcome'] = 'warning'): Notification {
  return {
    kind: 'scan',
    outcome,
    title: 'Scan complete',
    region: 'us-east-1',
    account: '123456789012',
    time: '2026-11-30T10:00:00Z',
    repository: 'team-a/api',
    tag: 'v1',
    ...(severity ? { severity, counts: { [severity]: 1 } } : { counts: {} }),
    links: [],
  };
}

describe('verdict', () => {
  it('drops a MEDIUM scan while the minimum is HIGH, and says why', () => {
    expect(verdict(scan('MEDIUM'), config())).toEqual({
      send: false,
      reason: 'worst finding MEDIUM is below HIGH',
    });
  });

  it('sends a scan whose worst finding is exactly the minimum, and any worse one', () => {
    expect(verdict(scan('HIGH'), config())).toEqual({ send: true });
    expect(verdict(scan('CRITICAL'), config())).toEqual({ send: true });
    expect(verdict(scan('LOW'), config({ minScanSeverity: 'LOW' }))).toEqual({ send: true });
    expect(verdict(scan('INFORMATIONAL'), config({ minScanSeverity: 'LOW' })).send).toBe(false);
  });

  it('drops a clean scan unless the minimum is ALL', () => {
    expect(verdict(scan(undefined), config())).toEqual({
      send: false,
      reason: 'worst finding none is below HIGH',
    });
    expect(verdict(scan(undefined), config({ minScanSeverity: 'ALL' }))).toEqual({ send: true });
    expect(verdict(scan('UNDEFINED'), config({ minScanSeverity: 'ALL' }))).toEqual({ send: true });
  });

  it('always sends a failed scan, whatever its severity', () => {
    expect(verdict(scan(undefined, 'failure'), config({ minScanSeverity: 'CRITICAL' }))).toEqual({
      send: true,
    });
  });

  it('applies the severity minimum to scans only', () => {
    const push: Notification = { ...scan(undefined), kind: 'image-push', outcome: 'success' };
    expect(verdict(push, config({ minScanSeverity: 'CRITICAL' }))).toEqual({ send: true });
  });

  it('drops a kind that is switched off', () => {
    const off = config({ notify: new Set<NotificationKind>(['image-push']) });
    expect(verdict(scan('CRITICAL'), off)).toEqual({
      send: false,
      reason: 'notifications of kind scan are off',
    });
  });

  it('drops notifications about an ignored repository, matched as a whole name', () => {
    expect(verdict(scan('CRITICAL'), config({ ignoredRepositories: ['team-a/*'] }))).toEqual({
      send: false,
      reason: 'repository team-a/api is ignored',
    });
    expect(verdict(scan('CRITICAL'), config({ ignoredRepositories: ['team-a'] }))).toEqual({ send: true });
    expect(verdict(scan('CRITICAL'), config({ ignoredRepositories: ['x/team-a/*'] }))).toEqual({
      send: true,
    });
  });
});
