/** Which images `submit --wait-scan` waits for, which scan is the worst, and the gate over several. */
import { describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/errors.ts';
import type { ScanResult } from '../../../cli/scan.ts';
import {
  compareCounts,
  type ScanTarget,
  scanLine,
  scanTargets,
  waitForScans,
  worstScan,
} from '../../../cli/scan-gate.ts';
import type { UploadRecord } from '../../../functions/shared/upload-record.ts';

const AMD = `sha256:${'a'.repeat(64)}`;
const ARM = `sha256:${'b'.repeat(64)}`;
const V7 = `sha256:${'c'.repeat(64)}`;
const record: UploadRecord = {
  status: 'released',
  bucket: 'b',
  key: 'team/web/v1.tar.gz',
  repository: 'team/web',
  digest: `sha256:${'f'.repeat(64)}`,
  at: '2026-12-03T10:00:00.000Z',
  legs: [
    { platform: 'linux/amd64', emulated: false, environmentType: 'LINUX_CONTAINER', digest: AMD },
    { platform: 'linux/arm64', emulated: false, environmentType: 'ARM_CONTAINER', digest: ARM },
  ],
};

describe('the images whose scans are waited for', () => {
  it("is every leg's image, in the upload's platform order, never the index or only the followed leg", () => {
    expect(scanTargets(record, AMD)).toEqual([
      { digest: AMD, platform: 'linux/amd64' },
      { digest: ARM, platform: 'linux/arm64' },
    ]);
  });

  it('is the pushed image for an upload of one platform or none', () => {
    expect(scanTargets({ ...record, legs: undefined }, AMD)).toEqual([{ digest: AMD }]);
    expect(scanTargets({ ...record, legs: record.legs?.slice(0, 1) }, ARM)).toEqual([{ digest: ARM }]);
    expect(() => scanTargets({ ...record, legs: undefined }, undefined)).toThrow(
      'no scan to wait for: the build reported no digest',
    );
  });

  it('names a leg that has no image, with its control characters stripped', () => {
    const legs = [
      ...(record.legs ?? []),
      { platform: 'linux/arm/v7\u001b[2J', emulated: true, environmentType: 'ARM_CONTAINER' },
    ];
    expect(() => scanTargets({ ...record, legs }, AMD)).toThrow(
      /^no scan to wait for: the linux\/arm\/v7 leg reported no digest$/,
    );
    let thrown: unknown;
    try {
      scanTargets({ ...record, legs }, AMD);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ hint: 'see the upload with: ecr-pipeline status team/web/v1.tar.gz' });
    // One leg without its image is not the one image of a single-platform upload.
    expect(() => scanTargets({ ...record, legs: [...legs.slice(0, 1), legs[2] as never] }, AMD)).toThrow(
      'leg reported no digest',
    );
  });
});

describe('the worst scan', () => {
  it('is the one with more findings at the highest severity either has', () => {
    expect(compareCounts({ CRITICAL: 1 }, { HIGH: 9 })).toBeLessThan(0);
    expect(compareCounts({ HIGH: 9 }, { CRITICAL: 1 })).toBeGreaterThan(0);
    expect(compareCounts({ HIGH: 2, LOW: 1 }, { HIGH: 2, MEDIUM: 1 })).toBeGreaterThan(0);
    expect(compareCounts({ INFORMATIONAL: 1 }, { UNDEFINED: 5 })).toBeLessThan(0);
    expect(compareCounts({ UNDEFINED: 1 }, {})).toBeLessThan(0);
    expect(compareCounts({ LOW: 3 }, { LOW: 3 })).toBe(0);
  });

  it('is the first of equals, and none of none', () => {
    const a: ScanResult = { scanner: 'basic', counts: { LOW: 1 } };
    const b: ScanResult = { scanner: 'enhanced', counts: { LOW: 1 } };
    const c: ScanResult = { scanner: 'basic', counts: { MEDIUM: 1 } };
    expect(worstScan([a, b])).toBe(a);
    expect(worstScan([a, c, b])).toBe(c);
    expect(worstScan([])).toBeUndefined();
  });
});

