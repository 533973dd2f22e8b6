/**
 * The local cloud's queue pollers: each local queue drained into its function (or the SNS sink), as
 * Lambda's event source mappings and the S3/EventBridge deliveries would, with the work in flight
 * tracked so that `idle()` can tell when nothing is left to do.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface QueuePollersOptions {
  sqs: SQSClient;
  /** How often an empty queue is polled again, in ms. */
  intervalMs: number;
  log: (line: string) => void;
}

/** Pollers of SQS queues, each message handed to its handler once (received, then deleted). */
export class QueuePollers {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly loops: Promise<void>[] = [];
  private received = 0;
  private stopping = false;

  constructor(private readonly options: QueuePollersOptions) {}

  /** Polls `queueUrl` until stop(), each message body (JSON when it parses) given to `onMessage`. */
  add(queueUrl: string, onMessage: (body: unknown) => Promise<void>): void {
    this.loops.push(this.poll(queueUrl, onMessage));
  }

  /** Resolves when nothing arrived and nothing was in flight for a few quiet rounds of every poller. */
  async idle(others: () => Promise<void>): Promise<void> {
    for (;;) {
      const before = this.received;
      await Promise.allSettled([...this.pending]);
      await others();
      await new Promise((r) => setTimeout(r, 3 * this.options.intervalMs + 200));
      if (this.received === before && this.pending.size === 0) return;
    }
  }

  /** Ends every poll loop after its current round. */
  stop(): void {
    this.stopping = true;
  }

  /** Resolves when every poll loop has ended. */
  async stopped(): Promise<void> {
    await Promise.allSettled(this.loops);
  }

  private async poll(queueUrl: string, onMessage: (body: unknown) => Promise<void>): Promise<void> {
    let failing = false;
    while (!this.stopping) {
      let messages: Array<{ Body?: string; ReceiptHandle?: string; MessageId?: string }> = [];
      try {
        messages = await this.receive(queueUrl);
        failing = false;
      } catch (error) {
        // once per outage, not every poll
        if (!this.stopping && !failing) this.options.log(`poller ${queueUrl}: ${String(error)}`);
        failing = true;
      }
      this.received += messages.length;
      for (const message of messages) this.handle(message.Body, onMessage);
      if (messages.length === 0) await new Promise((r) => setTimeout(r, this.options.intervalMs));
    }
  }

  private async receive(queueUrl: string) {
    const { sqs } = this.options;
    const answer = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const messages = answer.Messages ?? [];
    if (messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    }
    return messages;
  }

  private handle(text: string | undefined, onMessage: (body: unknown) => Promise<void>): void {
    let body: unknown;
    try {
      body = JSON.parse(text ?? '');
    } catch {
      body = text;
    }
    const work = onMessage(body).catch((error: unknown) => this.options.log(`poller: ${String(error)}`));
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }
}
