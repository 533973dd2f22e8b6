import { createHash } from 'node:crypto';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { type BuildRejectedDetail, CACHE_TAG, UPLOAD_METADATA } from '../shared/contract.ts';
import {
  type ContextRef,
  decodeS3Key,
  parseContextKey,
  type Rejection,
  type Result,
} from '../shared/naming.ts';
import { tagAlreadyExists } from '../shared/tag-immutability.ts';
import { httpStatusOf } from '../shared/transient.ts';
import {
  identityHash,
  UPLOAD_RECORD_DIR,
  type UploadIdentity,
  type UploadRecord,
  uploadRecordKey,
} from '../shared/upload-record.ts';
import { wildcardToRegExp } from '../shared/wildcard.ts';
import type { Deps } from './deps.ts';
import {
  clearStaleMark,
  ensureRepository,
  isTagImmutable,
  type RepositoryInfo,
  tagExists,
} from './ensure-repository.ts';
import { PermanentError, TransientError } from './errors.ts';
import {
  type LegPlan,
  legCacheTag,
  parseLambdaSafe,
  parsePlatforms,
  planLegs,
  recordLegs,
} from './platforms.ts';
import { publishRejection } from './reject.ts';
import { type BuildRequest, startBuild } from './start-build.ts';
import { claimUpload, releaseClaim, updateUploadRecord } from './upload-claim.ts';
import { uploadMetadata } from './upload-metadata.ts';

/** What became of one record. */
export type TriggerOutcome =
  | { kind: 'ignored'; why: string }
  | { kind: 'duplicate' }
  | { kind: 'rejected'; rejection: Rejection }
  | { kind: 'started'; buildId: string; buildIds?: string[] }
  | { kind: 'failed'; error: PermanentError };

/** A rule the upload breaks that only the size or the configuration reveals (the key itself is valid). */
function checkUpload(deps: Deps, size: number | undefined, repository: string): Rejection | undefined {
  const { maxContextBytes, repositoryPattern } = deps.config;
  if (size === 0) return { code: 'EmptyContext', reason: 'the uploaded context is empty (0 bytes)' };
  // Stryker disable next-line ConditionalExpression: undefined > n is false; the test only says what an absent size means
  if (size !== undefined && size > maxContextBytes) {
    return {
      code: 'ContextTooLarge',
      reason: `the context is ${size} bytes; the limit is ${maxContextBytes} bytes (MAX_CONTEXT_BYTES); filter it with .dockerignore`,
    };
  }
  if (!wildcardToRegExp(repositoryPattern).test(repository)) {
    return {
      code: 'RepositoryNotAllowed',
      reason: `repository "${repository}" does not match "${repositoryPattern}", the repositories this stack may manage`,
    };
  }
  return undefined;
}

/**
 * The builds an upload asks for, from its metadata: none named (one build on the project's own
 * environment), or one leg per platform; or why the metadata is refused.
 */
async function planUpload(deps: Deps, identity: UploadIdentity): Promise<Result<LegPlan[]>> {
  const metadata = await uploadMetadata(deps.s3, identity);
  const platforms = parsePlatforms(metadata[UPLOAD_METADATA.platforms]);
  if (!platforms.ok) return platforms;
  const lambdaSafe = parseLambdaSafe(metadata[UPLOAD_METADATA.lambdaSafe]);
  if (!lambdaSafe.ok) return lambdaSafe;
  return planLegs(platforms.value, deps.config.nativeEnvironments, {
    upload: lambdaSafe.value,
    stack: deps.config.lambdaSafe,
  });
}

/** The idempotency token of one leg: one build per leg per uploaded version. */
export function legToken(identityToken: string, platform: string): string {
  return createHash('sha256').update(`${identityToken}\n${platform}`).digest('hex');
}

/**
 * Starts the upload's builds, one per leg (or one on the project's environment when it names no
 * platform); returns their ids. `onStarted` hears of each, so that a failure after the first keeps
 * the claim: the retry resumes it and finds the builds already started.
 */
