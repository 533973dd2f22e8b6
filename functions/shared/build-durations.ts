/**
 * Where a build's time went: the seconds CodeBuild reports for each of its phases (queued,
 * provisioning, download, the buildspec's phases, finalizing). Read from the `CodeBuild Build State
 * Change` event (`additional-information.phases`, kebab-case) or from BatchGetBuilds (`phases`), kept
 * in the upload record and shown by `status`, `list` and the release notification.
 *
 * Both sources are read as untrusted input: only the phase types CodeBuild defines, each once, and
 * only whole seconds between 0 and MAX_PHASE_SECONDS; anything else is left out.
 */

/** Seconds spent in each phase CodeBuild reported a duration for. */
export interface BuildDurations {
  queued?: number;
  provisioning?: number;
  downloadSource?: number;
  install?: number;
  preBuild?: number;
  build?: number;
  postBuild?: number;
  uploadArtifacts?: number;
  finalizing?: number;
}

type Key = keyof BuildDurations;

/** CodeBuild's phase types, in the order a build goes through them (SUBMITTED and COMPLETED take no time). */
const PHASES: ReadonlyMap<string, Key> = new Map<string, Key>([
  ['QUEUED', 'queued'],
  ['PROVISIONING', 'provisioning'],
  ['DOWNLOAD_SOURCE', 'downloadSource'],
  ['INSTALL', 'install'],
  ['PRE_BUILD', 'preBuild'],
  ['BUILD', 'build'],
  ['POST_BUILD', 'postBuild'],
  ['UPLOAD_ARTIFACTS', 'uploadArtifacts'],
  ['FINALIZING', 'finalizing'],
]);

const KEYS: readonly Key[] = [...PHASES.values()];

/** A week: longer than any phase can last (8 hours queued at most, 36 hours of build). */
export const MAX_PHASE_SECONDS = 7 * 24 * 3600;

/** Entries of a phase list read at most: a build has eleven. */
const MAX_ENTRIES = 32;

/** Labels for people; the four phases that tell where a build's start went are always shown. */
const LABELS: Record<Key, string> = {
  queued: 'queued',
  provisioning: 'provisioning',
  downloadSource: 'download',
  install: 'install',
  preBuild: 'pre-build',
  build: 'build',
  postBuild: 'post-build',
  uploadArtifacts: 'upload',
  finalizing: 'finalizing',
};
const ALWAYS: ReadonlySet<Key> = new Set<Key>(['queued', 'provisioning', 'downloadSource', 'build']);

const isSeconds = (value: unknown): value is number =>
  Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_PHASE_SECONDS;

function collect(pairs: readonly (readonly [unknown, unknown])[]): BuildDurations | undefined {
  const durations: BuildDurations = {};
  for (const [type, seconds] of pairs.slice(0, MAX_ENTRIES)) {
    const key = PHASES.get(type as string);
    if (key && durations[key] === undefined && isSeconds(seconds)) durations[key] = seconds;
  }
  return Object.keys(durations).length > 0 ? durations : undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

/** The durations in a state-change event's `additional-information.phases`, or undefined. */
export function durationsOfEvent(phases: unknown): BuildDurations | undefined {
  if (!Array.isArray(phases)) return undefined;
  return collect(
    phases.filter(isObject).map((phase) => [phase['phase-type'], phase['duration-in-seconds']] as const),
  );
}

/** The durations in a build as BatchGetBuilds describes it, or undefined. */
export function durationsOfBuild(
  phases: readonly { phaseType?: string | undefined; durationInSeconds?: number | undefined }[] | undefined,
): BuildDurations | undefined {
  if (!Array.isArray(phases)) return undefined;
  return collect(phases.filter(isObject).map((phase) => [phase.phaseType, phase.durationInSeconds] as const));
}

/** Durations read back (from a record or an event detail), checked as when first read; or undefined. */
export function durationsOf(value: unknown): BuildDurations | undefined {
  if (!isObject(value) || Array.isArray(value)) return undefined;
  const durations: BuildDurations = {};
  for (const key of KEYS) if (isSeconds(value[key])) durations[key] = value[key];
  return Object.keys(durations).length > 0 ? durations : undefined;
}

/** `queued 2 s, provisioning 41 s, download 1 s, build 63 s` (other phases when they took a second or more). */
export function durationsText(durations: BuildDurations | undefined): string | undefined {
  const checked = durationsOf(durations);
  if (!checked) return undefined;
  const parts = KEYS.flatMap((key) => {
    const seconds = checked[key];
    if (seconds === undefined || (seconds === 0 && !ALWAYS.has(key))) return [];
    return [`${LABELS[key]} ${seconds} s`];
  });
  return parts.length > 0 ? parts.join(', ') : undefined;
}
