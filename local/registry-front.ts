/**
 * The registry front: an HTTP proxy in front of the CNCF registry that enforces what ECR enforces on
 * the registry side and keeps moto's ECR in step with what was pushed, pulled and deleted.
 *
 * - every request needs Basic auth `AWS:<password>` with the password GetAuthorizationToken gives;
 * - a repository must exist in the local ECR before anything is pushed to or pulled from it;
 * - an IMMUTABLE repository never has a tag overwritten;
 * - a pushed manifest is recorded with PutImage (its real digest and media type), its size and push
 *   time kept for DescribeImages, and an `ECR Image Action` event put on the local bus; pulls set
 *   `lastRecordedPullTime`; deletes (registry DELETE or BatchDeleteImage) emit DELETE events.
 */

import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  GetAuthorizationTokenCommand,
  PutImageCommand,
  type Repository,
} from '@aws-sdk/client-ecr';
import { forward, listen, readBody } from './http.ts';
import { findScanner, type SeverityCounts } from './scanner.ts';
import { ACCOUNT_ID } from './template.ts';

export interface EventEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  Resources?: string[];
}

export interface RegistryFrontOptions {
  port: number;
  backendPort: number;
  storage: string;
  /** ECR as moto serves it: the repositories and images the registry keeps in step. */
  ecr: ECRClient;
  putEvents(entries: EventEntry[]): Promise<void>;
  log: (line: string) => void;
}

/** What moto does not keep about an image: its real size and when it was last pulled. */
interface ImageRecord {
  sizeInBytes?: number;
  lastPulledAt?: Date;
  scan?: { status: 'COMPLETE' | 'FAILED'; completedAt: Date; counts: SeverityCounts };
}

export interface RegistryFront {
  server: Server;
  /** Corrects moto's ECR answers (see gateway EcrHook). */
  ecrHook(operation: string, input: Record<string, unknown>, output: unknown): Promise<unknown>;
  /** Resolves when no scan on push is running (the local cloud waits for them before it stops). */
  scansDone(): Promise<void>;
}

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

/** Splits a registry API path into repository name, kind and reference. */
export function parseRegistryPath(
  path: string,
): { name: string; kind: string; reference: string } | undefined {
  const match = /^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/.exec(path.split('?')[0] ?? '');
  if (!match) return undefined;
  return { name: match[1] ?? '', kind: match[2] ?? '', reference: decodeURIComponent(match[3] ?? '') };
}

/** The size ECR reports for an image: the sum of its (compressed) layers, for a single-image manifest. */
export function manifestSize(manifest: string): number | undefined {
  try {
    const parsed = JSON.parse(manifest) as { layers?: Array<{ size?: number }>; config?: { size?: number } };
    if (!Array.isArray(parsed.layers)) return undefined;
    return parsed.layers.reduce((sum, layer) => sum + (layer.size ?? 0), 0);
  } catch {
    return undefined;
  }
}

