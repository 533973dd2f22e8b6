import type { ReplicationRule } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import {
  destinationRegistryPolicy,
  MAX_REPLICATION_DESTINATIONS,
  MAX_REPLICATION_RULES,
  MAX_SCANNING_FILTERS,
  mergeReplication,
  mergeScanning,
  ourReplicationRule,
  replicationPrefix,
  sameRule,
  scanningFilter,
  unmergeReplication,
  unmergeScanning,
} from '../../../functions/registry-settings/merge.ts';

const ACCOUNT = '123456789012';
const ours: ReplicationRule = {
  destinations: [
    { region: 'eu-west-1', registryId: ACCOUNT },
    { region: 'us-west-2', registryId: ACCOUNT },
  ],
  repositoryFilters: [{ filter: 'team-a/', filterType: 'PREFIX_MATCH' }],
};
const theirs: ReplicationRule = {
  destinations: [{ region: 'ap-southeast-2', registryId: '210987654321' }],
  repositoryFilters: [{ filter: 'payments/', filterType: 'PREFIX_MATCH' }],
};
const wholeRegistry: ReplicationRule = { destinations: [{ region: 'eu-central-1', registryId: ACCOUNT }] };

describe('replicationPrefix', () => {
  it('takes repositoryPattern up to its first wildcard', () => {
    expect(replicationPrefix('team-a/*')).toEqual({ ok: true, value: 'team-a/' });
    expect(replicationPrefix('svc-?x*')).toEqual({ ok: true, value: 'svc-' });
    expect(replicationPrefix('exact-name')).toEqual({ ok: true, value: 'exact-name' });
  });

  it("refuses a pattern without a fixed prefix: it would replicate other teams' repositories", () => {
    for (const pattern of ['*', '?abc', '*/team'])
      expect(replicationPrefix(pattern)).toEqual({
        ok: false,
        reason: expect.stringContaining("would replicate every repository of the registry, other teams' too"),
      });
  });

  it('says what a pattern needs, with an example', () => {
    expect(replicationPrefix('*')).toEqual({
      ok: false,
      reason:
        'replication needs a repositoryPattern that starts with a fixed prefix (such as "team-a/*"): ' +
        `"*" would replicate every repository of the registry, other teams' too`,
    });
  });
});

describe('ourReplicationRule', () => {
  const target = {
    prefix: 'team-a/',
    registryId: ACCOUNT,
    sourceRegion: 'us-east-1',
    sourceRegistryId: ACCOUNT,
  };

  it('replicates the prefix to each region once, trimmed', () => {
    expect(ourReplicationRule({ ...target, regions: ['eu-west-1', ' us-west-2', 'eu-west-1', ''] })).toEqual({
      ok: true,
      value: ours,
    });
  });

  it("refuses the registry's own region, no region, and more destinations than ECR takes", () => {
    expect(ourReplicationRule({ ...target, regions: ['us-east-1'] })).toMatchObject({ ok: false });
    expect(ourReplicationRule({ ...target, regions: [' '] })).toMatchObject({ ok: false });
    const many = Array.from({ length: 26 }, (_, i) => `r-${i}`);
    expect(ourReplicationRule({ ...target, regions: many })).toMatchObject({ ok: false });
  });

  it('says why it refuses each', () => {
    expect(ourReplicationRule({ ...target, regions: [''] })).toEqual({
      ok: false,
      reason: 'replicationRegions names no region',
    });
    expect(ourReplicationRule({ ...target, regions: ['eu-west-1', 'us-east-1'] })).toEqual({
      ok: false,
      reason:
        "replicationRegions names us-east-1, this registry's own region: images cannot replicate into themselves",
    });
    const many = Array.from({ length: MAX_REPLICATION_DESTINATIONS + 1 }, (_, i) => `r-${i}`);
    expect(ourReplicationRule({ ...target, regions: many })).toEqual({
      ok: false,
      reason: 'replicationRegions names 26 regions; ECR takes at most 25',
    });
  });

  it('takes as many regions as ECR does', () => {
    const regions = Array.from({ length: MAX_REPLICATION_DESTINATIONS }, (_, i) => `r-${i}`);
    const rule = ourReplicationRule({ ...target, regions });
    expect(rule.ok && rule.value.destinations).toHaveLength(MAX_REPLICATION_DESTINATIONS);
  });

  it('accepts the same region in another account', () => {
    expect(
      ourReplicationRule({ ...target, registryId: '210987654321', regions: ['us-east-1'] }),
    ).toMatchObject({
      ok: true,
    });
  });
});