async function startBuilds(
  deps: Deps,
  request: Omit<BuildRequest, 'cacheTag' | 'idempotencyToken' | 'leg'>,
  info: RepositoryInfo,
  hash: string,
  legs: LegPlan[],
  resumed: boolean,
  onStarted: () => void,
): Promise<string[]> {
  // An adopted repository keeps its own setting: no cache where the cache tag is immutable.
  const cacheTagOf = (tag: string) => (isTagImmutable(info, tag) ? '' : tag);
  if (legs.length === 0) {
    const id = await startBuild(
      deps.codebuild,
      { ...request, cacheTag: cacheTagOf(CACHE_TAG), idempotencyToken: hash },
      resumed,
    );
    return [id];
  }
  const ids: string[] = [];
  // One platform is one build of the whole upload (a plain image, tagged as any); several are legs.
  const joined = legs.length > 1;
  for (const leg of legs) {
    const id = await startBuild(
      deps.codebuild,
      {
        ...request,
        cacheTag: cacheTagOf(joined ? legCacheTag(CACHE_TAG, leg.platform) : CACHE_TAG),
        idempotencyToken: joined ? legToken(hash, leg.platform) : hash,
        leg: { platform: joined ? leg.platform : undefined, environment: leg.environment },
      },
      resumed,
    );
    deps.logger.info('leg started', {
      platform: leg.platform,
      buildId: id,
      environment: leg.environment.type,
      emulated: leg.emulated,
    });
    ids.push(id);
    onStarted();
  }
  return ids;
}

/** Why this record is none of our business, or undefined when it is. */
function ignoreReason(deps: Deps, record: S3EventRecord): string | undefined {
  if (!record.eventName?.startsWith('ObjectCreated:')) return `event ${record.eventName}`;
  if (record.s3?.bucket?.name !== deps.config.bucket) return 'another bucket';
  return undefined;
}

async function reject(
  deps: Deps,
  identity: UploadIdentity,
  recordKey: string,
  rejection: Rejection,
  names: { repository?: string; tag?: string },
  claimed: boolean,
  owner: string,
): Promise<TriggerOutcome> {
  // The reason quotes the upload's key: what looks like a credential never reaches the record. The
  // rule set (about 70 KB) is loaded only here, off the cold start of every accepted upload.
  const { redactText } = await import('../shared/redact.ts');
  const reason = await redactText(rejection.reason);
  const record: UploadRecord = {
    status: 'rejected',
    ...uploadFields(identity),
    ...names,
    code: rejection.code,
    reason,
    owner,
    at: deps.now().toISOString(),
  };
  if (claimed) {
    await updateUploadRecord(deps.s3, deps.config.bucket, recordKey, record);
  } else if (
    (await claimUpload(deps.s3, deps.config.bucket, recordKey, record, deps.now())) === 'duplicate'
  ) {
    return { kind: 'duplicate' };
  }
  const detail: BuildRejectedDetail = {
    bucket: identity.bucket,
    key: identity.key,
    ...(identity.versionId ? { versionId: identity.versionId } : {}),
    code: rejection.code,
    reason,
    ...names,
  };
  try {
    await publishRejection(deps.events, deps.config.eventBusName, detail);
  } catch (error) {
    // The claim was written here, so the caller has none to release: without this, Lambda's retry
    // would take itself for a duplicate and the rejection would never be announced.
    if (!claimed && error instanceof TransientError) await releaseQuietly(deps, recordKey);
    throw error;
  }
  deps.logger.warn('upload rejected', { code: rejection.code, reason });
  return { kind: 'rejected', rejection };
}

function uploadFields(identity: UploadIdentity): Pick<UploadRecord, 'bucket' | 'key' | 'versionId' | 'eTag'> {
  return {
    bucket: identity.bucket,
    key: identity.key,
    ...(identity.versionId ? { versionId: identity.versionId } : {}),
    ...(identity.eTag ? { eTag: identity.eTag } : {}),
  };
}

/** Why an existing repository that is neither this stack's nor adopted is refused. */
function notManaged(deps: Deps, info: RepositoryInfo): Rejection {
  const { stackName, adoptRepositoryPattern } = deps.config;
  const owner =
    // Stryker disable next-line ConditionalExpression: only a foreign repository is refused; the kind test narrows the type
    info.ownership.kind === 'foreign' && info.ownership.managedBy !== undefined
      ? `belongs to stack "${info.ownership.managedBy}"`
      : `exists and was not created by this stack (${stackName})`;
  const adopt =
    adoptRepositoryPattern === ''
      ? 'the adoptRepositoryPattern parameter (now empty)'
      : `the adoptRepositoryPattern parameter (now "${adoptRepositoryPattern}")`;
  return {
    code: 'RepositoryNotManaged',
    reason: `repository "${info.name}" ${owner}; to push to it, include its name in ${adopt}`,
  };
}

/**
 * The repository to build into, or why not: it must be managed or adopted, and an immutable tag
 * must be free. Ensures the repository again once if the cached one vanished meanwhile.
 */