describe('the gate over several legs', () => {
  const results: Record<string, ScanResult> = {
    [AMD]: { scanner: 'basic', counts: { HIGH: 1 } },
    [ARM]: { scanner: 'basic', counts: {} },
    [V7]: { scanner: 'basic', counts: { CRITICAL: 2, HIGH: 1 } },
  };
  const targets: ScanTarget[] = [
    { digest: AMD, platform: 'linux/amd64' },
    { digest: ARM, platform: 'linux/arm64' },
    { digest: V7, platform: 'linux/arm/v7' },
  ];
  const wait = async (target: ScanTarget) => results[target.digest] as ScanResult;

  it('waits for each in order, prints a line for each, and names every leg over the severity', async () => {
    const lines: string[] = [];
    const asked: string[] = [];
    const summary = await waitForScans(
      targets,
      (target) => {
        asked.push(target.digest);
        return wait(target);
      },
      'HIGH',
      (line) => lines.push(line),
    );
    expect(asked).toEqual([AMD, ARM, V7]);
    expect(lines).toEqual([
      'scan linux/amd64 (basic): HIGH 1',
      'scan linux/arm64 (basic): no findings',
      'scan linux/arm/v7 (basic): CRITICAL 2, HIGH 1',
      'scan gate: findings at or above HIGH in linux/amd64 (HIGH), linux/arm/v7 (CRITICAL, HIGH); exit 4',
    ]);
    expect(summary).toMatchObject({
      gate: 'failed',
      platform: 'linux/arm/v7',
      counts: { CRITICAL: 2, HIGH: 1 },
    });
    expect(summary.legs?.map((leg) => leg.gate)).toEqual(['failed', 'passed', 'failed']);
  });

  it('judges nothing without --fail-on', async () => {
    const lines: string[] = [];
    const summary = await waitForScans(targets, wait, undefined, (line) => lines.push(line));
    expect(summary.gate).toBe('none');
    expect(summary.failOn).toBeUndefined();
    expect(summary.legs?.map((leg) => leg.gate)).toEqual(['none', 'none', 'none']);
    expect(lines).toHaveLength(3);
  });

  it('fails when there is nothing to wait for rather than pass', async () => {
    await expect(waitForScans([], wait, 'HIGH', () => undefined)).rejects.toThrow(
      new CliError('no scan to wait for: no image was pushed'),
    );
  });

  it('names no leg in the gate line of the one image of a single-platform upload', async () => {
    const lines: string[] = [];
    const summary = await waitForScans([{ digest: V7 }], wait, 'HIGH', (line) => lines.push(line));
    expect(lines).toEqual([
      'scan (basic): CRITICAL 2, HIGH 1',
      'scan gate: findings at or above HIGH (CRITICAL, HIGH); exit 4',
    ]);
    expect(summary.gate).toBe('failed');
    expect(summary.legs).toBeUndefined();
    const clean: string[] = [];
    expect((await waitForScans([{ digest: ARM }], wait, 'HIGH', (l) => clean.push(l))).gate).toBe('passed');
    expect(clean).toEqual(['scan (basic): no findings']);
  });

  it('takes as worst the later scan only when it is strictly worse', () => {
    const first: ScanResult = { scanner: 'basic', counts: { HIGH: 1 } };
    const later: ScanResult = { scanner: 'enhanced', counts: { HIGH: 1 } };
    const worse: ScanResult = { scanner: 'enhanced', counts: { HIGH: 2 } };
    expect(worstScan([first, later])).toBe(first);
    expect(worstScan([later, worse, first])).toBe(worse);
    expect(worstScan([worse, first])).toBe(worse);
  });

  it('prints a platform without its control characters', () => {
    expect(scanLine({ scanner: 'enhanced', counts: {}, platform: 'linux/\u001b]0;x\u0007arm64' })).toBe(
      'scan linux/arm64 (enhanced): no findings',
    );
  });
});
