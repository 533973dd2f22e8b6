/** Vulnerability severities as ECR basic scanning and Amazon Inspector name them, worst first. */
export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type SeverityCounts = Partial<Record<Severity, number>>;

/** Higher is worse; UNDEFINED ranks lowest because it says nothing about the risk. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.length - SEVERITIES.indexOf(severity);
}

/**
 * Keeps the known severity keys with a positive integer count. Zero counts are omitted by ECR,
 * Inspector adds `TOTAL`, and a malformed value must not turn into NaN in a message.
 */
export function normalizeCounts(raw: unknown): SeverityCounts {
  const counts: SeverityCounts = {};
  if (typeof raw !== 'object' || raw === null) return counts;
  for (const severity of SEVERITIES) {
    const value = (raw as Record<string, unknown>)[severity];
    // Stryker disable next-line ConditionalExpression: the typeof test only narrows the type; Number.isInteger is false for every non-number
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) counts[severity] = value;
  }
  return counts;
}

/** The worst severity with a finding, or undefined for a clean scan. */
export function worstSeverity(counts: SeverityCounts): Severity | undefined {
  return SEVERITIES.find((severity) => (counts[severity] ?? 0) > 0);
}
