/**
 * The registry front: an HTTP proxy in front of the CNCF registry that enforces what ECR enforces on
 * the registry side and keeps moto's ECR in step with what was pushed, pulled and deleted.
 *
 * - every request needs Basic auth `AWS:<password>` with the password GetAuthorizationToken gives,
 *   and with the local cloud's IAM, the permission of its holder on the repository (registry/access.ts);
 * - a repository must exist in the local ECR before anything is pushed to or pulled from it;
 * - an IMMUTABLE repository never has a tag overwritten (registry/push.ts);
 * - a pushed manifest is recorded with PutImage (its real digest and media type), its size and push
 *   time kept for DescribeImages (registry/images.ts), and an `ECR Image Action` event put on the
 *   local bus (registry/image-events.ts); pulls set `lastRecordedPullTime`; deletes (registry DELETE
 *   or BatchDeleteImage, registry/ecr-hook.ts) emit DELETE events; scans on push in registry/scans.ts;
 * - a repository under the prefix of one of the stack's pull-through cache rules is served by that
 *   rule's cache, with the import and the repository's creation authorized as ECR does
 *   (registry/pull-through.ts).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BatchDeleteImageCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { ACCOUNT_ID } from '../shared/local-cloud.ts';
import { RegistryClient } from '../shared/oci/registry.ts';
import type { SigningKeys } from '../shared/oci/sigstore.ts';
import { listen } from './http.ts';
import { RegistryAccess, type RegistryIam } from './registry/access.ts';
import { RegistryBackend, registryError } from './registry/backend.ts';
import { EcrCorrections } from './registry/ecr-hook.ts';
import { bestEffort, type EventEntry, imageAction } from './registry/image-events.ts';
import { ImageRecords } from './registry/images.ts';
import { type CacheRoute, PullThroughRoutes } from './registry/pull-through.ts';
import { ManifestPush } from './registry/push.ts';
import { ScanOnPush } from './registry/scans.ts';
import { LocalSigning } from './registry/signing.ts';
import { findScanner } from './scanner.ts';

export type { EventEntry } from './registry/image-events.ts';

export interface RegistryFrontOptions {
  port: number;
  backendPort: number;
  storage: string;
  /** ECR as moto serves it: the repositories and images the registry keeps in step. */
  ecr: ECRClient;
  putEvents(entries: EventEntry[]): Promise<void>;
  /** The local cloud's IAM: passwords name their holder, requests are authorized (registry/access.ts). */
  iam?: RegistryIam;
  /** The key pair managed signing signs with (registry/signing.ts). */
  signingKeys: SigningKeys;
  /** The stack's pull-through cache rules and the ports of their caches (local/pull-through.ts). */
  pullThroughCaches?: readonly CacheRoute[];
  log: (line: string) => void;
}

export interface RegistryFront {
  server: Server;
  /** Corrects moto's ECR answers (see gateway EcrHook). */
  ecrHook(operation: string, input: Record<string, unknown>, output: unknown): Promise<unknown>;
  /** Answers the ECR calls moto does not implement (managed signing), else undefined (see gateway). */
  ecrServe(operation: string, input: Record<string, unknown>): unknown;
  /** Resolves when no scan on push is running (the local cloud waits for them before it stops). */
  scansDone(): Promise<void>;
}

/** Splits a registry API path into repository name, kind and reference. */
export function parseRegistryPath(
  path: string,
): { name: string; kind: string; reference: string } | undefined {
  const match = /^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/.exec(path.split('?')[0] ?? '');
  if (!match) return undefined;
  return { name: match[1] ?? '', kind: match[2] ?? '', reference: decodeURIComponent(match[3] ?? '') };
}

interface FrontParts {
  ecr: ECRClient;
  access: RegistryAccess;
  backend: RegistryBackend;
  images: ImageRecords;
  push: ManifestPush;
  caches: PullThroughRoutes;
  emit: (entries: EventEntry[]) => Promise<void>;
}

