/**
 * Following an uploaded object to its build: one module, one matching rule, used by the command-line
 * tool, the local cloud's demo, its benchmarks and the end-to-end tests. The build-trigger function
 * passes bucket, key, version id and ETag to StartBuild as build variables (BUILD_ENV); a build
 * belongs to an upload when those name exactly this object version. The function's upload record
 * (functions/shared/upload-record.ts) says what became of the upload.
 */
import {
  BatchGetBuildsCommand,
  type Build,
  type CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BUILD_ENV } from '../functions/shared/contract.ts';
import {
  type UploadIdentity,
  type UploadRecord,
  uploadRecordKeyCandidates,
} from '../functions/shared/upload-record.ts';

/** The clients following needs: S3 for the record, CodeBuild for the build. */
export interface FollowClients {
  s3: S3Client;
  codebuild: CodeBuildClient;
}

/** Waits `ms`, or less when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** A build variable's value (the build's environment as StartBuild set it). */
export function buildVariable(build: Build, name: string): string | undefined {
  return build.environment?.environmentVariables?.find((v) => v.name === name)?.value;
}

// Not there yet; or replaced while read (the functions rewrite the record), or a stalled read: poll again.
const NOT_READABLE_YET = ['NoSuchKey', 'NotFound', 'TimeoutError', 'RequestTimeout', 'SyntaxError'];

/** Reads the upload record of this object version; undefined until the build-trigger function wrote it. */
export async function readUploadRecord(
  clients: Pick<FollowClients, 's3'>,
  prefix: string,
  identity: UploadIdentity,
): Promise<UploadRecord | undefined> {
  for (const key of uploadRecordKeyCandidates(prefix, identity)) {
    try {
      const object = await clients.s3.send(new GetObjectCommand({ Bucket: identity.bucket, Key: key }));
      return JSON.parse((await object.Body?.transformToString()) ?? '{}') as UploadRecord;
    } catch (error) {
      if (!NOT_READABLE_YET.includes((error as { name?: string }).name ?? '')) throw error;
    }
  }
  return undefined;
}