function registryError(
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

/** Starts the registry front. */
export async function startRegistryFront(options: RegistryFrontOptions): Promise<RegistryFront> {
  const { ecr, log } = options;
  const images = new Map<string, ImageRecord>();
  const imageKey = (repository: string, digest: string) => `${repository}@${digest}`;
  let scannerNoted = false;
  const scanner = findScanner();
  const scans = new Set<Promise<void>>();

  const password = async (): Promise<string> => {
    const answer = await ecr.send(new GetAuthorizationTokenCommand({}));
    const token = answer.authorizationData?.[0]?.authorizationToken ?? '';
    return Buffer.from(token, 'base64').toString('utf8').replace(/^AWS:/, '');
  };
  let expected: string | undefined;

  const authorized = async (req: IncomingMessage): Promise<boolean> => {
    const header = String(req.headers.authorization ?? '');
    if (!header.startsWith('Basic ')) return false;
    const [user, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
    expected ??= await password();
    return user === 'AWS' && rest.join(':') === expected;
  };

  const repository = async (name: string): Promise<Repository | undefined> => {
    try {
      const answer = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
      return answer.repositories?.[0];
    } catch (error) {
      if ((error as Error).name === 'RepositoryNotFoundException') return undefined;
      throw error;
    }
  };

  const imageAction = (
    action: 'PUSH' | 'DELETE',
    name: string,
    digest: string,
    tag?: string,
  ): EventEntry => ({
    Source: 'aws.ecr',
    DetailType: 'ECR Image Action',
    Detail: JSON.stringify({
      result: 'SUCCESS',
      'repository-name': name,
      'image-digest': digest,
      'action-type': action,
      ...(tag ? { 'image-tag': tag } : {}),
    }),
    Resources: [],
  });

  const emit = async (entries: EventEntry[]) => {
    try {
      await options.putEvents(entries);
    } catch (error) {
      // ECR delivers these events best effort: a failure here must not fail the push.
      log(`registry: could not put ${entries.length} ECR event(s): ${String(error)}`);
    }
  };

  const backend = (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    onAnswer?: (status: number, headers: IncomingMessage['headers']) => Promise<void>,
  ) => {
    const headers = { ...req.headers };
    delete headers.authorization;
    forward(options.backendPort, req, res, {
      body,
      headers,
      onAnswer: (answer) => {
        const done = onAnswer ? onAnswer(answer.statusCode ?? 500, answer.headers) : Promise.resolve();
        done
          .catch((error: unknown) => log(`registry: recording failed: ${String(error)}`))
          .finally(() => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          });
      },
      onUnreachable: (error) => registryError(res, 502, 'UNAVAILABLE', error.message),
    });
  };

  /** Basic scanning on push: the installed scanner's counts, as ECR reports them. */
  const scan = async (name: string, digest: string, repo: Repository) => {
    let status: 'COMPLETE' | 'FAILED' = 'COMPLETE';
    let counts: SeverityCounts = {};
    try {
      expected ??= await password();
      counts = await (scanner as NonNullable<typeof scanner>).scan(
        `127.0.0.1:${options.port}/${name}@${digest}`,
        expected,
      );
    } catch (error) {
      status = 'FAILED';
      log(`registry: scanning ${name}@${digest} failed: ${String(error)}`);
    }
    const key = imageKey(name, digest);
    images.set(key, { ...images.get(key), scan: { status, completedAt: new Date(), counts } });
    const tags = await ecr
      .send(new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageDigest: digest }] }))
      .then((a) => a.imageDetails?.[0]?.imageTags ?? [])
      .catch(() => []);
    log(`registry: ${scanner?.name} scanned ${name}@${digest}: ${status} ${JSON.stringify(counts)}`);
    await emit([
      {
        Source: 'aws.ecr',
        DetailType: 'ECR Image Scan',
        Detail: JSON.stringify({
          'scan-status': status,
          'repository-name': name,
          'image-digest': digest,
          'image-tags': tags,
          'finding-severity-counts': counts,
        }),
        Resources: repo.repositoryArn ? [repo.repositoryArn] : [],
      },
    ]);
  };

  const deleteFromBackend = (name: string, digest: string) =>
    new Promise<void>((resolve) => {
      const r = httpRequest(
        {
          host: '127.0.0.1',
          port: options.backendPort,
          method: 'DELETE',
          path: `/v2/${name}/manifests/${digest}`,
        },
        (answer) => {
          answer.resume();
          answer.on('end', () => resolve());
        },
      );
      r.on('error', () => resolve());
      r.end();
    });

  const tagLocks = new Map<string, Promise<void>>();
  const withTagLock = async (key: string, work: () => Promise<void>) => {
    const previous = tagLocks.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => {});
    tagLocks.set(key, tail);
    try {
      await current;
    } finally {
      if (tagLocks.get(key) === tail) tagLocks.delete(key);
    }
  };

  const putManifest = async (
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    reference: string,
    repo: Repository,
  ) => {
    const body = await readBody(req);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const isTag = !reference.startsWith('sha256:');
    const mediaType = String(req.headers['content-type'] ?? '').split(';')[0] || undefined;
    const existing = isTag
      ? await ecr
          .send(new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageTag: reference }] }))
          .then((a) => a.images?.[0])
          .catch(() => undefined)
      : undefined;
    if (
      existing &&
      existing.imageId?.imageDigest !== digest &&
      repo.imageTagMutability?.startsWith('IMMUTABLE')
    ) {
      registryError(
        res,
        400,
        'TAG_INVALID',
        `The image tag '${reference}' already exists in the '${name}' repository and cannot be overwritten because the repository is immutable.`,
      );
      return;
    }
    backend(req, res, body, async (status) => {
      if (status !== 201) return;
      const manifest = body.toString('utf8');
      try {
        await ecr.send(
          new PutImageCommand({
            repositoryName: name,
            imageManifest: manifest,
            imageDigest: digest,
            imageManifestMediaType: mediaType && MANIFEST_TYPES.includes(mediaType) ? mediaType : undefined,
            imageTag: isTag ? reference : undefined,
          }),
        );
      } catch (error) {
        // The same manifest under the same tag again: ECR accepts that push as a no-op.
        if ((error as Error).name !== 'ImageAlreadyExistsException') throw error;
      }
      // The tag moved: ECR keeps the image it left, untagged; moto drops it, so it is put back.
      const previous = existing?.imageId?.imageDigest;
      if (existing?.imageManifest && previous && previous !== digest) {
        const kept = await ecr
          .send(new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageDigest: previous }] }))
          .then((a) => (a.imageDetails?.length ?? 0) > 0)
          .catch(() => false);
        if (!kept) {
          await ecr.send(
            new PutImageCommand({
              repositoryName: name,
              imageManifest: existing.imageManifest,
              imageDigest: previous,
              imageManifestMediaType: existing.imageManifestMediaType,
            }),
          );
        }
      }
      images.set(imageKey(name, digest), {
        ...images.get(imageKey(name, digest)),
        sizeInBytes: manifestSize(manifest),
      });
      log(`registry: pushed ${name}${isTag ? `:${reference}` : ''} ${digest}`);
      await emit([imageAction('PUSH', name, digest, isTag ? reference : undefined)]);
      if (repo.imageScanningConfiguration?.scanOnPush) {
        if (scanner) {
          // The push answers at once, as ECR's does; the scan reports later, and stop() waits for it.
          const running = scan(name, digest, repo);
          scans.add(running);
          void running.finally(() => scans.delete(running));
        } else if (!scannerNoted) {
          scannerNoted = true;
          log(
            'registry: scan on push is on, but no scanner (trivy or grype) is installed: no findings are reported',
          );
        }
      }
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (!url.startsWith('/v2')) {
      registryError(res, 404, 'NOT_FOUND', 'not a registry path');
      return;
    }
    if (!(await authorized(req))) {
      registryError(res, 401, 'DENIED', 'Not Authorized', {
        'www-authenticate': `Basic realm="http://${req.headers.host}/",service="ecr.amazonaws.com"`,
      });
      return;
    }
    const target = parseRegistryPath(url);
    if (!target) {
      backend(req, res, undefined);
      return;
    }
    const { name, kind, reference } = target;
    const repo = await repository(name);
    if (!repo) {
      registryError(
        res,
        404,
        'NAME_UNKNOWN',
        `The repository with name '${name}' does not exist in the registry with id '${ACCOUNT_ID}'`,
      );
      return;
    }
    if (kind === 'manifests' && req.method === 'PUT') {
      // One PUT per repository:reference at a time, held until the answer is sent: two pushes of a tag
      // into an IMMUTABLE repository must not both pass the check before either is written.
      await withTagLock(`${name}:${reference}`, async () => {
        const answered = new Promise<void>((resolve) => res.once('close', resolve));
        await putManifest(req, res, name, reference, repo);
        await answered;
      });
      return;
    }
    if (kind === 'manifests' && req.method === 'GET') {
      backend(req, res, undefined, async (status, headers) => {
        const digest = String(headers['docker-content-digest'] ?? '');
        if (status !== 200 || !digest) return;
        const key = imageKey(name, digest);
        images.set(key, { ...images.get(key), lastPulledAt: new Date() });
      });
      return;
    }
    if (kind === 'manifests' && req.method === 'DELETE') {
      backend(req, res, undefined, async (status) => {
        if (status !== 202 || !reference.startsWith('sha256:')) return;
        const answer = await ecr
          .send(new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageDigest: reference }] }))
          .catch(() => undefined);
        const tags = (answer?.imageIds ?? []).map((id) => id.imageTag);
        await emit(
          (tags.length > 0 ? tags : [undefined]).map((tag) => imageAction('DELETE', name, reference, tag)),
        );
      });
      return;
    }
    backend(req, res, undefined);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`registry: ${req.method} ${req.url} failed: ${String(error)}`);
      if (!res.headersSent) registryError(res, 500, 'UNKNOWN', String(error));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1000;
  await listen(server, options.port);

  const ecrHook = async (
    operation: string,
    input: Record<string, unknown>,
    output: unknown,
  ): Promise<unknown> => {
    const out = output as Record<string, unknown>;
    switch (operation) {
      case 'GetAuthorizationToken': {
        // moto gives a fixed expiry in 2015; ECR tokens are valid for 12 hours.
        const data = (out.authorizationData ?? []) as Array<Record<string, unknown>>;
        for (const item of data) item.expiresAt = Math.floor(Date.now() / 1000) + 12 * 3600;
        return out;
      }
      case 'DescribeImages': {
        const repositoryName = String(input.repositoryName ?? '');
        for (const detail of (out.imageDetails ?? []) as Array<Record<string, unknown>>) {
          const record = images.get(imageKey(repositoryName, String(detail.imageDigest)));
          if (record?.sizeInBytes !== undefined) detail.imageSizeInBytes = record.sizeInBytes;
          if (record?.lastPulledAt) detail.lastRecordedPullTime = record.lastPulledAt.getTime() / 1000;
          if (record?.scan) {
            detail.imageScanStatus = {
              status: record.scan.status,
              description:
                record.scan.status === 'COMPLETE'
                  ? 'The scan was completed successfully.'
                  : 'The scan failed.',
            };
            detail.imageScanFindingsSummary = {
              imageScanCompletedAt: record.scan.completedAt.getTime() / 1000,
              findingSeverityCounts: record.scan.counts,
            };
          }
        }
        return out;
      }
      case 'BatchDeleteImage': {
        const repositoryName = String(input.repositoryName ?? '');
        const deleted = (out.imageIds ?? []) as Array<{ imageDigest?: string; imageTag?: string }>;
        for (const digest of new Set(deleted.map((id) => id.imageDigest).filter(Boolean) as string[])) {
          const still = await ecr
            .send(new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest: digest }] }))
            .then((a) => (a.imageDetails?.length ?? 0) > 0)
            .catch(() => false);
          if (!still) {
            await deleteFromBackend(repositoryName, digest);
            images.delete(imageKey(repositoryName, digest));
          }
        }
        await emit(
          deleted
            .filter((id) => id.imageDigest)
            .map((id) => imageAction('DELETE', repositoryName, String(id.imageDigest), id.imageTag)),
        );
        return out;
      }
      case 'DeleteRepository': {
        const name = String(input.repositoryName ?? '');
        // The repository is gone from ECR: its images go from the registry storage too.
        rmSync(join(options.storage, 'docker/registry/v2/repositories', name), {
          recursive: true,
          force: true,
        });
        for (const key of [...images.keys()]) if (key.startsWith(`${name}@`)) images.delete(key);
        return out;
      }
      default:
        return out;
    }
  };

  const scansDone = async () => {
    while (scans.size > 0) await Promise.allSettled([...scans]);
  };

  return { server, ecrHook, scansDone };
}
