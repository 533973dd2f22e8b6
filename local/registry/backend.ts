/**
 * The CNCF registry behind the front: requests forwarded to it without the ECR credentials, the
 * answer held until the front has recorded what it means, manifests deleted directly, and errors
 * written in the registry API's shape.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { MANIFEST_TYPES } from '../../functions/shared/media-types.ts';
import { pathSegment, repositoryPath } from '../../functions/shared/url.ts';
import { forward, readBody } from '../http.ts';

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
  async deleteManifest(name: string, digest: string): Promise<void> {
    await this.manifestRequest('DELETE', name, digest).catch(() => undefined);
  }

  /**
   * Stores `manifest` under `reference` (a tag, or its digest), as a push does; the registry checks
   * that every blob it names is there. Resolves with the registry's status and error text.
   */
  async putManifest(
    name: string,
    reference: string,
    manifest: Buffer,
    mediaType: string,
  ): Promise<{ status: number; text: string }> {
    const answer = await this.manifestRequest('PUT', name, reference, {
      body: manifest,
      headers: { 'content-type': mediaType },
    });
    return { status: answer.status, text: answer.body.toString('utf8') };
  }

  /** The manifest `reference` names in the registry (its digest, media type and bytes), if any. */
  async manifest(
    name: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; body: Buffer } | undefined> {
    const answer = await this.manifestRequest('GET', name, reference, {
      headers: { accept: MANIFEST_TYPES.join(', ') },
    });
    const digest = String(answer.headers['docker-content-digest'] ?? '');
    if (answer.status !== 200 || !digest) return undefined;
    return { digest, mediaType: String(answer.headers['content-type'] ?? ''), body: answer.body };
  }

  private manifestRequest(
    method: string,
    name: string,
    reference: string,
    options: { body?: Buffer; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const r = httpRequest(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path: `/v2/${repositoryPath(name)}/manifests/${pathSegment(reference)}`,
          headers: {
            ...options.headers,
            ...(options.body ? { 'content-length': String(options.body.length) } : {}),
          },
        },
        (answer) => {
          readBody(answer)
            .then((body) => resolve({ status: answer.statusCode ?? 500, headers: answer.headers, body }))
            .catch(reject);
        },
      );
      r.on('error', reject);
      r.end(options.body);
    });
  }
}

/** The manifest types ECR stores (and the registry is asked for). */
export { MANIFEST_TYPES };