describe('mergeReplication', () => {
  it('adds our rule and keeps every other rule as it was', () => {
    expect(mergeReplication([theirs, wholeRegistry], ours)).toEqual({
      ok: true,
      value: [theirs, wholeRegistry, ours],
    });
  });

  it('refuses to take over a rule like ours that this stack did not write, whatever the order of its destinations', () => {
    const reordered = { ...ours, destinations: [...(ours.destinations ?? [])].reverse() };
    const result = mergeReplication([reordered, theirs], ours);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('which this stack did not write') });
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('"team-a/"') });
  });

  it('says which rule it will not take over, where it goes, and what to do instead', () => {
    expect(mergeReplication([theirs, ours], ours)).toEqual({
      ok: false,
      reason:
        'the registry already has a replication rule for "team-a/" to 123456789012/eu-west-1, 123456789012/us-west-2, ' +
        'which this stack did not write: it will not take over (and, on deletion, remove) a rule others rely on; ' +
        'give this stack another repositoryPattern or other regions',
    });
  });

  it('refuses to take over a rule like ours on an update that changes our rule into it', () => {
    const previous = { ...ours, destinations: [{ region: 'eu-north-1', registryId: ACCOUNT }] };
    expect(mergeReplication([previous, ours], ours, previous)).toEqual({
      ok: false,
      reason: expect.stringContaining('which this stack did not write'),
    });
  });

  it('keeps our own rule once on an update that leaves it as it was', () => {
    expect(mergeReplication([ours, theirs], ours, ours)).toEqual({ ok: true, value: [theirs, ours] });
  });

  it('replaces our previous rule on an update, not another', () => {
    const previous = { ...ours, destinations: [{ region: 'eu-north-1', registryId: ACCOUNT }] };
    expect(mergeReplication([previous, theirs], ours, previous)).toEqual({ ok: true, value: [theirs, ours] });
  });

  it('refuses when the registry has no room for our rule, naming the limit', () => {
    const others = Array.from({ length: MAX_REPLICATION_RULES }, (_, i) => ({
      ...theirs,
      repositoryFilters: [{ filter: `team-${i}/`, filterType: 'PREFIX_MATCH' as const }],
    }));
    expect(mergeReplication(others, ours)).toEqual({
      ok: false,
      reason: expect.stringContaining(`at most ${MAX_REPLICATION_RULES}`),
    });
    expect(mergeReplication(others, ours)).toEqual({
      ok: false,
      reason:
        'the registry has 10 replication rules of others; ECR takes at most 10, ' +
        'so this stack cannot add its own without removing one of theirs',
    });
  });

  it('adds our rule as the last one the registry has room for', () => {
    const others = Array.from({ length: MAX_REPLICATION_RULES - 1 }, (_, i) => ({
      ...theirs,
      repositoryFilters: [{ filter: `team-${i}/`, filterType: 'PREFIX_MATCH' as const }],
    }));
    expect(mergeReplication(others, ours)).toEqual({ ok: true, value: [...others, ours] });
  });
});

