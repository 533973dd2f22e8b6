/**
 * A build's log: the file in its work folder (served at the build's deep link, read by `readLog`)
 * and, when the local cloud has CloudWatch Logs, the same lines in the group and stream the build's
 * `logs` field names (cloudwatch-logs.ts).
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { LogShipper } from './cloudwatch-logs.ts';

export interface BuildLogOptions {
  file: string;
  /** The first line of the log. */
  firstLine: string;
  /** With a client, the log also goes to this group and stream. */
  cloudWatch?: { logs: Pick<CloudWatchLogsClient, 'send'>; group: string; stream: string };
  onShipError?: (error: unknown) => void;
}

/** One build's log file, and its copy in CloudWatch Logs. */
export class BuildLog {
  readonly file: string;
  private readonly shipper?: LogShipper;

  constructor(options: BuildLogOptions) {
    this.file = options.file;
    if (options.cloudWatch) {
      this.shipper = new LogShipper({ ...options.cloudWatch, file: options.file }, options.onShipError);
    }
    writeFileSync(this.file, options.firstLine);
  }

  /** Adds text to the log file; a file gone with the data folder at shutdown is not an error. */
  append(text: string): void {
    try {
      writeFileSync(this.file, text, { flag: 'a' });
    } catch {
      // The data folder went away during shutdown; nothing to keep.
    }
  }

  read(): Promise<string> {
    return readFile(this.file, 'utf8');
  }

  /** Sends the new complete lines (all of them when `final`) to CloudWatch Logs; never throws. */
  flush(final = false): Promise<void> {
    return this.shipper?.flush(final) ?? Promise.resolve();
  }
}
