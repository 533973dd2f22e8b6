/** Small HTTP helpers the gateway, the registry front and the sinks share. */
import type { IncomingMessage, Server } from 'node:http';

/** The whole body of a request or response. */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Listens on 127.0.0.1:port. Our ports lie in the kernel's ephemeral range, so a short-lived client
 * connection of another program can hold one for a moment: retry EADDRINUSE for a few seconds.
 */
export async function listen(server: Server, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) {
        throw new Error(`127.0.0.1:${port} stayed in use for ${timeoutMs} ms: choose another basePort`, {
          cause: error,
        });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Closes a server and the connections kept alive on it. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
