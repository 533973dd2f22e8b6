/**
 * Why a finished build failed, as `submit` and `status` print it: the same excerpt of the build's
 * log that the notification and the upload record carry (functions/shared/build-log-excerpt.ts),
 * with CodeBuild's phase message (`COMMAND_EXECUTION_ERROR ... exit status 127`) only as a fallback.
 */
import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { Build } from '@aws-sdk/client-codebuild';
import {
  DEFAULT_EXCERPT_LINES,
  EVENTS_READ,
  excerptFromLog,
  excerptReason,
  type LogExcerpt,
} from '../functions/shared/build-log-excerpt.ts';
import { BUILD_EXPORTED_VERDICT } from '../functions/shared/contract.ts';
import type { Clients } from './target.ts';
import { forTerminal } from './terminal-text.ts';

/**
 * Whether a phase status means the phase failed (CodeBuild's StatusType, less SUCCEEDED and
 * IN_PROGRESS). A function rather than a module-level set, so that what it decides is decided at
 * each call (and a mutation test sees it).
 */
function phaseFailed(status: string | undefined): boolean {
  return ['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'].some((failed) => failed === status);
}

/** A failed build told for people: the phase it failed in, the reason, and CodeBuild's own message. */
export interface Failure {
  phase?: string | undefined;
  reason: string;
  /** CodeBuild's message for the failing phase (`COMMAND_EXECUTION_ERROR: ...`), when it gave one. */
  detail?: string | undefined;
}

/** The failing phase and CodeBuild's first message for it. */
export function failingPhase(build: Build): { phase?: string | undefined; detail?: string | undefined } {
  const failing = build.phases?.find((phase) => phaseFailed(phase.phaseStatus));
  if (!failing) return { phase: build.currentPhase };
  const detail = failing.contexts
    ?.map((context) => [context.statusCode, context.message].filter(Boolean).join(': ').trim())
    .find((message) => message !== '');
  return { phase: failing.phaseType, detail };
}

/** The pipeline's verdict, as the buildspec's scripts exported it (never read from the log). */
export function exportedVerdict(build: Build): string | undefined {
  const verdict = build.exportedEnvironmentVariables
    ?.find((v) => v.name === BUILD_EXPORTED_VERDICT)
    ?.value?.trim();
  return verdict || undefined;
}

/** The failure of a build whose log lines are `lines` (undefined: the log could not be read). */
export function describeFailure(build: Build, lines: readonly string[] | undefined): Failure {
  const { phase, detail } = failingPhase(build);
  const excerpt: LogExcerpt | undefined = lines ? excerptFromLog(lines, DEFAULT_EXCERPT_LINES) : undefined;
  const verdict = exportedVerdict(build);
  const log = verdict !== undefined ? { reason: verdict, tail: [] } : excerpt;
  return { phase, reason: excerptReason(log, detail, build.buildStatus), detail };
}

function isAwsLink(link: string): boolean {
  return /(^|\.)amazonaws\.com$|\.aws\.amazon\.com$/.test(new URL(link).hostname);
}

/**
 * The end of a build's log: the last EVENTS_READ events of its CloudWatch Logs stream (as the
 * notification reads them), or the text its log link serves where the build serves it (the local
 * cloud). Undefined when it cannot be read: the reason then falls back to CodeBuild's message.
 */
export async function readLogEnd(
  clients: Pick<Clients, 'logs'>,
  build: Build,
): Promise<string[] | undefined> {
  const logs = build.logs;
  const link = logs?.deepLink;
  try {
    if (link && /^https?:\/\//.test(link) && !isAwsLink(link)) {
      const response = await fetch(link);
      if (!response.ok) return undefined;
      return (await response.text()).replace(/\n$/, '').split('\n').slice(-EVENTS_READ);
    }
    if (!logs?.groupName || !logs.streamName) return undefined;
    const page = await clients.logs.send(
      new GetLogEventsCommand({
        logGroupName: logs.groupName,
        logStreamName: logs.streamName,
        startFromHead: false,
        limit: EVENTS_READ,
      }),
    );
    return (page.events ?? []).map((event) => event.message ?? '');
  } catch {
    return undefined;
  }
}

/**
 * The failure of a finished build, its log read, as it may reach a terminal: secrets hidden, control
 * characters and escape sequences stripped (the build's RUN steps write the log). Never throws.
 */
export async function buildFailure(clients: Pick<Clients, 'logs'>, build: Build): Promise<Failure> {
  const failure = describeFailure(build, await readLogEnd(clients, build));
  return { ...failure, reason: await forTerminal(failure.reason) };
}

/** `phase: reason` as lines, the reason's further lines indented by `indent`. */
export function failureLines(failure: Pick<Failure, 'phase' | 'reason'>, indent: string): string[] {
  const [first = '', ...rest] = failure.reason.split('\n');
  return [`${failure.phase ? `${failure.phase}: ` : ''}${first}`, ...rest.map((line) => `${indent}${line}`)];
}