describe('unmergeReplication', () => {
  it('removes only our rule', () => {
    expect(unmergeReplication([theirs, ours, wholeRegistry], ours)).toEqual([theirs, wholeRegistry]);
  });

  it('leaves a registry without our rule unchanged', () => {
    expect(unmergeReplication([theirs], ours)).toEqual([theirs]);
  });

  it('tells rules apart by destinations and filters', () => {
    expect(
      sameRule(ours, { ...ours, repositoryFilters: [{ filter: 'team-b/', filterType: 'PREFIX_MATCH' }] }),
    ).toBe(false);
  });

  it('tells rules apart by the region and by the registry of a destination', () => {
    const to = (region: string, registryId: string): ReplicationRule => ({
      ...ours,
      destinations: [{ region, registryId }],
    });
    expect(sameRule(to('eu-west-1', ACCOUNT), to('eu-west-1', ACCOUNT))).toBe(true);
    expect(sameRule(to('eu-west-1', ACCOUNT), to('us-west-2', ACCOUNT))).toBe(false);
    expect(sameRule(to('eu-west-1', ACCOUNT), to('eu-west-1', '210987654321'))).toBe(false);
  });

  it('takes out our rule whatever the order of its filters, and a missing list as an empty one', () => {
    const filters = [
      { filter: 'team-a/', filterType: 'PREFIX_MATCH' as const },
      { filter: 'team-a-tools/', filterType: 'PREFIX_MATCH' as const },
    ];
    const twoFilters = { ...ours, repositoryFilters: filters };
    expect(
      unmergeReplication([{ ...ours, repositoryFilters: [...filters].reverse() }, theirs], twoFilters),
    ).toEqual([theirs]);
    expect(sameRule({ ...ours, destinations: undefined }, { ...ours, destinations: [] })).toBe(true);
    expect(sameRule({ destinations: ours.destinations }, { ...ours, repositoryFilters: [] })).toBe(true);
  });
});

