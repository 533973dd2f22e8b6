/**
 * A build's log in CloudWatch Logs, as CodeBuild keeps it: the group and stream the build's `logs`
 * field names, one event a line, in order. The local build writes its log to a file (served at the
 * deep link); a LogShipper sends what the file gained since its last call, so that whatever reads
 * the stream (the notifications function's log excerpt) reads the same lines as on AWS.
 */
import { open } from 'node:fs/promises';
import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  type InputLogEvent,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';

/** PutLogEvents takes at most 10,000 events and 1,048,576 bytes (26 bytes of overhead an event). */
export const MAX_BATCH_EVENTS = 10_000;
export const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD = 26;
/** An event's message is at most 256 KB: longer lines are cut. */
const MAX_MESSAGE_BYTES = 256 * 1024 - EVENT_OVERHEAD;

export interface LogShipperOptions {
  logs: Pick<CloudWatchLogsClient, 'send'>;
  group: string;
  stream: string;
  file: string;
  now?: () => number;
}

/** Sends a growing log file to one CloudWatch Logs stream; calls are serialized and never throw. */
export class LogShipper {
  private offset = 0;
  private pending = Buffer.alloc(0);
  private created = false;
  private lastTimestamp = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: LogShipperOptions,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Ships the complete lines written since the last call (and the unfinished last one when `final`). */
  flush(final = false): Promise<void> {
    this.chain = this.chain.then(() => this.ship(final)).catch(this.onError);
    return this.chain;
  }

  private async ship(final: boolean): Promise<void> {
    const data = Buffer.concat([this.pending, await this.readNew()]);
    // Up to the last newline (ASCII, so never inside a UTF-8 sequence); all of it at the end.
    const end = final ? data.length : data.lastIndexOf(0x0a) + 1;
    this.pending = data.subarray(end);
    const lines = data
      .subarray(0, end)
      .toString('utf8')
      .split('\n')
      .map((line) => line.replace(/\r$/, ''))
      // CloudWatch Logs refuses empty messages.
      .filter((line) => line !== '');
    if (lines.length === 0) return;
    await this.ensureStream();
    for (const batch of batches(lines)) {
      const timestamp = Math.max(this.options.now?.() ?? Date.now(), this.lastTimestamp);
      this.lastTimestamp = timestamp;
      const logEvents: InputLogEvent[] = batch.map((message) => ({ timestamp, message }));
      await this.options.logs.send(
        new PutLogEventsCommand({
          logGroupName: this.options.group,
          logStreamName: this.options.stream,
          logEvents,
        }),
      );
    }
  }

  private async readNew(): Promise<Buffer> {
    const handle = await open(this.options.file, 'r');
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return Buffer.alloc(0);
      const buffer = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, this.offset);
      this.offset += bytesRead;
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  private async ensureStream(): Promise<void> {
    if (this.created) return;
    const { logs, group, stream } = this.options;
    await unlessExists(() => logs.send(new CreateLogGroupCommand({ logGroupName: group })));
    await unlessExists(() =>
      logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream })),
    );
    this.created = true;
  }
}

/** Runs a create call; one that finds the resource already there has done its job. */
async function unlessExists(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceAlreadyExistsException') throw error;
  }
}

/** Lines in order, in batches PutLogEvents accepts. */
export function* batches(lines: readonly string[]): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 0;
  for (const raw of lines) {
    const line =
      Buffer.byteLength(raw) > MAX_MESSAGE_BYTES
        ? Buffer.from(raw)
            .subarray(0, MAX_MESSAGE_BYTES)
            .toString('utf8')
            .replace(/\uFFFD$/, '')
        : raw;
    const size = Buffer.byteLength(line) + EVENT_OVERHEAD;
    if (batch.length > 0 && (batch.length >= MAX_BATCH_EVENTS || bytes + size > MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(line);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