async function buildTarget(
  deps: Deps,
  repository: string,
  tag: string,
): Promise<{ info: RepositoryInfo } | { rejection: Rejection }> {
  const info = await ensureRepository(deps, repository);
  if (info.ownership.kind === 'foreign') return { rejection: notManaged(deps, info) };
  if (!isTagImmutable(info, tag) || info.created) return { info };
  try {
    if (!(await tagExists(deps.ecr, repository, tag))) return { info };
  } catch (error) {
    const vanished =
      // Stryker disable next-line OptionalChaining: tagExists throws only classified errors, which keep a cause
      error instanceof Error && (error.cause as Error | undefined)?.name === 'RepositoryNotFoundException';
    if (!vanished) throw error;
    // The cached repository was deleted (e.g. by the sweeper) since we described it.
    deps.repositories.delete(repository);
    const again = await ensureRepository(deps, repository);
    return again.ownership.kind === 'foreign' ? { rejection: notManaged(deps, again) } : { info: again };
  }
  return { rejection: tagAlreadyExists(repository, tag) };
}

/**
 * Handles one S3 record: ignore, reject (with an event), or start exactly one build. `owner` is the
 * invocation's request id, which Lambda keeps across its retries of one event: a retry resumes its
 * own claim.
 */
export async function handleRecord(
  deps: Deps,
  record: S3EventRecord,
  owner: string,
): Promise<TriggerOutcome> {
  const ignored = ignoreReason(deps, record);
  if (ignored) return { kind: 'ignored', why: ignored };

  const { object } = record.s3;
  const { keyPrefix } = deps.config;
  const decoded = decodeS3Key(object.key);
  const key = decoded.ok ? decoded.value : object.key;
  // Keys outside the prefix, and our own upload records, are not uploads; the notification filter
  // should not even send them.
  if (!key.startsWith(keyPrefix)) return { kind: 'ignored', why: 'outside the key prefix' };
  if (key.startsWith(`${keyPrefix}${UPLOAD_RECORD_DIR}`)) return { kind: 'ignored', why: 'an upload record' };
  const parsed = decoded.ok ? parseContextKey(key, keyPrefix) : decoded;

  const identity: UploadIdentity = {
    bucket: record.s3.bucket.name,
    key,
    versionId: object.versionId || undefined,
    eTag: object.eTag || undefined,
  };
  const hash = identityHash(identity);
  deps.logger.appendKeys({ bucket: identity.bucket, key, version: identity.versionId ?? identity.eTag });
  if (deps.seen.has(hash)) return { kind: 'duplicate' };

  const recordKey = uploadRecordKey(deps.config.keyPrefix, identity);
  let claimed = false;
  let startAttempted = false;
  // A leg started: a failure of a later one keeps the claim, so that the retry resumes it.
  let startedOne = false;
  try {
    if (!parsed.ok) {
      return done(deps, hash, await reject(deps, identity, recordKey, parsed.rejection, {}, false, owner));
    }
    const { repository, tag } = parsed.value;
    deps.logger.appendKeys({ repository, tag });
    const names = { repository, tag };
    const invalid = checkUpload(deps, object.size, repository);
    if (invalid)
      return done(deps, hash, await reject(deps, identity, recordKey, invalid, names, false, owner));
    const plan = await planUpload(deps, identity);
    if (!plan.ok) {
      return done(deps, hash, await reject(deps, identity, recordKey, plan.rejection, names, false, owner));
    }
    const legs = plan.value;

    const accepted: UploadRecord = {
      status: 'accepted',
      ...uploadFields(identity),
      ...names,
      ...(legs.length > 0 ? { legs: recordLegs(legs) } : {}),
      owner,
      claimExpiresAt: new Date(deps.now().getTime() + deps.config.claimTtlMs).toISOString(),
      at: deps.now().toISOString(),
    };
    const claim = await claimUpload(deps.s3, deps.config.bucket, recordKey, accepted, deps.now());
    if (claim === 'duplicate') return done(deps, hash, { kind: 'duplicate' });
    claimed = true;

    const target = await buildTarget(deps, repository, tag);
    if ('rejection' in target) {
      return done(deps, hash, await reject(deps, identity, recordKey, target.rejection, names, true, owner));
    }
    // The sweeper must not delete a repository a build is about to push to.
    const info = target.info.staleMarked ? await clearStaleMark(deps, target.info) : target.info;

    // From here a failure may come after CodeBuild started the build (a timeout, its answer lost): the
    // claim is kept, so that the retry resumes it and looks for that build before starting one.
    startAttempted = true;
    const buildIds = await startBuilds(
      deps,
      { projectName: deps.config.projectName, ...identity, repository, repositoryUri: info.uri, tag },
      info,
      hash,
      legs,
      claim === 'resumed',
      () => {
        startedOne = true;
      },
    );
    const buildId = buildIds[0] as string;
    deps.logger.appendKeys({ buildId });
    if (buildIds.length > 1) deps.logger.info('builds started', { buildIds });
    else deps.logger.info('build started');
    return done(deps, hash, {
      kind: 'started',
      buildId,
      ...(buildIds.length > 1 ? { buildIds } : {}),
    });
  } catch (error) {
    if (error instanceof TransientError) {
      if (claimed && !startedOne && !(startAttempted && mayHaveStarted(error))) {
        await releaseQuietly(deps, recordKey);
      }
      throw error;
    }
    const permanent =
      error instanceof PermanentError ? error : new PermanentError('unexpected failure', { cause: error });
    deps.logger.error('upload not built: permanent error', permanent);
    if (claimed) await recordFailure(deps, recordKey, identity, parsed, permanent);
    return done(deps, hash, { kind: 'failed', error: permanent });
  }
}

