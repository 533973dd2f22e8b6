/**
 * ECR's replication configuration and registry scanning configuration are one per registry and
 * region: writing one replaces the whole. These pure functions add this stack's part to what is
 * there, keeping everyone else's (merge), and take only this stack's part out again (unmerge). They
 * refuse, with a reason written for people, what cannot be merged without changing someone else's
 * setting.
 */
import type {
  RegistryScanningConfiguration,
  RegistryScanningRule,
  ReplicationDestination,
  ReplicationRule,
  ScanFrequency,
  ScanningRepositoryFilter,
} from '@aws-sdk/client-ecr';
import { mergeRule, type SharedRules, unmergeRule } from './rules.ts';

/** A merged setting, or the reason it cannot be applied (a plain reason, unlike naming.ts's Rejection). */
export type MergeResult<T> = { ok: true; value: T } | { ok: false; reason: string };
function ok<T>(value: T): MergeResult<T> {
  return { ok: true, value };
}
function refuse<T>(reason: string): MergeResult<T> {
  return { ok: false, reason };
}

/** ECR's limits (ECR API reference: ReplicationConfiguration, RegistryScanningRule). */
export const MAX_REPLICATION_RULES = 10;
export const MAX_REPLICATION_DESTINATIONS = 25;
export const MAX_SCANNING_FILTERS = 100;

/**
 * The PREFIX_MATCH filter of this stack's repositories: `repositoryPattern` up to its first
 * wildcard. Without a fixed prefix the filter would match the whole registry.
 */
export function replicationPrefix(repositoryPattern: string): MergeResult<string> {
  // Stryker disable next-line StringLiteral: split() always returns a first element; the fallback is for the type
  const prefix = repositoryPattern.split(/[*?]/)[0] ?? '';
  if (prefix === '') {
    return refuse(
      `replication needs a repositoryPattern that starts with a fixed prefix (such as "team-a/*"): ` +
        `"${repositoryPattern}" would replicate every repository of the registry, other teams' too`,
    );
  }
  return ok(prefix);
}

/** Where the images go: each region of `regions` in `registryId`, never the source registry itself. */
export interface ReplicationTarget {
  prefix: string;
  regions: string[];
  registryId: string;
  sourceRegion: string;
  sourceRegistryId: string;
}

/** This stack's replication rule. */
export function ourReplicationRule(target: ReplicationTarget): MergeResult<ReplicationRule> {
  const regions = [...new Set(target.regions.map((r) => r.trim()).filter((r) => r !== ''))];
  if (regions.length === 0) return refuse('replicationRegions names no region');
  if (regions.length > MAX_REPLICATION_DESTINATIONS)
    return refuse(
      `replicationRegions names ${regions.length} regions; ECR takes at most ${MAX_REPLICATION_DESTINATIONS}`,
    );
  if (target.registryId === target.sourceRegistryId && regions.includes(target.sourceRegion))
    return refuse(
      `replicationRegions names ${target.sourceRegion}, this registry's own region: images cannot replicate into themselves`,
    );
  return ok({
    destinations: regions.map((region) => ({ region, registryId: target.registryId })),
    repositoryFilters: [{ filter: target.prefix, filterType: 'PREFIX_MATCH' }],
  });
}

function destinationKey(d: ReplicationDestination): string {
  return `${d.registryId}/${d.region}`;
}
function ruleKey(rule: ReplicationRule): string {
  return JSON.stringify([
    (rule.destinations ?? []).map(destinationKey).sort(),
    (rule.repositoryFilters ?? []).map((f) => `${f.filterType}:${f.filter}`).sort(),
  ]);
}

/** Whether two rules replicate the same repositories to the same places (order does not matter). */
export function sameRule(a: ReplicationRule, b: ReplicationRule): boolean {
  return ruleKey(a) === ruleKey(b);
}

/** The registry's replication rules, as mergeRule and unmergeRule see them. */
const REPLICATION_RULES: SharedRules<ReplicationRule> = {
  kind: 'replication',
  max: MAX_REPLICATION_RULES,
  same: sameRule,
  describe: (rule) =>
    `for ${(rule.repositoryFilters ?? []).map((f) => `"${f.filter}"`).join(', ')} ` +
    `to ${(rule.destinations ?? []).map(destinationKey).join(', ')}`,
  instead: 'give this stack another repositoryPattern or other regions',
};

/** The registry's replication rules with ours in place (mergeRule). */
export function mergeReplication(
  existing: ReplicationRule[],
  ours: ReplicationRule,
  previous?: ReplicationRule,
): MergeResult<ReplicationRule[]> {
  return mergeRule(REPLICATION_RULES, existing, ours, previous);
}

/** The registry's replication rules without ours (unmergeRule). */
export function unmergeReplication(existing: ReplicationRule[], ours: ReplicationRule): ReplicationRule[] {
  return unmergeRule(REPLICATION_RULES, existing, ours);
}

/** This stack's scanning: its repositories (repositoryPattern as a WILDCARD filter) at a frequency. */
export interface OurScanning {
  filter: string;
  frequency: ScanFrequency;
}

/**
 * The WILDCARD filter of this stack's repositories for the registry's scanning rules. ECR's scanning
 * filters know `*` only: a `?` of repositoryPattern has no equivalent there but a broader `*`, which
 * would scan (and bill Inspector for) other teams' repositories, so it is refused.
 */
