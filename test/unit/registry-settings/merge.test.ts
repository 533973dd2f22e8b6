import type { ReplicationRule } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import {
  destinationRegistryPolicy,
  MAX_REPLICATION_RULES,
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

  it('writes our rule once however often it is merged, whatever the order of its destinations', () => {
    const reordered = { ...ours, destinations: [...(ours.destinations ?? [])].reverse() };
    expect(mergeReplication([reordered, theirs], ours)).toEqual({ ok: true, value: [theirs, ours] });
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
});

describe('scanningFilter', () => {
  it('takes repositoryPattern as it is when it uses "*" only', () => {
    expect(scanningFilter('team-a/*')).toEqual({ ok: true, value: 'team-a/*' });
  });

  it('refuses a "?", which ECR scanning filters cannot express without scanning more', () => {
    expect(scanningFilter('svc-?')).toEqual({ ok: false, reason: expect.stringContaining('"*" only') });
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

  it('returns the registry to the default BASIC when no rule is left', () => {
    expect(
      unmergeScanning(
        {
          scanType: 'ENHANCED',
          rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [wildcard('team-a/*')] }],
        },
        push,
      ),
    ).toEqual({ scanType: 'BASIC', rules: [] });
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
