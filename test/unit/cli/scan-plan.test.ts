/** Whether a scan will come: what `submit --fail-on` asks before uploading and `doctor` reports. */
import {
  DescribeRepositoriesCommand,
  ECRClient,
  GetRegistryScanningConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { expectScan, readScanFacts, wildcardMatches } from '../../../cli/scan-plan.ts';

const ecr = mockClient(ECRClient);
const named = (name: string) => Object.assign(new Error(name), { name });
const rule = (filter: string, scanFrequency = 'SCAN_ON_PUSH') => ({
  scanFrequency: scanFrequency as never,
  repositoryFilters: [{ filter, filterType: 'WILDCARD' as const }],
});

describe('wildcardMatches', () => {
  it('matches * against any run of characters and everything else literally', () => {
    expect(wildcardMatches('team/*', 'team/api')).toBe(true);
    expect(wildcardMatches('team/*', 'other/api')).toBe(false);
    expect(wildcardMatches('*', 'a/b')).toBe(true);
    expect(wildcardMatches('a.b', 'axb')).toBe(false);
    expect(wildcardMatches('a.b', 'a.b')).toBe(true);
    expect(wildcardMatches('team/(api)+', 'team/(api)+')).toBe(true);
    expect(wildcardMatches('api', 'team/api')).toBe(false);
    expect(wildcardMatches('team', 'team-a')).toBe(false);
  });
});

describe('expectScan', () => {
  it('expects no scan from a local cloud without a scanner, whatever the repository says', () => {
    expect(expectScan('a', { localScanner: null, repositoryScanOnPush: true })).toEqual({
      scans: false,
      reason: 'the local cloud has no scanner (trivy or grype is not installed): it scans no image',
      fix: 'install trivy or grype and restart `npm start`, or leave out --wait-scan / --fail-on',
    });
    expect(expectScan('a', { localScanner: 'trivy', repositoryScanOnPush: true })).toMatchObject({
      scans: true,
      scanner: 'basic',
    });
  });

  it('expects an enhanced scan only where a rule covers the repository', () => {
    const rules = [rule('team/*', 'CONTINUOUS_SCAN')];
    expect(expectScan('team/api', { scanType: 'ENHANCED', rules })).toEqual({
      scans: true,
      scanner: 'enhanced',
      detail: 'enhanced scanning (Amazon Inspector, CONTINUOUS_SCAN) covers team/api',
    });
    const missed = expectScan('other/api', { scanType: 'ENHANCED', rules, repositoryScanOnPush: true });
    expect(missed).toMatchObject({ scans: false });
    expect(missed.scans === false && missed.reason).toBe(
      'the registry uses enhanced scanning and none of its rules covers other/api: Amazon Inspector will not scan it',
    );
    expect(missed.scans === false && missed.fix).toBe(
      'add the repository to the registry scanning rules (--param scanning=ENHANCED with a repositoryPattern that matches it)',
    );
    // One filter of a rule that covers the repository is enough.
    const filters = [
      { filter: 'other/*', filterType: 'WILDCARD' as const },
      ...(rules[0]?.repositoryFilters ?? []),
    ];
    expect(
      expectScan('team/api', {
        scanType: 'ENHANCED',
        rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: filters }],
      }),
    ).toMatchObject({ scans: true, scanner: 'enhanced' });
  });

  it("takes a registry scan-on-push rule, then the repository's setting, then the stack's", () => {
    expect(expectScan('team/api', { rules: [rule('team/*')], repositoryScanOnPush: false })).toEqual({
      scans: true,
      scanner: 'basic',
      detail: 'a registry scan-on-push rule covers team/api',
    });
    expect(
      expectScan('a', { rules: [rule('*', 'CONTINUOUS_SCAN')], repositoryScanOnPush: false }),
    ).toMatchObject({
      scans: false,
    });
    expect(expectScan('a', { repositoryScanOnPush: true, stackScanOnPush: false })).toEqual({
      scans: true,
      scanner: 'basic',
      detail: 'a scans on push',
    });
    expect(expectScan('a', { stackScanOnPush: true })).toEqual({
      scans: true,
      scanner: 'basic',
      detail: 'the stack creates a with scan on push',
    });
  });

  it('says whose scan on push is off and how to turn it on', () => {
    expect(expectScan('team/api', { repositoryScanOnPush: false, stackScanOnPush: true })).toEqual({
      scans: false,
      reason:
        'scan on push is off for the repository team/api, and no registry rule scans it: no scan will come',
      fix: 'aws ecr put-image-scanning-configuration --repository-name team/api --image-scanning-configuration scanOnPush=true, or leave out --wait-scan / --fail-on',
    });
    expect(expectScan('team/api', { stackScanOnPush: false })).toEqual({
      scans: false,
      reason:
        'the stack creates repositories without scan on push (scanOnPush=false), and no registry rule scans it: no scan will come',
      fix: 'deploy with --param scanOnPush=true, or leave out --wait-scan / --fail-on',
    });
  });

  it('does not know when nothing could be read', () => {
    expect(expectScan('a', {})).toEqual({ scans: 'unknown', detail: 'whether a scans on push is not known' });
  });
});

describe('readScanFacts', () => {
  beforeEach(() => ecr.reset());

  it("reads the registry's scanning configuration and the repository's scan on push", async () => {
    ecr.on(GetRegistryScanningConfigurationCommand).resolves({
      scanningConfiguration: { scanType: 'ENHANCED', rules: [rule('*')] },
    });
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [{ repositoryName: 'a', imageScanningConfiguration: { scanOnPush: false } }],
    });
    expect(await readScanFacts({ ecr: new ECRClient({}) }, 'a')).toEqual({
      scanType: 'ENHANCED',
      rules: [rule('*')],
      repositoryScanOnPush: false,
    });
    expect(ecr).toHaveReceivedCommandWith(DescribeRepositoriesCommand, { repositoryNames: ['a'] });
  });

  it('leaves unread what it may not read, and a repository still to be created undecided', async () => {
    ecr.on(GetRegistryScanningConfigurationCommand).rejects(named('AccessDeniedException'));
    ecr.on(DescribeRepositoriesCommand).rejects(named('RepositoryNotFoundException'));
    expect(await readScanFacts({ ecr: new ECRClient({}) }, 'a')).toEqual({});
  });

  it('reads answers that leave the configuration or the repository out as unknown, not as errors', async () => {
    const unknown = { scanType: undefined, rules: undefined, repositoryScanOnPush: undefined };
    ecr.on(GetRegistryScanningConfigurationCommand).resolves({});
    for (const answer of [{}, { repositories: [] }, { repositories: [{ repositoryName: 'a' }] }]) {
      ecr.on(DescribeRepositoriesCommand).resolves(answer);
      expect(await readScanFacts({ ecr: new ECRClient({}) }, 'a'), JSON.stringify(answer)).toStrictEqual(
        unknown,
      );
    }
    ecr
      .on(GetRegistryScanningConfigurationCommand)
      .resolves({ scanningConfiguration: { scanType: 'BASIC' } });
    expect(await readScanFacts({ ecr: new ECRClient({}) }, 'a')).toStrictEqual({
      ...unknown,
      scanType: 'BASIC',
    });
  });
});
