/**
 * Where the pipeline's notifications land locally: a Slack incoming-webhook endpoint and the
 * messages of the stack's SNS topics. Every message is kept and printed readably.
 */

import { createServer, type Server } from 'node:http';
import { listen, readBody } from './http.ts';

export interface Sinks {
  slack: Array<{ receivedAt: string; body: unknown }>;
  sns: Array<{ receivedAt: string; subject?: string; message: string; attributes: Record<string, string> }>;
  /** Resolves with the first non-undefined value of `pick()`, checked as messages arrive. */
  waitFor<T>(pick: () => T | undefined, timeoutMs?: number): Promise<T>;
}

/** The readable text of a Slack message: its `text`, else the text of its blocks and attachments. */
export function slackText(body: unknown): string {
  if (typeof body !== 'object' || body === null) return String(body);
  const message = body as {
    text?: string;
    blocks?: unknown[];
    attachments?: Array<{ blocks?: unknown[]; text?: string }>;
  };
  const parts: string[] = [];
  if (message.text) parts.push(message.text);
  const blockText = (blocks: unknown[] | undefined) => {
    for (const block of blocks ?? []) {
      const b = block as {
        text?: { text?: string };
        fields?: Array<{ text?: string }>;
        elements?: Array<{ text?: string }>;
      };
      if (b.text?.text) parts.push(b.text.text);
      for (const field of b.fields ?? []) if (field.text) parts.push(field.text);
      for (const element of b.elements ?? []) if (typeof element.text === 'string') parts.push(element.text);
    }
  };
  if (!message.text) blockText(message.blocks);
  for (const attachment of message.attachments ?? []) {
    if (attachment.text) parts.push(attachment.text);
    blockText(attachment.blocks);
  }
  return parts.join('\n');
}

/** Starts the Slack webhook sink on 127.0.0.1:port. */
export async function startSlackSink(
  port: number,
  log: (line: string) => void,
): Promise<{ server: Server; sinks: Sinks }> {
  const sinks: Sinks = {
    slack: [],
    sns: [],
    async waitFor<T>(pick: () => T | undefined, timeoutMs = 30_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = pick();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`waitFor: nothing arrived in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        if (req.method !== 'POST') {
          res.writeHead(405, { 'content-type': 'text/plain' });
          res.end('invalid_method');
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          // Slack answers a body that is not JSON with 400 invalid_payload
          res.writeHead(400, { 'content-type': 'text/plain' });
          res.end('invalid_payload');
          return;
        }
        sinks.slack.push({ receivedAt: new Date().toISOString(), body });
        log(`slack: ${slackText(body).replace(/\n/g, '\n       ')}`);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      })
      .catch(() => res.destroy());
  });
  server.keepAliveTimeout = 1000;
  await listen(server, port);
  return { server, sinks };
}