describe('mergeScanning', () => {
  const push = { filter: 'team-a/*', frequency: 'SCAN_ON_PUSH' as const };
  const wildcard = (filter: string) => ({ filter, filterType: 'WILDCARD' as const });

  it('turns the default registry (BASIC, no rules) to ENHANCED for our repositories only', () => {
    expect(mergeScanning({ scanType: 'BASIC', rules: [] }, push)).toEqual({
      ok: true,
      value: {
        scanType: 'ENHANCED',
        rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('team-a/*')] }],
      },
    });
    expect(mergeScanning(undefined, push)).toMatchObject({ ok: true });
  });

  it('adds our filter to the rule of our frequency in an ENHANCED registry, keeping the others', () => {
    const existing = {
      scanType: 'ENHANCED' as const,
      rules: [
        { scanFrequency: 'CONTINUOUS_SCAN' as const, repositoryFilters: [wildcard('prod-*')] },
        { scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: [wildcard('dev-*')] },
      ],
    };
    expect(mergeScanning(existing, push)).toEqual({
      ok: true,
      value: {
        scanType: 'ENHANCED',
        rules: [
          { scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [wildcard('prod-*')] },
          { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*'), wildcard('team-a/*')] },
        ],
      },
    });
  });

  it('moves our filter when the frequency changes, without a duplicate', () => {
    const existing = {
      scanType: 'ENHANCED' as const,
      rules: [{ scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: [wildcard('team-a/*')] }],
    };
    const continuous = { ...push, frequency: 'CONTINUOUS_SCAN' as const };
    expect(mergeScanning(existing, continuous, push)).toEqual({
      ok: true,
      value: {
        scanType: 'ENHANCED',
        rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [wildcard('team-a/*')] }],
      },
    });
  });

  it('replaces our filter of the old pattern on an update, in whatever rule it was', () => {
    const existing = {
      scanType: 'ENHANCED' as const,
      rules: [
        {
          scanFrequency: 'SCAN_ON_PUSH' as const,
          repositoryFilters: [wildcard('dev-*'), wildcard('team-a/*')],
        },
      ],
    };
    expect(mergeScanning(existing, { ...push, filter: 'team-b/*' }, push)).toEqual({
      ok: true,
      value: {
        scanType: 'ENHANCED',
        rules: [
          { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*'), wildcard('team-b/*')] },
        ],
      },
    });
  });

  it('writes our rule alone to an ENHANCED registry without rules, dropping rules without filters', () => {
    const ourRule = { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('team-a/*')] };
    expect(mergeScanning({ scanType: 'ENHANCED' }, push)).toEqual({
      ok: true,
      value: { scanType: 'ENHANCED', rules: [ourRule] },
    });
    expect(
      mergeScanning(
        { scanType: 'ENHANCED', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: undefined }] },
        push,
      ),
    ).toEqual({
      ok: true,
      value: { scanType: 'ENHANCED', rules: [ourRule] },
    });
  });

  it('adds our filter as the last one the rule of our frequency has room for', () => {
    const filters = Array.from({ length: MAX_SCANNING_FILTERS - 1 }, (_, i) => wildcard(`team-${i}-*`));
    const existing = {
      scanType: 'ENHANCED' as const,
      rules: [{ scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: filters }],
    };
    expect(mergeScanning(existing, push)).toEqual({
      ok: true,
      value: {
        scanType: 'ENHANCED',
        rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [...filters, wildcard('team-a/*')] }],
      },
    });
  });

  it('refuses when the rule of our frequency has as many filters as ECR takes, naming the limit', () => {
    const filters = Array.from({ length: MAX_SCANNING_FILTERS }, (_, i) => wildcard(`team-${i}-*`));
    const existing = {
      scanType: 'ENHANCED' as const,
      rules: [{ scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: filters }],
    };
    expect(mergeScanning(existing, push)).toEqual({
      ok: false,
      reason: "the registry's SCAN_ON_PUSH scanning rule has 100 filters already, ECR's limit",
    });
    expect(mergeScanning(existing, { ...push, frequency: 'CONTINUOUS_SCAN' })).toMatchObject({ ok: true });
  });

  it("refuses to switch a BASIC registry with others' rules to ENHANCED, naming their filters", () => {
    const existing = {
      scanType: 'BASIC' as const,
      rules: [{ scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: [wildcard('payments-*')] }],
    };
    expect(mergeScanning(existing, push)).toEqual({
      ok: false,
      reason: expect.stringContaining('BASIC scanning with rules of others (payments-*)'),
    });
  });

  it('says how to get out of a refused switch to ENHANCED, listing every filter of others', () => {
    const existing = {
      scanType: 'BASIC' as const,
      rules: [
        {
          scanFrequency: 'SCAN_ON_PUSH' as const,
          repositoryFilters: [wildcard('payments-*'), wildcard('billing-*')],
        },
      ],
    };
    expect(mergeScanning(existing, push)).toEqual({
      ok: false,
      reason:
        'the registry uses BASIC scanning with rules of others (payments-*, billing-*); switching it to ENHANCED ' +
        'would move their repositories to Amazon Inspector too: agree on the registry scanning configuration ' +
        'with them, or deploy with scanning=BASIC',
    });
  });
});

describe('scanningFilter', () => {
  it('takes repositoryPattern as it is when it uses "*" only', () => {
    expect(scanningFilter('team-a/*')).toEqual({ ok: true, value: 'team-a/*' });
  });

  it('refuses a "?", which ECR scanning filters cannot express without scanning more', () => {
    expect(scanningFilter('svc-?')).toEqual({ ok: false, reason: expect.stringContaining('"*" only') });
    expect(scanningFilter('svc-?')).toEqual({
      ok: false,
      reason:
        'enhanced scanning filters take "*" only: repositoryPattern "svc-?" has a "?"; ' +
        'write it with "*" (or a narrower prefix) to scan exactly the repositories you mean',
    });
  });
});

describe('unmergeScanning', () => {
  const push = { filter: 'team-a/*', frequency: 'SCAN_ON_PUSH' as const };
  const wildcard = (filter: string) => ({ filter, filterType: 'WILDCARD' as const });

  it("removes our filter and keeps the others' rules and the scan type", () => {
    expect(
      unmergeScanning(
        {
          scanType: 'ENHANCED',
          rules: [
            { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*'), wildcard('team-a/*')] },
          ],
        },
        push,
      ),
    ).toEqual({
      scanType: 'ENHANCED',
      rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*')] }],
    });
  });

  it('returns the registry to the scan type it had before the stack when no rule is left', () => {
    const enhanced = {
      scanType: 'ENHANCED' as const,
      rules: [{ scanFrequency: 'SCAN_ON_PUSH' as const, repositoryFilters: [wildcard('team-a/*')] }],
    };
    expect(unmergeScanning(enhanced, push, 'BASIC')).toEqual({ scanType: 'BASIC', rules: [] });
    // Inspector was on before the stack: its deletion leaves it on.
    expect(unmergeScanning(enhanced, push, 'ENHANCED')).toEqual({ scanType: 'ENHANCED', rules: [] });
  });

  it('never lowers the scan type when it does not know the one before (a resource of an older version)', () => {
    expect(unmergeScanning({ scanType: 'ENHANCED' }, push)).toEqual({ scanType: 'ENHANCED', rules: [] });
    expect(unmergeScanning(undefined, push)).toEqual({ scanType: 'BASIC', rules: [] });
  });

  it("refuses to take over another team's filter like ours (their `*` continuous scan)", () => {
    const result = mergeScanning(
      {
        scanType: 'ENHANCED',
        rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [wildcard('*')] }],
      },
      { filter: '*', frequency: 'SCAN_ON_PUSH' },
    );
    expect(result).toEqual({
      ok: false,
      reason: expect.stringContaining(
        'already has a CONTINUOUS_SCAN rule for "*", which this stack did not write',
      ),
    });
  });

  it("refuses to take over a filter like ours among others of the same rule, naming the rule's frequency", () => {
    expect(
      mergeScanning(
        {
          scanType: 'ENHANCED',
          rules: [
            { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*'), wildcard('team-a/*')] },
          ],
        },
        { filter: 'team-a/*', frequency: 'CONTINUOUS_SCAN' },
      ),
    ).toEqual({
      ok: false,
      reason:
        'the registry\'s scanning configuration already has a SCAN_ON_PUSH rule for "team-a/*", which this stack ' +
        'did not write: it will not take over (and, on deletion, remove) a filter others rely on; deploy with a ' +
        'narrower repositoryPattern, or without enhanced scanning and keep theirs',
    });
  });

  it("keeps the scan type while others' rules remain, even when the registry was on BASIC before the stack", () => {
    // Another team turned Inspector on for its repositories since: lowering it would end their scans.
    expect(
      unmergeScanning(
        {
          scanType: 'ENHANCED',
          rules: [
            { scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*'), wildcard('team-a/*')] },
          ],
        },
        push,
        'BASIC',
      ),
    ).toEqual({
      scanType: 'ENHANCED',
      rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*')] }],
    });
  });

  it('takes its own filter back on an update, from the rule of the old properties', () => {
    const previous = { filter: 'team-a/*', frequency: 'SCAN_ON_PUSH' as const };
    expect(
      mergeScanning(
        {
          scanType: 'ENHANCED',
          rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('team-a/*')] }],
        },
        { filter: 'team-a/*', frequency: 'CONTINUOUS_SCAN' },
        previous,
      ),
    ).toEqual({
      ok: true,
      value: {
        scanType: 'ENHANCED',
        rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositoryFilters: [wildcard('team-a/*')] }],
      },
    });
  });

  it("keeps others' rules on BASIC when the registry names no scan type", () => {
    expect(
      unmergeScanning(
        { rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*')] }] },
        push,
      ),
    ).toEqual({
      scanType: 'BASIC',
      rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('dev-*')] }],
    });
  });
});

describe('destinationRegistryPolicy', () => {
  it('lets the source account create and replicate into our prefix only', () => {
    expect(JSON.parse(destinationRegistryPolicy('aws', ACCOUNT, '210987654321', 'team-a/'))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: `ReplicationFrom${ACCOUNT}`,
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'],
          Resource: 'arn:aws:ecr:*:210987654321:repository/team-a/*',
        },
      ],
    });
  });
});
