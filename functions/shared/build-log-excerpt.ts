/**
 * The excerpt of a failed build's log that shows people how it failed, and the reason made from it:
 * the pipeline's verdict when the buildspec's scripts exported one (PIPELINE_VERDICT, never read from
 * the log, which the build's RUN steps write too), otherwise the last lines of the failing command's
 * output, shown as the build's output, otherwise CodeBuild's phase message. One rule for the
 * notification, the upload record (`status`) and `submit`, so all three say the same. Secrets are
 * hidden where the text leaves (functions/shared/redact.ts).
 */

/** The part of a failed build's log that tells people why. */
export interface LogExcerpt {
  /** The pipeline's verdict, when the buildspec's scripts stopped the build (its exported PIPELINE_VERDICT). */
  reason?: string;
  /** Otherwise the last lines of the failing command's output, shown as the build's output. */
  tail: string[];
  /** Why the log could not be read, when it could not: the notification goes out without it. */
  unavailable?: string;
}

/** Log events read from the end of the stream: the failing command's output and what followed it. */
export const EVENTS_READ = 500;

/** Lines of the failing command's output an excerpt keeps by default (the stack's notifyLogLines). */
export const DEFAULT_EXCERPT_LINES = 20;

/** CodeBuild's own lines (`[Container] 2024/05/01 10:00:00.123456 Phase complete: ...`). */
const CONTAINER = /^\[Container\] /;
const FAILED_COMMAND = /^\[Container\] \S+ \S+ Command did not exit successfully /;
const RUNNING_COMMAND = /^\[Container\] \S+ \S+ Running command /;

const findLast = (lines: readonly string[], test: (line: string) => boolean, before = lines.length) => {
  for (let i = before - 1; i >= 0; i--) if (test(lines[i] as string)) return i;
  return -1;
};

/**
 * The excerpt of log messages (oldest first): the failing command's last `maxLines` lines (or the log's, when no command failed: a stopped or
 * timed-out build). CodeBuild's `[Container]` lines are never part of the tail.
 */
export function excerptFromLog(messages: readonly string[], maxLines: number): LogExcerpt {
  const lines = messages.flatMap((m) => m.split(/\r?\n/)).map((line) => line.trimEnd());
  const failed = findLast(lines, (line) => FAILED_COMMAND.test(line));
  const output =
    failed >= 0
      ? lines.slice(findLast(lines, (line) => RUNNING_COMMAND.test(line), failed) + 1, failed)
      : lines;
  // The lines are trimmed at their end above: a blank one is empty.
  const meaningful = output.filter((line) => line !== '' && !CONTAINER.test(line));
  return { tail: maxLines > 0 ? meaningful.slice(-maxLines) : [] };
}

/** The longest reason a record keeps: the end of the log is what tells, so the start is cut. */
export const MAX_REASON = 4000;

/**
 * A failed build's reason: the pipeline's verdict, else the end of the log, else CodeBuild's message for the
 * failing phase, else the build's status. Cut at its start beyond MAX_REASON characters.
 */
export function excerptReason(
  log: LogExcerpt | undefined,
  failureMessage: string | undefined,
  status: string | undefined,
): string {
  const reason =
    log?.reason ??
    (log && log.tail.length > 0 ? log.tail.join('\n') : undefined) ??
    failureMessage ??
    `The build ended ${status}.`;
  return reason.length <= MAX_REASON ? reason : `…${reason.slice(reason.length - MAX_REASON + 1)}`;
}
