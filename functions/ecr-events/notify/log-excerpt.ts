/**
 * The excerpt of a failed build's log that tells people why it failed: the build's own
 * `ecr-pipeline:` refusal line when the failing command ended with one, otherwise the last lines of
 * the failing command's output. Read from the end of the build's CloudWatch Logs stream, bounded in
 * lines and in time: a slow or failing Logs call leaves the notification without the excerpt, never
 * without the notification.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { LogExcerpt } from './notification.ts';

/** Log events read from the end of the stream: the failing command's output and what followed it. */
export const EVENTS_READ = 500;

/** CodeBuild's own lines (`[Container] 2024/05/01 10:00:00.123456 Phase complete: ...`). */
const CONTAINER = /^\[Container\] /;
const FAILED_COMMAND = /^\[Container\] \S+ \S+ Command did not exit successfully /;
const RUNNING_COMMAND = /^\[Container\] \S+ \S+ Running command /;
/** The buildspec's lines: `ecr-pipeline: reason`, or with the elapsed time, `ecr-pipeline: [12s] reason`. */
const PIPELINE_LINE = /^ecr-pipeline: (?:\[\d+s\] )?(.*)$/;

/**
 * Lines that look like they carry a credential. CodeBuild already shows parameter-store and
 * secrets-manager values as `***`; these catch what a build prints by itself. A key word may end a
 * longer name (`DB_PASSWORD=`, `NPM_TOKEN=`, `TF_VAR_aws_secret_access_key=`): `_` is a word
 * character, so a `\b` before it would miss them; only a letter or a digit before it makes another word.
 */
const CREDENTIAL = [
  /(?<![a-z0-9])(aws_secret_access_key|aws_session_token|aws_access_key_id)\b/i,
  /\b(proxy-)?authorization\s*:/i,
  /(?<![a-z0-9])(password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)\b["']?\s*[=:]/i,
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bbearer\s+[A-Za-z0-9._~+/-]{8,}/i,
  /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i,
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})/,
];

export const HIDDEN_LINE = '*** (line hidden: it looks like it carries a credential)';

/** `line`, or a placeholder when it looks like it carries a credential. */
export function redactLine(line: string): string {
  return CREDENTIAL.some((pattern) => pattern.test(line)) ? HIDDEN_LINE : line;
}

const findLast = (lines: readonly string[], test: (line: string) => boolean, before = lines.length) => {
  for (let i = before - 1; i >= 0; i--) if (test(lines[i] as string)) return i;
  return -1;
};

/**
 * The excerpt of log messages (oldest first): the refusal line when the failing command's last line
 * is one, else its last `maxLines` lines (or the log's, when no command failed: a stopped or
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
  // Stryker disable next-line StringLiteral: no refusal is read from whatever stands in for no line
  const refusal = failed === -1 ? null : PIPELINE_LINE.exec(meaningful.at(-1) ?? '');
  if (refusal?.[1]) return { reason: redactLine(refusal[1]), tail: [] };
  return { tail: maxLines > 0 ? meaningful.slice(-maxLines).map(redactLine) : [] };
}

export interface ReadLogOptions {
  logs: () => Promise<Pick<CloudWatchLogsClient, 'send'>>;
  group: string;
  stream: string;
  maxLines: number;
  timeoutMs: number;
}

/** Reads the end of the build's log stream and makes the excerpt; never throws. */
export async function readLogExcerpt(options: ReadLogOptions): Promise<LogExcerpt> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
  });
  const read = async () => {
    const [{ GetLogEventsCommand }, logs] = await Promise.all([import('../sdk/logs.ts'), options.logs()]);
    return logs.send(
      new GetLogEventsCommand({
        logGroupName: options.group,
        logStreamName: options.stream,
        startFromHead: false,
        limit: EVENTS_READ,
      }),
      { abortSignal: AbortSignal.timeout(options.timeoutMs) },
    );
  };
  try {
    const out = await Promise.race([read(), slow]);
    const events = out?.events ?? [];
    if (events.length === 0) return { tail: [], unavailable: 'The build log had no lines to show.' };
    return excerptFromLog(
      events.map((e) => e.message ?? ''),
      options.maxLines,
    );
  } catch (error) {
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { tail: [], unavailable: `The build log could not be read (${why}): see the build logs.` };
  } finally {
    clearTimeout(timer);
  }
}
