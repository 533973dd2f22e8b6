import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/release/config.ts';

const base = { CONTEXT_BUCKET: 'b', BUILD_PROJECT: 'p', EVENT_BUS_NAME: 'bus' };

describe('loadConfig', () => {
  it("defaults to no gate, HIGH, a 30-minute scan timeout, no signature required, and CodeBuild's own build limits", () => {
    expect(loadConfig(base)).toEqual({
      bucket: 'b',
      keyPrefix: '',
      projectName: 'p',
      eventBusName: 'bus',
      gate: 'none',
      maxSeverity: 'HIGH',
      scanTimeoutMs: 1_800_000,
      requireSigned: false,
      buildTimeoutMs: 3_600_000,
      buildQueuedTimeoutMs: 28_800_000,
      announceAfterMs: 240_000,
    });
  });

  it('reads the gate settings and the function timeout', () => {
    expect(
      loadConfig({
        ...base,
        KEY_PREFIX: 'x/',
        RELEASE_GATE: 'scan,signed',
        RELEASE_MAX_SEVERITY: 'MEDIUM',
        RELEASE_SCAN_TIMEOUT_SECONDS: '60',
        FUNCTION_TIMEOUT_SECONDS: '10',
        BUILD_TIMEOUT_MINUTES: '30',
        BUILD_QUEUED_TIMEOUT_MINUTES: '5',
      }),
    ).toMatchObject({
      requireSigned: true,
      buildTimeoutMs: 1_800_000,
      buildQueuedTimeoutMs: 300_000,
      keyPrefix: 'x/',
      gate: 'scan',
      maxSeverity: 'MEDIUM',
      scanTimeoutMs: 60_000,
      announceAfterMs: 90_000,
    });
  });

  it('reads each releaseGate value as its scan gate and its signing gate, and no other spelling', () => {
    const gates = (RELEASE_GATE: string) => {
      const { gate, requireSigned } = loadConfig({ ...base, RELEASE_GATE });
      return { gate, requireSigned };
    };
    expect(gates('none')).toEqual({ gate: 'none', requireSigned: false });
    expect(gates('scan')).toEqual({ gate: 'scan', requireSigned: false });
    expect(gates('signed')).toEqual({ gate: 'none', requireSigned: true });
    expect(gates('scan,signed')).toEqual({ gate: 'scan', requireSigned: true });
    expect(loadConfig(base)).toMatchObject({ gate: 'none', requireSigned: false });
    // resources/release.yml grants the signing status only for these exact spellings.
    for (const other of ['signed,scan', 'scan, signed', 'scan+signed', 'Signed']) {
      expect(() => gates(other)).toThrow('RELEASE_GATE must be one of none, scan, signed, scan,signed');
    }
  });

  it('fails at cold start naming the variable', () => {
    expect(() => loadConfig({ ...base, BUILD_TIMEOUT_MINUTES: '2161' })).toThrow('BUILD_TIMEOUT_MINUTES');
    expect(() => loadConfig({ ...base, BUILD_QUEUED_TIMEOUT_MINUTES: '4' })).toThrow(
      'BUILD_QUEUED_TIMEOUT_MINUTES',
    );
    expect(() => loadConfig({ ...base, KEY_PREFIX: 'x' })).toThrow('KEY_PREFIX must end with "/"');
    expect(() => loadConfig({ ...base, RELEASE_GATE: 'loose' })).toThrow('RELEASE_GATE');
    expect(() => loadConfig({ ...base, RELEASE_MAX_SEVERITY: 'high' })).toThrow('RELEASE_MAX_SEVERITY');
    expect(() => loadConfig({ ...base, RELEASE_SCAN_TIMEOUT_SECONDS: '59' })).toThrow(
      'RELEASE_SCAN_TIMEOUT_SECONDS',
    );
    expect(() => loadConfig({ CONTEXT_BUCKET: 'b', BUILD_PROJECT: 'p' })).toThrow('EVENT_BUS_NAME');
  });
});
