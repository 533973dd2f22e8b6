import { describe, expect, it } from 'vitest';
import { chooseGate, findingsAtOrAbove, judge, type StackGate } from '../../../functions/release/gate.ts';

const NOW = new Date('2026-11-16T16:00:00.000Z');
const none: StackGate = { gate: 'none', maxSeverity: 'HIGH', scanTimeoutMs: 600_000 };
const scan: StackGate = { ...none, gate: 'scan' };
const DEADLINE = '2026-11-16T16:10:00.000Z';

describe('chooseGate', () => {
  it("gives an upload without metadata the stack's gate, with a deadline for the scan", () => {
    expect(chooseGate(none, undefined, NOW)).toEqual({ gate: 'none' });
    expect(chooseGate(scan, {}, NOW)).toEqual({ gate: 'scan', maxSeverity: 'HIGH', deadline: DEADLINE });
  });

  it('takes a stricter gate or severity the upload asks for', () => {
    expect(chooseGate(none, { 'release-gate': 'scan' }, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      deadline: DEADLINE,
    });
    expect(chooseGate(scan, { 'release-max-severity': 'low' }, NOW)).toMatchObject({ maxSeverity: 'LOW' });
    expect(chooseGate(scan, { 'release-max-severity': 'HIGH' }, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      deadline: DEADLINE,
    });
  });

  it('reads the gate the upload asks for with the spaces around it taken off', () => {
    expect(chooseGate(none, { 'release-gate': ' scan ' }, NOW)).toMatchObject({ gate: 'scan' });
    expect(chooseGate(scan, { 'release-max-severity': ' medium ' }, NOW)).toMatchObject({
      maxSeverity: 'MEDIUM',
    });
  });

  it('cuts an unknown severity short in the note, and joins several notes with "; "', () => {
    expect(chooseGate(scan, { 'release-max-severity': `x${'y'.repeat(100)}` }, NOW).note).toBe(
      `the upload asked for an unknown severity "X${'Y'.repeat(39)}"`,
    );
    expect(chooseGate(scan, { 'release-gate': 'none', 'release-max-severity': 'CRITICAL' }, NOW).note).toBe(
      'the upload asked for no scan gate; the stack requires the scan gate; the upload asked to hold only at CRITICAL; the stack holds at HIGH and above',
    );
  });

  it('never a looser one, and says what it did not follow', () => {
    expect(chooseGate(scan, { 'release-gate': 'none' }, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      deadline: DEADLINE,
      note: 'the upload asked for no scan gate; the stack requires the scan gate',
    });
    expect(chooseGate(scan, { 'release-max-severity': 'CRITICAL' }, NOW).note).toBe(
      'the upload asked to hold only at CRITICAL; the stack holds at HIGH and above',
    );
    expect(chooseGate(none, { 'release-gate': 'none' }, NOW)).toEqual({ gate: 'none' });
  });

  it('takes the scan part of a signed ask; the signature only the stack can require, and says so', () => {
    expect(chooseGate(none, { 'release-gate': 'scan,signed' }, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      deadline: DEADLINE,
      note: "the upload asked for the signed gate; only the stack's releaseGate can require a signature",
    });
    expect(chooseGate(none, { 'release-gate': 'signed' }, NOW)).toEqual({
      gate: 'none',
      note: "the upload asked for the signed gate; only the stack's releaseGate can require a signature",
    });
    const signedStack = { ...scan, requireSigned: true };
    expect(chooseGate(signedStack, { 'release-gate': 'scan,signed' }, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      requireSigned: true,
      deadline: DEADLINE,
    });
    expect(chooseGate(signedStack, { 'release-gate': 'signed' }, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      requireSigned: true,
      deadline: DEADLINE,
      note: 'the upload asked for no scan gate; the stack requires the scan gate',
    });
    expect(chooseGate({ ...none, requireSigned: true }, { 'release-gate': 'scan' }, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      requireSigned: true,
      deadline: DEADLINE,
      note: 'the upload asked for no signature; the stack requires one',
    });
  });

  it('names unknown values, cut short', () => {
    expect(chooseGate(none, { 'release-gate': `x${'y'.repeat(100)}` }, NOW).note).toBe(
      `the upload asked for an unknown gate "x${'y'.repeat(39)}" (none, scan, signed or scan,signed)`,
    );
    expect(chooseGate(scan, { 'release-max-severity': 'bad', 'release-gate': 'scan' }, NOW)).toEqual({
      gate: 'scan',
      maxSeverity: 'HIGH',
      deadline: DEADLINE,
      note: 'the upload asked for an unknown severity "BAD"',
    });
    expect(chooseGate(none, { 'release-gate': 'bogus', 'release-max-severity': 'nope' }, NOW).note).toBe(
      'the upload asked for an unknown gate "bogus" (none, scan, signed or scan,signed); the upload asked for an unknown severity "NOPE"',
    );
  });
});

describe('judge', () => {
  const gate = { gate: 'scan' as const, maxSeverity: 'HIGH' as const, deadline: DEADLINE };

  it('releases at once without a gate, whatever the scan', () => {
    expect(judge({ gate: 'none' }, { kind: 'pending', status: 'IN_PROGRESS' }, NOW)).toEqual({
      kind: 'release',
    });
  });

  it('releases a scan with findings only below the severity, keeping the counts', () => {
    expect(judge(gate, { kind: 'complete', counts: { MEDIUM: 2 } }, NOW)).toEqual({
      kind: 'release',
      counts: { MEDIUM: 2 },
    });
  });

  it('holds at the severity and above, naming the findings worst first', () => {
    expect(judge(gate, { kind: 'complete', counts: { HIGH: 1, CRITICAL: 3, LOW: 9 } }, NOW)).toEqual({
      kind: 'hold',
      reason: 'the scan found 3 CRITICAL, 1 HIGH (the gate holds at HIGH and above)',
      counts: { HIGH: 1, CRITICAL: 3, LOW: 9 },
    });
    expect(findingsAtOrAbove({ UNDEFINED: 1, INFORMATIONAL: 2 }, 'INFORMATIONAL')).toBe('2 INFORMATIONAL');
    expect(findingsAtOrAbove({}, 'UNDEFINED')).toBe('');
  });

  it('uses HIGH for a scan gate that names no severity', () => {
    expect(
      judge({ gate: 'scan', deadline: DEADLINE }, { kind: 'complete', counts: { HIGH: 1 } }, NOW),
    ).toMatchObject({ kind: 'hold' });
    expect(
      judge({ gate: 'scan', deadline: DEADLINE }, { kind: 'complete', counts: { MEDIUM: 1 } }, NOW),
    ).toMatchObject({ kind: 'release' });
  });

  it('holds a failed scan, with its description', () => {
    expect(
      judge(gate, { kind: 'failed', status: 'UNSUPPORTED_IMAGE', description: 'an image index' }, NOW),
    ).toEqual({
      kind: 'hold',
      reason: 'the scan did not complete: UNSUPPORTED_IMAGE (an image index)',
    });
  });

  it('waits for a pending scan until the deadline, then holds', () => {
    const pending = { kind: 'pending' as const, status: 'IN_PROGRESS' };
    expect(judge(gate, pending, new Date(Date.parse(DEADLINE) - 1))).toEqual({ kind: 'wait' });
    expect(judge(gate, pending, new Date(DEADLINE))).toEqual({
      kind: 'hold',
      reason: `the scan had not completed by ${DEADLINE} (scan status IN_PROGRESS; releaseScanTimeout)`,
    });
    expect(judge({ gate: 'scan' }, pending, NOW)).toEqual({ kind: 'wait' });
  });
});
