/**
 * Scan on push for the local registry, with a real scanner when one is installed (trivy, else grype):
 * the counts it reports become the `ECR Image Scan` event and DescribeImages' findings summary. With
 * no scanner, nothing is scanned and nothing is invented.
 */
import { execFile, spawnSync } from 'node:child_process';

export type Severity = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL' | 'UNDEFINED';
export type SeverityCounts = Partial<Record<Severity, number>>;

export interface Scanner {
  name: 'trivy' | 'grype';
  /** Scans `<registry>/<repository>@<digest>` and returns the findings by severity. */
  scan(image: string, password: string): Promise<SeverityCounts>;
}

const TRIVY: Record<string, Severity> = {
  CRITICAL: 'CRITICAL',
  HIGH: 'HIGH',
  MEDIUM: 'MEDIUM',
  LOW: 'LOW',
  UNKNOWN: 'UNDEFINED',
};
const GRYPE: Record<string, Severity> = {
  critical: 'CRITICAL',
  high: 'HIGH',
  medium: 'MEDIUM',
  low: 'LOW',
  negligible: 'INFORMATIONAL',
  unknown: 'UNDEFINED',
};

function add(counts: SeverityCounts, severity: Severity): void {
  counts[severity] = (counts[severity] ?? 0) + 1;
}

/** Counts by severity in trivy's JSON report (`Results[].Vulnerabilities[].Severity`). */
export function trivyCounts(report: unknown): SeverityCounts {
  const counts: SeverityCounts = {};
  const results =
    (report as { Results?: Array<{ Vulnerabilities?: Array<{ Severity?: string }> }> })?.Results ?? [];
  for (const result of results) {
    for (const v of result.Vulnerabilities ?? [])
      add(counts, TRIVY[String(v.Severity).toUpperCase()] ?? 'UNDEFINED');
  }
  return counts;
}

/** Counts by severity in grype's JSON report (`matches[].vulnerability.severity`). */
export function grypeCounts(report: unknown): SeverityCounts {
  const counts: SeverityCounts = {};
  const matches = (report as { matches?: Array<{ vulnerability?: { severity?: string } }> })?.matches ?? [];
  for (const match of matches) {
    add(counts, GRYPE[String(match.vulnerability?.severity).toLowerCase()] ?? 'UNDEFINED');
  }
  return counts;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      cmd,
      args,
      { env, maxBuffer: 256 * 1024 * 1024, timeout: 15 * 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${cmd} failed: ${stderr || error.message}`)) : resolve(stdout),
    ),
  );
}

const installed = (cmd: string) =>
  spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** The scanner installed on this machine, if any. */
export function findScanner(): Scanner | undefined {
  if (installed('trivy')) {
    return {
      name: 'trivy',
      async scan(image, password) {
        // The password in the environment, not on the command line that every user can list.
        const out = await run('trivy', ['image', '--quiet', '--format', 'json', '--insecure', image], {
          ...process.env,
          TRIVY_USERNAME: 'AWS',
          TRIVY_PASSWORD: password,
        });
        return trivyCounts(JSON.parse(out));
      },
    };
  }
  if (installed('grype')) {
    return {
      name: 'grype',
      async scan(image, password) {
        const authority = image.split('/')[0] ?? '';
        const out = await run('grype', [`registry:${image}`, '-o', 'json', '-q'], {
          ...process.env,
          GRYPE_REGISTRY_INSECURE_USE_HTTP: 'true',
          GRYPE_REGISTRY_AUTH_AUTHORITY: authority,
          GRYPE_REGISTRY_AUTH_USERNAME: 'AWS',
          GRYPE_REGISTRY_AUTH_PASSWORD: password,
        });
        return grypeCounts(JSON.parse(out));
      },
    };
  }
  return undefined;
}