/**
 * Whether a failed StartBuild may have started the build all the same: CodeBuild answered no 4xx
 * (a refusal such as throttling or the account's build limit), so the answer may have been lost
 * (a timeout, a 5xx after the start). Its claim is then kept: the retry resumes it and looks for
 * that build before starting one (start-build.ts existingBuild).
 */
function mayHaveStarted(error: TransientError): boolean {
  const status = httpStatusOf(error.cause) ?? 0;
  return status < 400 || status >= 500;
}

function done(deps: Deps, hash: string, outcome: TriggerOutcome): TriggerOutcome {
  deps.seen.add(hash);
  return outcome;
}

async function releaseQuietly(deps: Deps, recordKey: string): Promise<void> {
  try {
    await releaseClaim(deps.s3, deps.config.bucket, recordKey);
  } catch (error) {
    // Lambda's retry (same request id) resumes its own claim; another delivery waits for it to expire.
    deps.logger.warn('could not release the upload claim; it holds until it expires', error as Error);
  }
}

async function recordFailure(
  deps: Deps,
  recordKey: string,
  identity: UploadIdentity,
  parsed: Result<ContextRef>,
  error: PermanentError,
): Promise<void> {
  const names = parsed.ok ? { repository: parsed.value.repository, tag: parsed.value.tag } : {};
  const record: UploadRecord = {
    status: 'failed',
    ...uploadFields(identity),
    ...names,
    reason: error.message,
    at: deps.now().toISOString(),
  };
  try {
    await updateUploadRecord(deps.s3, deps.config.bucket, recordKey, record);
  } catch (updateError) {
    deps.logger.error('could not record the failure in the upload record', updateError as Error);
  }
}

/**
 * Handles every record of an S3 event independently: one bad record does not stop the others.
 * Throws a TransientError after all records are handled if any of them failed transiently, so that
 * Lambda retries the event; the records already handled are then recognised as duplicates.
 */
export async function handleS3Event(
  deps: Deps,
  event: Partial<S3Event> & { Event?: string },
  requestId: string,
): Promise<TriggerOutcome[]> {
  if (!Array.isArray(event.Records)) {
    deps.logger.info('event without records ignored', { s3Event: event.Event ?? 'unknown' });
    return [];
  }
  const outcomes: TriggerOutcome[] = [];
  const transient: TransientError[] = [];
  for (const record of event.Records) {
    try {
      const outcome = await handleRecord(deps, record, requestId);
      if (outcome.kind !== 'started' && outcome.kind !== 'rejected' && outcome.kind !== 'failed') {
        deps.logger.info(`record ${outcome.kind}`, outcome.kind === 'ignored' ? { why: outcome.why } : {});
      }
      outcomes.push(outcome);
    } catch (error) {
      const wrapped =
        error instanceof TransientError ? error : new TransientError('unexpected', { cause: error });
      deps.logger.warn('transient failure; Lambda will retry the event', wrapped);
      transient.push(wrapped);
    } finally {
      deps.logger.resetKeys();
    }
  }
  if (transient.length > 0) {
    throw new TransientError(`${transient.length} of ${event.Records.length} records failed transiently`, {
      cause: transient.length === 1 ? transient[0] : new AggregateError(transient),
    });
  }
  return outcomes;
}
