/**
 * The excerpt of a failed build's log that shows people how it failed: the last lines of the failing
 * command's output, shown as the build's output, never read as the pipeline's words (the build's RUN
 * steps write the log too: the pipeline's verdict travels in an exported variable, build-verdict.ts).
 * Read from the end of the build's CloudWatch Logs stream, bounded in lines and in time: a slow or
 * failing Logs call leaves the notification without the excerpt, never without the notification.
 * Secrets are hidden later, with every other text of the notification (functions/shared/redact.ts).
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EVENTS_READ, excerptFromLog, type LogExcerpt } from '../../shared/build-log-excerpt.ts';

// The rule itself is shared with the command-line tool; tests and callers import it from here too.
export { EVENTS_READ, excerptFromLog } from '../../shared/build-log-excerpt.ts';

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