const unquote = (eTag: string | undefined) => (eTag ?? '').replace(/"/g, '');

/**
 * Does this build belong to the upload? Bucket and key must match, and the version id when both
 * sides have one; otherwise the ETag. Builds that existed before the upload never match, which
 * settles an unversioned bucket where the same content was uploaded twice.
 */
export function buildMatches(build: Build, identity: UploadIdentity, before?: ReadonlySet<string>): boolean {
  if (before?.has(build.id ?? '')) return false;
  if (buildVariable(build, BUILD_ENV.bucket) !== identity.bucket) return false;
  if (buildVariable(build, BUILD_ENV.key) !== identity.key) return false;
  const version = buildVariable(build, BUILD_ENV.versionId) ?? '';
  if (version && identity.versionId) return version === identity.versionId;
  const eTag = unquote(buildVariable(build, BUILD_ENV.eTag));
  if (eTag && identity.eTag) return eTag === unquote(identity.eTag);
  return true;
}

/** The newest build ids of the project (up to `pages` pages of 100). */
export async function newestBuildIds(
  clients: Pick<FollowClients, 'codebuild'>,
  project: string,
  pages = 2,
): Promise<string[]> {
  const ids: string[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < pages; page++) {
    const result = await clients.codebuild.send(
      new ListBuildsForProjectCommand({ projectName: project, sortOrder: 'DESCENDING', nextToken }),
    );
    ids.push(...(result.ids ?? []));
    nextToken = result.nextToken;
    if (!nextToken) break;
  }
  return ids;
}

/** Fetches builds by id (BatchGetBuilds takes at most 100 per call). */
export async function getBuilds(clients: Pick<FollowClients, 'codebuild'>, ids: string[]): Promise<Build[]> {
  const builds: Build[] = [];
  for (let i = 0; i < ids.length; i += 100) {
    const { builds: page } = await clients.codebuild.send(
      new BatchGetBuildsCommand({ ids: ids.slice(i, i + 100) }),
    );
    builds.push(...(page ?? []));
  }
  return builds;
}

/** Every build of this object version among the project's newest, newest first. */
export async function buildsOfUpload(
  clients: Pick<FollowClients, 'codebuild'>,
  project: string,
  identity: UploadIdentity,
  before?: ReadonlySet<string>,
): Promise<Build[]> {
  const ids = (await newestBuildIds(clients, project)).filter((id) => !before?.has(id));
  if (ids.length === 0) return [];
  const builds = await getBuilds(clients, ids);
  const byId = new Map(builds.map((build) => [build.id, build]));
  // Keep ListBuildsForProject's newest-first order.
  return ids
    .map((id) => byId.get(id))
    .filter((build): build is Build => build !== undefined && buildMatches(build, identity, before));
}

/** The build started for this object version, the newest; undefined when there is none yet. */
export async function findBuild(
  clients: Pick<FollowClients, 'codebuild'>,
  project: string,
  identity: UploadIdentity,
  before?: ReadonlySet<string>,
): Promise<Build | undefined> {
  const [build] = await buildsOfUpload(clients, project, identity, before);
  return build;
}

/** Where an upload stands once waited for: ended before any build (its record says why), or its build. */
export type UploadSighting =
  | { kind: 'ended'; record: UploadRecord & { status: 'rejected' | 'failed' } }
  | { kind: 'build'; build: Build; record?: UploadRecord | undefined };

/** Why waiting for an upload stopped without a sighting. */
export class UploadNotSighted extends Error {
  override name = 'UploadNotSighted';
  constructor(
    readonly why: 'timeout' | 'aborted' | 'no-project',
    /** Whether the build-trigger function claimed the upload (an `accepted` record) at some poll. */
    readonly accepted: boolean,
  ) {
    super(`upload not sighted: ${why}`);
  }
}

/** What waiting for an upload needs to know. */
export interface WaitForUploadOptions {
  project: string | undefined;
  prefix: string;
  identity: UploadIdentity;
  /** Builds that existed before the upload: never this upload's build. */
  before?: ReadonlySet<string> | undefined;
  pollMs: number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Sees each record read (undefined until the function wrote one): for progress. */
  onRecord?: (record: UploadRecord | undefined) => void;
  /** Told each time a poll found the record but no build yet. */
  onNoBuild?: () => void;
}

/** The record ends the upload before any build: refused, or failed before StartBuild. */
export function endedBeforeBuild(
  record: UploadRecord | undefined,
): record is UploadRecord & { status: 'rejected' | 'failed' } {
  return record?.status === 'rejected' || (record?.status === 'failed' && !record.buildId);
}

/**
 * The one wait loop of an upload, for the command-line tool, the local cloud's demo, its benchmarks
 * and the end-to-end tests: polls the record, then the build (`findBuild`'s rule), until the record
 * ends the upload or its build appears. Throws UploadNotSighted on timeout, abort, or no project.
 */
export async function waitForUpload(
  clients: FollowClients,
  options: WaitForUploadOptions,
): Promise<UploadSighting> {
  const { signal } = options;
  const deadline = Date.now() + options.timeoutMs;
  let accepted = false;
  while (!signal?.aborted) {
    const record = await readUploadRecord(clients, options.prefix, options.identity);
    options.onRecord?.(record);
    if (record?.status === 'accepted') accepted = true;
    if (endedBeforeBuild(record)) return { kind: 'ended', record };
    if (!options.project) throw new UploadNotSighted('no-project', accepted);
    const build = await findBuild(clients, options.project, options.identity, options.before);
    if (build) return { kind: 'build', build, record };
    options.onNoBuild?.();
    if (Date.now() > deadline) throw new UploadNotSighted('timeout', accepted);
    await sleep(options.pollMs, signal);
  }
  throw new UploadNotSighted('aborted', accepted);
}

/** Polls a build until it is complete (or the signal aborts); `onPoll` sees every state, the first included. */
export async function waitForBuildEnd(
  clients: Pick<FollowClients, 'codebuild'>,
  first: Build,
  options: {
    pollMs: number;
    signal?: AbortSignal | undefined;
    onPoll?: (build: Build) => Promise<void> | void;
  },
): Promise<Build> {
  let build = first;
  for (;;) {
    await options.onPoll?.(build);
    if (build.buildComplete) return build;
    if (options.signal?.aborted) throw new UploadNotSighted('aborted', true);
    await sleep(options.pollMs, options.signal);
    const [fresh] = await getBuilds(clients, [build.id ?? '']);
    if (fresh) build = fresh;
  }
}

/** Record states that end a release: the verdict is in. */
const RELEASE_ENDS: ReadonlySet<string> = new Set(['released', 'held', 'superseded', 'rejected', 'failed']);

/** What waiting for the release of a built image found. */
export type ReleaseSighting =
  | { kind: 'verdict'; record: UploadRecord }
  /** The record says built with no release step (a stack deployed before it): the build's push is all. */
  | { kind: 'no-release'; record: UploadRecord };

/** What waiting for a release needs to know. */
export interface WaitForReleaseOptions {
  prefix: string;
  identity: UploadIdentity;
  pollMs: number;
  timeoutMs: number;
  /** How long a record that says built without a release step is given before it counts as such. */
  noReleaseGraceMs?: number;
  /** How long a record may still say accepted (the release step has not seen the build's success). */
  acceptedGraceMs?: number;
  signal?: AbortSignal | undefined;
  /** Sees each record read: for progress (the gate and its deadline). */
  onRecord?: (record: UploadRecord | undefined) => void;
}

/**
 * The one wait loop of a release, for the command-line tool, the demo and the end-to-end tests:
 * polls the upload record until it holds the release's verdict (released, held, superseded,
 * rejected or failed). Throws UploadNotSighted on timeout or abort.
 */
export async function waitForRelease(
  clients: Pick<FollowClients, 's3'>,
  options: WaitForReleaseOptions,
): Promise<ReleaseSighting> {
  const { signal } = options;
  const deadline = Date.now() + options.timeoutMs;
  const grace = options.noReleaseGraceMs ?? 30_000;
  const acceptedDeadline = Date.now() + (options.acceptedGraceMs ?? 120_000);
  let builtWithoutRelease: number | undefined;
  while (!signal?.aborted) {
    const record = await readUploadRecord(clients, options.prefix, options.identity);
    options.onRecord?.(record);
    if (record && RELEASE_ENDS.has(record.status)) return { kind: 'verdict', record };
    if (record?.status === 'built' && !record.release) {
      builtWithoutRelease ??= Date.now();
      if (Date.now() - builtWithoutRelease >= grace) return { kind: 'no-release', record };
    }
    // The build succeeded, yet no release step wrote the record: it did not run (see its failure queue).
    const stuck = record?.status !== 'built' && Date.now() > acceptedDeadline;
    if (stuck || Date.now() > deadline) throw new UploadNotSighted('timeout', true);
    await sleep(options.pollMs, signal);
  }
  throw new UploadNotSighted('aborted', true);
}
