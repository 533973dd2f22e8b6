/**
 * The excerpt of a failed build's log that shows people how it failed: the last lines of the failing
 * command's output, shown as the build's output, never read as the pipeline's words (the build's RUN
 * steps write the log too: the pipeline's verdict travels in an exported variable, build-verdict.ts).
 * Read from the end of the build's CloudWatch Logs stream, bounded in lines and in time: a slow or
 * failing Logs call leaves the notification without the excerpt, never without the notification.
 * Secrets are hidden later, with every other text of the notification (functions/shared/redact.ts).
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { LogExcerpt } from './notification.ts';

/** Log events read from the end of the stream: the failing command's output and what followed it. */
export const EVENTS_READ = 500;

/** CodeBuild's own lines (`[Container] 2024/05/01 10:00:00.123456 Phase complete: ...`). */
const CONTAINER = /^\[Container\] /;
const FAILED_COMMAND = /^\[Container\] \S+ \S+ Command did not exit successfully /;
const RUNNING_COMMAND = /^\[Container\] \S+ \S+ Running command /;

const findLast = (lines: readonly string[], test: (line: string) => boolean, before = lines.length) => {
  for (let i = before - 1; i >= 0; i--) if (test(lines[i] as string)) return i;
  return -1;
};

/**
 * The excerpt of log messages (oldest first): the failing command's last `maxLines` lines (or the
 * log's, when no command failed: a stopped or timed-out build). CodeBuild's `[Container]` lines are
 * never part of the tail.
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
