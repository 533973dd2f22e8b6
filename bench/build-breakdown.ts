/**
 * Where the time of one upload goes: the notification path (upload until the build starts), the
 * build's phases, each buildspec command (from the "Running command" lines of its log, timed to the
 * millisecond) and the steps build-image.sh reports, then the end of the build. Read back through
 * the AWS APIs (BatchGetBuilds, GetLogEvents) as a user would.
 */
import { type CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { Build } from '@aws-sdk/client-codebuild';

/** Named durations of one run, in ms, in the order they happen. */
export type Breakdown = Array<[string, number]>;

const CONTAINER = /^\[Container\] (\d{4})\/(\d\d)\/(\d\d) (\d\d:\d\d:\d\d\.\d{3})\d* (.*)$/;
// build-image.sh's own lines: seconds since the script started, to the millisecond. The session
// program it runs says whole seconds since its own start: another clock, left out.
const SAY = /^ecr-pipeline: \[(\d+\.\d{3})s\] (.*)$/;

/** A buildspec command as a short label: its first words, without variables' quoting. */
function label(command: string): string {
  const text = command
    .replace(/"\$PIPELINE_DIR\/?/g, '')
    .replace(/["']/g, '')
    .trim();
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

/** The durations read from a build's log lines. */
export function commandTimes(lines: string[]): Breakdown {
  const out: Breakdown = [];
  let running: { label: string; at: number } | undefined;
  let scriptStart: number | undefined;
  let lastSay = 0;
  for (const line of lines) {
    const container = CONTAINER.exec(line);
    if (container) {
      const at = Date.parse(`${container[1]}-${container[2]}-${container[3]}T${container[4]}Z`);
      if (running) out.push([`  command: ${running.label}`, at - running.at]);
      running = undefined;
      const message = container[5] ?? '';
      if (message.startsWith('Running command ')) {
        running = { label: label(message.slice('Running command '.length)), at };
        scriptStart = message.includes('build-image.sh') ? at : undefined;
        lastSay = 0;
      }
      continue;
    }
    const say = SAY.exec(line);
    if (say && scriptStart !== undefined) {
      const at = Number(say[1]) * 1000;
      out.push([`    build-image.sh: until "${(say[2] ?? '').slice(0, 40)}"`, at - lastSay]);
      lastSay = at;
    }
  }
  return out;
}

/** The breakdown of one build: notification path, phases, commands, the end. */
export async function breakdownOf(
  logs: CloudWatchLogsClient,
  build: Build,
  uploadedAt: number,
): Promise<Breakdown> {
  const out: Breakdown = [];
  const start = build.startTime?.getTime();
  if (start !== undefined)
    out.push(['upload -> build started (S3 event, queue, build-trigger)', start - uploadedAt]);
  for (const phase of build.phases ?? []) {
    if (!phase.startTime || !phase.endTime) continue;
    out.push([`phase ${phase.phaseType}`, phase.endTime.getTime() - phase.startTime.getTime()]);
  }
  const group = build.logs?.groupName;
  const stream = build.logs?.streamName;
  if (group && stream) {
    const events = await logs.send(
      new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true }),
    );
    out.push(...commandTimes((events.events ?? []).map((e) => e.message ?? '')));
  }
  return out;
}

/** Median of each named duration over several runs, in first-seen order. */
export function medianBreakdown(runs: Breakdown[]): Breakdown {
  const byName = new Map<string, number[]>();
  for (const run of runs) {
    const seen = new Map<string, number>();
    for (const [name, ms] of run) seen.set(name, (seen.get(name) ?? 0) + ms);
    for (const [name, ms] of seen) byName.set(name, [...(byName.get(name) ?? []), ms]);
  }
  return [...byName].map(([name, values]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return [name, sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2];
  });
}

const medianOf = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/**
 * The pipeline's own parts, medians over the runs: the notification path, each phase but BUILD,
 * the release (build end to the released tag), BUILD beyond the direct build and push (login, OCI
 * layout, skopeo, the SBOM and provenance).
 */
export function ownParts(pipelineRuns: Breakdown[], directRuns: Breakdown[]): Breakdown {
  const total = (run: Breakdown, pick: (name: string) => boolean) =>
    run.filter(([name]) => pick(name)).reduce((sum, [, ms]) => sum + ms, 0);
  const direct = medianOf(directRuns.map((run) => total(run, () => true)));
  const parts: Array<[string, (name: string) => boolean]> = [
    ['upload -> build started (S3 event, queue, build-trigger)', (n) => n.startsWith('upload ->')],
    [
      'PROVISIONING + DOWNLOAD_SOURCE + INSTALL',
      (n) => /^phase (PROVISIONING|DOWNLOAD_SOURCE|INSTALL)$/.test(n),
    ],
    ['PRE_BUILD (session, object and password; extract.py)', (n) => n === 'phase PRE_BUILD'],
    [
      'POST_BUILD, UPLOAD_ARTIFACTS, FINALIZING',
      (n) => /^phase (POST_BUILD|UPLOAD_ARTIFACTS|FINALIZING)$/.test(n),
    ],
    [
      'build end -> released tag seen (event bus, release function, tag move, poll)',
      (n) => n.startsWith('build end ->') || n.startsWith('release decided ->'),
    ],
  ];
  return [
    ...parts.map(([name, pick]): [string, number] => [
      name,
      medianOf(pipelineRuns.map((run) => total(run, pick))),
    ]),
    [
      'BUILD beyond the direct build + push (login, OCI layout, skopeo, SBOM + provenance)',
      medianOf(pipelineRuns.map((run) => total(run, (n) => n === 'phase BUILD'))) - direct,
    ],
    [
      '  of which the SBOM and the provenance (trivy, build-session.mjs --attest)',
      medianOf(
        pipelineRuns.map((run) => total(run, (n) => n.includes('until "SBOM and provenance step done"'))),
      ),
    ],
  ];
}