export function scanningFilter(repositoryPattern: string): MergeResult<string> {
  if (repositoryPattern.includes('?'))
    return refuse(
      `enhanced scanning filters take "*" only: repositoryPattern "${repositoryPattern}" has a "?"; ` +
        'write it with "*" (or a narrower prefix) to scan exactly the repositories you mean',
    );
  return ok(repositoryPattern);
}

type ScanningRuleWithFilters = RegistryScanningRule & { repositoryFilters: ScanningRepositoryFilter[] };

/** `rules` without `filter`, and without the rules left with no filter. */
function withoutFilter(rules: RegistryScanningRule[], filter: string): ScanningRuleWithFilters[] {
  return rules
    .map((rule) => ({
      ...rule,
      repositoryFilters: (rule.repositoryFilters ?? []).filter((f) => f.filter !== filter),
    }))
    .filter((rule) => rule.repositoryFilters.length > 0);
}

/**
 * The registry's scanning configuration with our repositories scanned by Amazon Inspector (ENHANCED)
 * at our frequency. The scan type is the registry's: a registry on BASIC with filters of others'
 * cannot be switched to ENHANCED without moving their repositories too, so that is refused.
 */
export function mergeScanning(
  existing: RegistryScanningConfiguration | undefined,
  ours: OurScanning,
  previous?: OurScanning,
): MergeResult<Required<Pick<RegistryScanningConfiguration, 'scanType' | 'rules'>>> {
  // Stryker disable next-line ArrayDeclaration,StringLiteral: withoutFilter drops whatever has no filters, so the fallback's content cannot matter; no filter is empty (ECR takes at least one character), so without a previous filter no filter equals the placeholder, whatever it is
  let rules = withoutFilter(existing?.rules ?? [], previous?.filter ?? '');
  // A filter like ours that this stack did not write is someone else's (their `*` continuous scan):
  // replacing it would change their scanning, and deleting it with this stack would end it.
  const taken = rules.find((rule) => rule.repositoryFilters.some((f) => f.filter === ours.filter));
  if (taken) {
    return refuse(
      // scanFrequency is a required field of a scanning rule: ECR always names it.
      `the registry's scanning configuration already has a ${taken.scanFrequency} rule for "${ours.filter}", ` +
        'which this stack did not write: it will not take over (and, on deletion, remove) a filter others rely on; ' +
        'deploy with a narrower repositoryPattern, or without enhanced scanning and keep theirs',
    );
  }
  rules = withoutFilter(rules, ours.filter);
  if (existing?.scanType !== 'ENHANCED' && rules.length > 0) {
    const filters = rules.flatMap((r) => r.repositoryFilters.map((f) => f.filter)).join(', ');
    return refuse(
      `the registry uses BASIC scanning with rules of others (${filters}); switching it to ENHANCED would move ` +
        'their repositories to Amazon Inspector too: agree on the registry scanning configuration with them, ' +
        'or deploy with scanning=BASIC',
    );
  }
  const filter = { filter: ours.filter, filterType: 'WILDCARD' as const };
  const same = rules.find((rule) => rule.scanFrequency === ours.frequency);
  if ((same?.repositoryFilters.length ?? 0) + 1 > MAX_SCANNING_FILTERS)
    return refuse(
      `the registry's ${ours.frequency} scanning rule has ${MAX_SCANNING_FILTERS} filters already, ECR's limit`,
    );
  const merged = same
    ? rules.map((rule) =>
        rule === same ? { ...rule, repositoryFilters: [...rule.repositoryFilters, filter] } : rule,
      )
    : [...rules, { scanFrequency: ours.frequency, repositoryFilters: [filter] }];
  return ok({ scanType: 'ENHANCED', rules: merged });
}

/**
 * The registry's scanning configuration without our filter. With others' rules left the scan type
 * stays as it is; with no rule left it goes back to what it was before this stack (`before`, kept in
 * the resource's physical id), and when that is not known it stays as it is: never lower than before.
 */
export function unmergeScanning(
  existing: RegistryScanningConfiguration | undefined,
  ours: OurScanning,
  before?: ScanType,
): Required<Pick<RegistryScanningConfiguration, 'scanType' | 'rules'>> {
  // Stryker disable next-line ArrayDeclaration: withoutFilter drops whatever has no filters, so the fallback's content cannot matter
  const rules = withoutFilter(existing?.rules ?? [], ours.filter);
  const current = existing?.scanType ?? 'BASIC';
  return { scanType: rules.length > 0 ? current : (before ?? current), rules };
}

/** The registry scan types, lowest first. */
export type ScanType = 'BASIC' | 'ENHANCED';

/**
 * The registry permissions policy a destination account must apply before replication into it
 * works (ECR user guide, "Private registry permissions": ecr:CreateRepository and ecr:ReplicateImage
 * for the source account), limited to our prefix.
 */
export function destinationRegistryPolicy(
  partition: string,
  sourceAccount: string,
  destinationAccount: string,
  prefix: string,
): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: `ReplicationFrom${sourceAccount}`,
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${sourceAccount}:root` },
        Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
        Resource: `arn:${partition}:ecr:*:${destinationAccount}:repository/${prefix}*`,
      },
    ],
  });
}
