/**
 * Whether a scan will ever come for an image pushed to a repository: what `submit --wait-scan` /
 * `--fail-on` ask before uploading (so that they fail at once instead of at the wait's timeout), and
 * what `doctor` reports about scanning and the release gate. Read from the registry's scanning
 * configuration, the repository's scan on push (or, for a repository the stack will create, the
 * stack's scanOnPush), and, in the local cloud, whether it has a scanner at all.
 */
import {
  DescribeRepositoriesCommand,
  GetRegistryScanningConfigurationCommand,
  type RegistryScanningRule,
} from '@aws-sdk/client-ecr';
import type { Clients } from './target.ts';

/** What the registry and the repository say about scanning, as far as they could be read. */
export interface ScanFacts {
  /** The registry's scan type (BASIC when unread: ECR's default). */
  scanType?: string | undefined;
  rules?: RegistryScanningRule[] | undefined;
  /** The repository's scan on push; undefined when the repository does not exist yet (or is unknown). */
  repositoryScanOnPush?: boolean | undefined;
  /** The stack's scanOnPush for the repositories it creates (build-trigger's SCAN_ON_PUSH), when known. */
  stackScanOnPush?: boolean | undefined;
  /** The local cloud's scanner: a name, null when it has none; undefined on AWS (or unknown). */
  localScanner?: string | null | undefined;
}

/** Will a scan come? yes (and by which scanner), no (why, and what to do), or unknown. */
export type ScanExpectation =
  | { scans: true; scanner: 'basic' | 'enhanced'; detail: string }
  | { scans: false; reason: string; fix: string }
  | { scans: 'unknown'; detail: string };

/** ECR's WILDCARD filter: `*` matches any run of characters, everything else itself. */
export function wildcardMatches(filter: string, name: string): boolean {
  const pattern = filter.replace(/[.+?^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${pattern}$`).test(name);
}

/** The registry rule of `frequency`s that covers `repository`, if any. */
function ruleFor(
  rules: readonly RegistryScanningRule[],
  repository: string,
  frequencies: readonly string[],
): RegistryScanningRule | undefined {
  return rules.find(
    (rule) =>
      frequencies.includes(rule.scanFrequency ?? '') &&
      (rule.repositoryFilters ?? []).some((f) => wildcardMatches(f.filter ?? '', repository)),
  );
}

/**
 * Decides from the facts whether a pushed image of `repository` will be scanned. A multi-platform
 * upload is no exception: each leg pushes a plain image manifest, which basic scanning scans like any.
 */
export function expectScan(repository: string, facts: ScanFacts): ScanExpectation {
  if (facts.localScanner === null) {
    return {
      scans: false,
      reason: 'the local cloud has no scanner (trivy or grype is not installed): it scans no image',
      fix: 'install trivy or grype and restart `npm start`, or leave out --wait-scan / --fail-on',
    };
  }
  const rules = facts.rules ?? [];
  if (facts.scanType === 'ENHANCED') {
    const rule = ruleFor(rules, repository, ['SCAN_ON_PUSH', 'CONTINUOUS_SCAN']);
    if (rule)
      return {
        scans: true,
        scanner: 'enhanced',
        detail: `enhanced scanning (Amazon Inspector, ${rule.scanFrequency}) covers ${repository}`,
      };
    return {
      scans: false,
      reason: `the registry uses enhanced scanning and none of its rules covers ${repository}: Amazon Inspector will not scan it`,
      fix: 'add the repository to the registry scanning rules (--param scanning=ENHANCED with a repositoryPattern that matches it)',
    };
  }
  if (ruleFor(rules, repository, ['SCAN_ON_PUSH']))
    return { scans: true, scanner: 'basic', detail: `a registry scan-on-push rule covers ${repository}` };
  const onPush = facts.repositoryScanOnPush ?? facts.stackScanOnPush;
  if (onPush === true)
    return {
      scans: true,
      scanner: 'basic',
      detail:
        facts.repositoryScanOnPush === undefined
          ? `the stack creates ${repository} with scan on push`
          : `${repository} scans on push`,
    };
  if (onPush === false) {
    const whose =
      facts.repositoryScanOnPush === false
        ? `scan on push is off for the repository ${repository}`
        : 'the stack creates repositories without scan on push (scanOnPush=false)';
    return {
      scans: false,
      reason: `${whose}, and no registry rule scans it: no scan will come`,
      fix:
        facts.repositoryScanOnPush === false
          ? `aws ecr put-image-scanning-configuration --repository-name ${repository} --image-scanning-configuration scanOnPush=true, or leave out --wait-scan / --fail-on`
          : 'deploy with --param scanOnPush=true, or leave out --wait-scan / --fail-on',
    };
  }
  return { scans: 'unknown', detail: `whether ${repository} scans on push is not known` };
}

/** Reads the registry's scanning configuration and the repository's scan on push (undefined: unread). */
export async function readScanFacts(
  clients: Pick<Clients, 'ecr'>,
  repository: string,
): Promise<Pick<ScanFacts, 'scanType' | 'rules' | 'repositoryScanOnPush'>> {
  const facts: Pick<ScanFacts, 'scanType' | 'rules' | 'repositoryScanOnPush'> = {};
  try {
    const { scanningConfiguration } = await clients.ecr.send(new GetRegistryScanningConfigurationCommand({}));
    facts.scanType = scanningConfiguration?.scanType;
    facts.rules = scanningConfiguration?.rules;
  } catch {
    // Unread (no ecr:GetRegistryScanningConfiguration): decided from the repository alone.
  }
  try {
    const { repositories } = await clients.ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: [repository] }),
    );
    facts.repositoryScanOnPush = repositories?.[0]?.imageScanningConfiguration?.scanOnPush;
  } catch {
    // A repository the pipeline will create (the stack's scanOnPush decides), or one we may not read.
  }
  return facts;
}
