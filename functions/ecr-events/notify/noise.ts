/** Noise control: which notifications are worth sending. */

import { severityRank } from '../../shared/severity.ts';
import { wildcardToRegExp } from '../../shared/wildcard.ts';
import type { Config } from '../config.ts';
import type { Notification } from './notification.ts';

export type Verdict = { send: true } | { send: false; reason: string };

/** Applies the per-kind switches and, for completed scans, the minimum severity. */
export function verdict(
  n: Notification,
  config: Pick<Config, 'notify' | 'minScanSeverity' | 'ignoredRepositories'>,
): Verdict {
  if (!config.notify.has(n.kind)) return { send: false, reason: `notifications of kind ${n.kind} are off` };
  const repository = n.repository;
  if (
    repository &&
    config.ignoredRepositories.some((pattern) => wildcardToRegExp(pattern).test(repository))
  ) {
    return { send: false, reason: `repository ${repository} is ignored` };
  }
  if (n.kind === 'scan' && n.outcome !== 'failure' && config.minScanSeverity !== 'ALL') {
    if (!n.severity || severityRank(n.severity) < severityRank(config.minScanSeverity)) {
      return {
        send: false,
        reason: `worst finding ${n.severity ?? 'none'} is below ${config.minScanSeverity}`,
      };
    }
  }
  return { send: true };
}
