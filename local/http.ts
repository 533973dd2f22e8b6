/** Small HTTP helpers the gateway, the registry front and the sinks share. */
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';

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
 * Listens on 127.0.0.1:port. A port in the kernel's ephemeral range can be held by another program's
 * connection, and for a minute after it closes (TIME_WAIT): retry EADDRINUSE for that long.
 */
export async function listen(server: Server, port: number, timeoutMs = 65_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let warned = false;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => {
          server.off('listening', onListening);
          reject(error);
        };
        const onListening = () => {
          server.off('error', onError);
          resolve();
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen(port, '127.0.0.1');
      });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline) {
        throw new Error(`127.0.0.1:${port} stayed in use for ${timeoutMs} ms: choose another basePort`, {
          cause: error,
        });
      }
      if (!warned) {
        warned = true;
        process.stderr.write(`local cloud: 127.0.0.1:${port} is in use; waiting for it to be free\n`);
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

/**
 * Passes a request on to the backend at 127.0.0.1:port: `body` when the caller read it whole (sent
 * with its length, not in chunks), else the request as it streams. The backend's answer goes to
 * `onAnswer`; a backend that cannot be reached goes to `onUnreachable` while nothing was sent yet,
 * and cuts the response otherwise.
 */
export function forward(
  port: number,
  req: IncomingMessage,
  res: ServerResponse,
  options: {
    body?: Buffer;
    headers?: IncomingHttpHeaders;
    onAnswer: (answer: IncomingMessage) => void;
    onUnreachable: (error: Error) => void;
  },
): void {
  const { body } = options;
  const headers = { ...(options.headers ?? req.headers) };
  if (body) {
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
  }
  const upstream = request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers },
    options.onAnswer,
  );
  upstream.on('error', (error) => {
    if (!res.headersSent) options.onUnreachable(error);
    else res.destroy();
  });
  if (body) upstream.end(body);
  else req.pipe(upstream);
}
