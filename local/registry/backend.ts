/**
 * The CNCF registry behind the front: requests forwarded to it without the ECR credentials, the
 * answer held until the front has recorded what it means, manifests deleted directly, and errors
 * written in the registry API's shape.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathSegment, repositoryPath } from '../../functions/shared/url.ts';
import { forward } from '../http.ts';

/** Writes an error as the registry API does (`{ errors: [{ code, message }] }`). */
export function registryError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers = {},
): void {
  const body = JSON.stringify({ errors: [{ code, message, detail: null }] });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(body);
}

/** Called with the backend's status and headers before its answer goes to the client. */
export type OnAnswer = (status: number, headers: IncomingMessage['headers']) => Promise<void>;

/** The registry the front forwards to, on 127.0.0.1. */
export class RegistryBackend {
  constructor(
    private readonly port: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Forwards the request (with `body` when already read); `onAnswer` runs before the answer is sent. */
  forward(req: IncomingMessage, res: ServerResponse, body?: Buffer, onAnswer?: OnAnswer): void {
    const headers = { ...req.headers };
    delete headers.authorization;
    forward(this.port, req, res, {
      body,
      headers,
      onAnswer: (answer) => {
        const done = onAnswer ? onAnswer(answer.statusCode ?? 500, answer.headers) : Promise.resolve();
        done
          .catch((error: unknown) => this.log(`registry: recording failed: ${String(error)}`))
          .finally(() => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          });
      },
      onUnreachable: (error) => registryError(res, 502, 'UNAVAILABLE', error.message),
    });
  }

  /** Deletes a manifest from the registry storage; resolves whatever the answer. */
  deleteManifest(name: string, digest: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const r = httpRequest(
        {
          host: '127.0.0.1',
          port: this.port,
          method: 'DELETE',
          path: `/v2/${repositoryPath(name)}/manifests/${pathSegment(digest)}`,
        },
        (answer) => {
          answer.resume();
          answer.on('end', () => resolve());
        },
      );
      r.on('error', () => resolve());
      r.end();
    });
  }
}