/** Starts the registry front. */
export async function startRegistryFront(options: RegistryFrontOptions): Promise<RegistryFront> {
  const { ecr, log } = options;
  const images = new ImageRecords();
  const access = new RegistryAccess(ecr, options.iam);
  const backend = new RegistryBackend(options.backendPort, log);
  const emit = bestEffort((entries) => options.putEvents(entries), log);
  const scans = new ScanOnPush({
    scanner: findScanner(),
    ecr,
    access,
    images,
    port: options.port,
    emit,
    log,
  });
  const signing = new LocalSigning({
    registry: new RegistryClient({ host: `127.0.0.1:${options.backendPort}`, password: 'unused' }),
    host: `127.0.0.1:${options.port}`,
    keys: options.signingKeys,
    log,
  });
  const push = new ManifestPush({ ecr, backend, images, scans, signing, emit, log });
  const corrections = new EcrCorrections({ ecr, backend, images, storage: options.storage, emit, signing });
  const caches = new PullThroughRoutes({ rules: options.pullThroughCaches ?? [], access, ecr, log });
  const parts: FrontParts = { ecr, access, backend, images, push, caches, emit };

  const server = createServer((req, res) => {
    handle(parts, req, res).catch((error: unknown) => {
      log(`registry: ${req.method} ${req.url} failed: ${String(error)}`);
      if (!res.headersSent) registryError(res, 500, 'UNKNOWN', String(error));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await listen(server, options.port);
  return {
    server,
    ecrHook: (operation, input, output) => corrections.correct(operation, input, output),
    ecrServe: (operation, input) => signing.serve(operation, input),
    scansDone: () => scans.done(),
  };
}

/** One registry API request: auth, the repository check, then push, pull, delete or plain forwarding. */
async function handle(parts: FrontParts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  if (!url.startsWith('/v2')) {
    registryError(res, 404, 'NOT_FOUND', 'not a registry path');
    return;
  }
  const caller = await parts.access.caller(req);
  if (!caller) {
    registryError(res, 401, 'DENIED', 'Not Authorized', {
      'www-authenticate': `Basic realm="http://${req.headers.host}/",service="ecr.amazonaws.com"`,
    });
    return;
  }
  const denial = await parts.access.denial(caller, req);
  if (denial) {
    registryError(res, 403, 'DENIED', denial.message);
    return;
  }
  const target = parseRegistryPath(url);
  if (!target) {
    parts.backend.forward(req, res);
    return;
  }
  const { name, kind, reference } = target;
  if (parts.caches.covers(name)) return parts.caches.serve(caller, req, res, target);
  const repo = await parts.access.repository(name);
  if (!repo) {
    registryError(
      res,
      404,
      'NAME_UNKNOWN',
      `The repository with name '${name}' does not exist in the registry with id '${ACCOUNT_ID}'`,
    );
    return;
  }
  if (kind === 'manifests' && req.method === 'PUT') return parts.push.put(req, res, name, reference, repo);
  if (kind === 'manifests' && req.method === 'GET') return pull(parts, req, res, name);
  if (kind === 'manifests' && req.method === 'DELETE') return remove(parts, req, res, name, reference);
  parts.backend.forward(req, res);
}

/** A manifest GET: forwarded, and the image's last pull recorded. */
function pull(parts: FrontParts, req: IncomingMessage, res: ServerResponse, name: string): void {
  parts.backend.forward(req, res, undefined, async (status, headers) => {
    const digest = String(headers['docker-content-digest'] ?? '');
    if (status !== 200 || !digest) return;
    parts.images.pulled(name, digest, new Date());
  });
}

/** A manifest DELETE by digest: forwarded, the image deleted from ECR, DELETE events for its tags. */
function remove(
  parts: FrontParts,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  reference: string,
): void {
  parts.backend.forward(req, res, undefined, async (status) => {
    if (status !== 202 || !reference.startsWith('sha256:')) return;
    const answer = await parts.ecr
      .send(new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageDigest: reference }] }))
      .catch(() => undefined);
    const tags = (answer?.imageIds ?? []).map((id) => id.imageTag);
    await parts.emit(
      (tags.length > 0 ? tags : [undefined]).map((tag) => imageAction('DELETE', name, reference, tag)),
    );
  });
}
