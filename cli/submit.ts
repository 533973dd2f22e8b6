/** `ecr-pipeline submit`: pack, upload, follow, print the image. */

import type { Build } from '@aws-sdk/client-codebuild';
import { type BuildDurations, durationsOfBuild } from '../functions/shared/build-durations.ts';
import { UPLOAD_METADATA } from '../functions/shared/contract.ts';
import { contextKey } from '../functions/shared/naming.ts';
import {
  type UploadIdentity,
  type UploadRecord,
  uploadRecordKey,
} from '../functions/shared/upload-record.ts';
import type { SubmitArgs } from './args.ts';
import { type ContextPlan, type PackProgress, packContext, planContext } from './context.ts';
import { contextHash } from './context-hash.ts';
import { chooseImage, type Git, systemGit } from './defaults.ts';
import { CliError, explain } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { failureLines } from './failure.ts';
import {
  describeRejection,
  type FollowOutput,
  followBuild,
  newestBuildIds,
  type SubmitOutcome,
  waitForBuild,
} from './follow.ts';
import { LogFilter } from './log-filter.ts';
import { tagRefusal } from './preflight.ts';
import { formatBytes, ProgressBar, type ProgressOutput } from './progress.ts';
import { awaitRelease, type ReleaseSummary, releaseSummary } from './release.ts';
import { waitForScan } from './scan.ts';
import { type ScanSummary, scanTargets, waitForScans } from './scan-gate.ts';
import { expectScan, readScanFacts } from './scan-plan.ts';
import { credentialArgWarnings } from './secrets.ts';
import { stackScanOnPush as readStackScanOnPush } from './stack-functions.ts';
import { type LegView, legsOf } from './status.ts';
import { resolveTarget, sceneOf, type Target } from './target.ts';
import { stripControl } from './terminal-text.ts';
import { UploadInterrupted, uploadContext } from './upload.ts';

/** S3 allows 2 KB of user metadata (names and values) per object. */
const METADATA_LIMIT = 2048;

export interface Io {
  stdout: ProgressOutput;
  stderr: ProgressOutput;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  /** git for the default tag (tests pass their own). */
  git?: Git;
  /** The clock for the default tag. */
  now?: () => Date;
}

/** One build phase and how long it took (`--output json`). */
export interface PhaseTiming {
  phase: string;
  status?: string | undefined;
  seconds?: number | undefined;
}

/** What `submit --output json` prints: one object, whatever the outcome. */
export interface SubmitResult {
  status: 'uploaded' | 'pushed' | 'rejected' | 'failed';
  exitCode: number;
  repository: string;
  tag: string;
  bucket: string;
  key: string;
  versionId?: string | undefined;
  recordKey?: string | undefined;
  image?: string | undefined;
  digest?: string | undefined;
  buildId?: string | undefined;
  phases?: PhaseTiming[];
  /** Where the build spent its time, in seconds per CodeBuild phase (as `status` shows it). */
  durations?: BuildDurations | undefined;
  code?: string | undefined;
  /** Why it was rejected or failed: for a build, the excerpt of its log that `status` shows too. */
  reason?: string | undefined;
  /** The phase a build failed in. */
  phase?: string | undefined;
  /** CodeBuild's own message for the failing phase. */
  detail?: string | undefined;
  logLink?: string | undefined;
  /** `--wait-scan`: the worst image's scan and the gate; `legs` has each leg's for several platforms. */
  scan?: ScanSummary | undefined;
  /** The stack's release gate and its verdict (absent on a stack without the release step). */
  release?: ReleaseSummary | undefined;
  /** A multi-platform upload: its legs; `image` and `digest` then name the index the tag is on. */
  legs?: LegView[] | undefined;
}

/** The phases of a build with their durations, in order. */
export function phaseTimings(build: Build | undefined): PhaseTiming[] {
  return (build?.phases ?? []).map((phase) => ({
    phase: phase.phaseType ?? 'UNKNOWN',
    status: phase.phaseStatus,
    seconds: phase.durationInSeconds,
  }));
}

/** The exit code of an outcome (before any scan gate). */
export function exitCodeOf(outcome: SubmitOutcome): number {
  if (outcome.kind === 'pushed') return EXIT.success;
  return outcome.kind === 'rejected' ? EXIT.rejected : EXIT.failed;
}

/** Escapes non-ASCII characters so that a JSON value fits S3 metadata (US-ASCII only). */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The object metadata the build-trigger function reads (UPLOAD_METADATA). */
export function uploadMetadata(
  plan: Pick<ContextPlan, 'dockerfile'>,
  args: Pick<SubmitArgs, 'buildArgs' | 'target' | 'platforms'> &
    Partial<Pick<SubmitArgs, 'secrets' | 'lambdaSafe'>>,
): Record<string, string> {
  const metadata: Record<string, string> = { [UPLOAD_METADATA.dockerfile]: plan.dockerfile };
  if (Object.keys(args.buildArgs).length > 0) metadata[UPLOAD_METADATA.buildArgs] = asciiJson(args.buildArgs);
  if (args.secrets && Object.keys(args.secrets).length > 0)
    metadata[UPLOAD_METADATA.secrets] = asciiJson(args.secrets);
  if (args.target) metadata[UPLOAD_METADATA.target] = args.target;
  if (args.platforms.length > 0) metadata[UPLOAD_METADATA.platforms] = args.platforms.join(',');
  if (args.lambdaSafe) metadata[UPLOAD_METADATA.lambdaSafe] = 'true';
  for (const [name, value] of Object.entries(metadata)) {
    if (!/^[\x20-\x7e]*$/.test(value)) {
      throw new CliError(
        `the ${name} "${value}" has characters S3 metadata cannot carry (only printable ASCII)`,
        name === UPLOAD_METADATA.dockerfile
          ? 'rename the Dockerfile with ASCII characters'
          : 'use ASCII values',
      );
    }
  }
  const size = Object.entries(metadata).reduce((sum, [name, value]) => sum + name.length + value.length, 0);
  if (size > METADATA_LIMIT) {
    throw new CliError(
      `the build settings take ${size} bytes of object metadata; S3 allows ${METADATA_LIMIT}`,
      'pass fewer or shorter --build-arg values (long values belong in a file in the context)',
    );
  }
  return metadata;
}

/** A shell-ready way to repeat the target flags in the follow-up commands we suggest. */
function flagsHint(target: Target, args: SubmitArgs): string {
  const parts: string[] = [];
  if (args.flags.local) parts.push('--local');
  if (args.flags.bucket) parts.push(`--bucket ${target.bucket}`);
  if (args.flags.prefix) parts.push(`--prefix ${target.prefix}`);
  if (args.flags.region) parts.push(`--region ${target.region}`);
  if (args.flags.profile) parts.push(`--profile ${args.flags.profile}`);
  return parts.length ? ` ${parts.join(' ')}` : '';
}

/** Runs `submit`; returns the exit code. */
export async function submit(args: SubmitArgs, io: Io): Promise<number> {
  const info = (line: string) => io.stderr.write(`${line}\n`);
  const plan = await planContext({
    dir: args.dir,
    dockerfile: args.dockerfile,
    maxBytes: args.maxBytes,
    maxFiles: args.maxFiles,
  });
  const { repository, tag, chosen } = chooseImage(
    args.dir,
    args,
    io.git ?? systemGit,
    io.now?.() ?? new Date(),
    () => contextHash(plan),
  );
  if (chosen.length > 0) {
    info(
      `image ${repository}:${tag} (${chosen.map((c) => `${c} chosen from ${c === 'tag' ? 'git or the time' : 'the folder'}`).join(', ')}; --repository / --tag to set them)`,
    );
  }
  for (const warning of plan.warnings) info(`warning: ${warning}`);
  for (const warning of credentialArgWarnings(args.buildArgs)) info(`warning: ${warning}`);
  const metadata = uploadMetadata(plan, args);
  const target = await resolveTarget(args.flags, io.env);
  const key = contextKey(target.prefix, repository, tag);
  const scene = sceneOf(target, key);
  const result: SubmitResult = {
    status: 'uploaded',
    exitCode: EXIT.success,
    repository,
    tag,
    bucket: target.bucket,
    key,
  };
  const finish = (done: SubmitResult) => {
    if (args.output === 'json') io.stdout.write(`${JSON.stringify(done)}\n`);
    return done.exitCode;
  };

  if (!args.async && !target.project) {
    throw new CliError(
      'the CodeBuild project to follow is not known',
      'pass --project or set ECR_PIPELINE_PROJECT (the stack output BuildProjectName), or use --async to upload only',
    );
  }
  const refused = await checkTag(target, repository, tag, info).catch((error: unknown) => {
    throw explain(error, scene);
  });
  if (refused) {
    info(`${describeRejection({ kind: 'rejected', ...refused })} (nothing was uploaded)`);
    return finish({ ...result, status: 'rejected', exitCode: EXIT.rejected, ...refused });
  }
  if (args.waitScan) await checkScanWillCome(target, repository);
  // Builds that exist before the upload can never be its build (see follow.ts).
  let before: Set<string> | undefined;
  if (!args.async && target.project) {
    before = new Set(
      await newestBuildIds(target.clients, target.project).catch((error: unknown) => {
        throw explain(error, scene);
      }),
    );
  }

  const uploaded = await upload(args, io, target, plan, key, metadata, scene);
  const identity: UploadIdentity = {
    bucket: target.bucket,
    key,
    versionId: uploaded.versionId,
    eTag: uploaded.eTag,
  };
  Object.assign(result, {
    versionId: uploaded.versionId,
    recordKey: uploadRecordKey(target.prefix, identity),
  });

  if (args.async) {
    info(`the build starts on its own; follow it with:`);
    info(`  ecr-pipeline status ${key}${flagsHint(target, args)}`);
    info(`  ecr-pipeline logs ${key} --follow${flagsHint(target, args)}`);
    if (args.output === 'text') io.stdout.write(`${key}\n`);
    return finish(result);
  }

  const { outcome, last } = await guard(target, args, key, scene, () =>
    followUpload(args, io, target, identity, before),
  );
  const text = args.output === 'text' ? io : { stdout: { write: () => true }, stderr: io.stderr };
  let exitCode = report(outcome, text, false);
  let release: ReleaseSummary | undefined;
  let scan: SubmitResult['scan'];
  let joined: Partial<SubmitResult> = {};
  if (outcome.kind === 'pushed') {
    const run = <T>(step: () => Promise<T>) => guard(target, args, key, scene, step);
    ({ exitCode, release, scan, joined } = await afterPush(args, io, target, identity, outcome, run));
  }
  return finish({
    ...result,
    ...outcomeFields(outcome, last),
    ...joined,
    exitCode,
    ...(scan ? { scan } : {}),
    ...(release ? { release } : {}),
  });
}

/**
 * After the build pushed the image: waits for the stack's release (the tag moved, or the image held),
 * prints the image once released, then applies `--wait-scan` / `--fail-on` to a released image.
 */
async function afterPush(
  args: SubmitArgs,
  io: Io,
  target: Target,
  identity: UploadIdentity,
  outcome: Extract<SubmitOutcome, { kind: 'pushed' }>,
  run: <T>(step: () => Promise<T>) => Promise<T>,
): Promise<{
  exitCode: number;
  release?: ReleaseSummary | undefined;
  scan?: SubmitResult['scan'];
  joined: Partial<SubmitResult>;
}> {
  const info = (line: string) => io.stderr.write(`${line}\n`);
  const released = await run(() => awaitRelease(target, identity, io));
  const release = releaseSummary(released.record);
  const joined = joinedFields(outcome, released.record);
  if (released.exitCode !== EXIT.success) return { exitCode: released.exitCode, release, joined };
  if (args.output === 'text') io.stdout.write(`${joined.image ?? outcome.image}\n`);
  if (!args.waitScan) return { exitCode: EXIT.success, release, joined };
  const repository = released.record.repository ?? '';
  const scan = await run(() =>
    waitForScans(
      scanTargets(released.record, outcome.digest),
      ({ digest, platform }) => {
        info(
          `waiting for the scan of ${repository}@${digest}${platform ? ` (${stripControl(platform)})` : ''}...`,
        );
        return waitForScan({
          clients: target.clients,
          repository,
          digest,
          signal: io.signal,
          pollMs: target.local ? 1000 : 5000,
        });
      },
      args.failOn,
      info,
    ),
  );
  return { exitCode: scan.gate === 'failed' ? EXIT.scanGate : EXIT.success, release, scan, joined };
}

/**
 * A multi-platform upload: the legs, and the image the tag is on (the index the release joined),
 * not the leg's image the followed build pushed. Nothing for an upload of one platform.
 */
export function joinedFields(
  outcome: Extract<SubmitOutcome, { kind: 'pushed' }>,
  record: UploadRecord,
): Partial<SubmitResult> {
  const legs = legsOf(record);
  if (!legs) return {};
  if (!record.digest || record.digest === outcome.digest) return { legs };
  const image = `${outcome.image.replace(/@sha256:[a-f0-9]{64}$/, '')}@${record.digest}`;
  return { legs, image, digest: record.digest };
}

/** The fields of the JSON result that an outcome gives. */
function outcomeFields(outcome: SubmitOutcome, last: Build | undefined): Partial<SubmitResult> {
  if (outcome.kind === 'rejected') return { status: 'rejected', code: outcome.code, reason: outcome.reason };
  const build = {
    buildId: outcome.buildId,
    phases: phaseTimings(last),
    durations: durationsOfBuild(last?.phases),
  };
  return outcome.kind === 'pushed'
    ? { status: 'pushed', ...build, image: outcome.image, digest: outcome.digest }
    : {
        status: 'failed',
        ...build,
        phase: outcome.phase,
        reason: outcome.reason,
        detail: outcome.detail,
        logLink: outcome.logLink,
      };
}

/** Runs a step that follows the upload; Ctrl-C says how to follow it again, other errors are explained. */
async function guard<T>(
  target: Target,
  args: SubmitArgs,
  key: string,
  scene: Parameters<typeof explain>[1],
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof CliError && error.exitCode === EXIT.interrupted) {
      throw new CliError(
        'stopped following; the build goes on',
        `follow it again with: ecr-pipeline logs ${key} --follow${flagsHint(target, args)}`,
        EXIT.interrupted,
      );
    }
    throw explain(error, scene);
  }
}

/** Finds the upload's build and shows it until it ends; returns the outcome and the last build seen. */
async function followUpload(
  args: SubmitArgs,
  io: Io,
  target: Target,
  identity: UploadIdentity,
  before: ReadonlySet<string> | undefined,
): Promise<{ outcome: SubmitOutcome; last?: Build | undefined }> {
  let last: Build | undefined;
  const filter = new LogFilter(args.verbose);
  const out: FollowOutput = {
    info: (line) => io.stderr.write(`${line}\n`),
    log: (text) => {
      if (!args.quiet) io.stderr.write(filter.push(text));
    },
  };
  const options = {
    clients: target.clients,
    project: target.project,
    prefix: target.prefix,
    identity,
    ...(before ? { before } : {}),
    out,
    ...(io.signal ? { signal: io.signal } : {}),
    pollMs: target.local ? 1000 : 2000,
    showLogs: !args.quiet,
    onBuild: (build: Build) => {
      last = build;
    },
  };
  const found = await waitForBuild(options);
  if ('rejected' in found) return { outcome: found.rejected };
  const outcome = await followBuild(options, found.build);
  if (!args.quiet) io.stderr.write(filter.flush());
  return { outcome, last };
}

/** The pre-upload tag check; a missing permission only warns (the pipeline checks again). */
async function checkTag(
  target: Target,
  repository: string,
  tag: string,
  info: (line: string) => void,
): Promise<{ code: string; reason: string } | undefined> {
  try {
    return await tagRefusal(target.clients, repository, tag);
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (name !== 'AccessDeniedException' && name !== 'AccessDenied') throw error;
    info(`warning: cannot check whether ${repository}:${tag} exists (${name}); uploading anyway`);
    return undefined;
  }
}

/**
 * `--wait-scan` / `--fail-on` before uploading: when no scan will come for this image (scan on push
 * off, a scanner that cannot scan it, a local cloud without a scanner), stop now with the reason
 * instead of waiting for the scan until the timeout. Unknown (settings unread) lets the upload go.
 */
async function checkScanWillCome(target: Target, repository: string) {
  const facts = await readScanFacts(target.clients, repository);
  const stackScanOnPush =
    facts.repositoryScanOnPush === undefined && !facts.scanType?.startsWith('ENHANCED')
      ? await readStackScanOnPush(target.clients, target.project)
      : undefined;
  const expected = expectScan(repository, {
    ...facts,
    stackScanOnPush,
    localScanner: target.localScanner,
  });
  if (expected.scans === false) {
    throw new CliError(
      `--wait-scan / --fail-on: no scan will come for ${repository}: ${expected.reason}; nothing was uploaded`,
      expected.fix,
    );
  }
}

/** Packs and uploads the context with a progress bar; Ctrl-C says what became of the upload. */
async function upload(
  args: SubmitArgs,
  io: Io,
  target: Target,
  plan: ContextPlan,
  key: string,
  metadata: Record<string, string>,
  scene: Parameters<typeof explain>[1],
) {
  const info = (line: string) => io.stderr.write(`${line}\n`);
  info(
    `packing ${plan.dir}: ${plan.files} files, ${formatBytes(plan.bytes)} -> s3://${target.bucket}/${key}`,
  );
  const progress: PackProgress = { tarBytes: 0, gzipBytes: 0 };
  const bar = new ProgressBar(io.stderr, 'uploading');
  let sent = 0;
  const sample = () => ({ sent, packed: Math.min(progress.tarBytes / plan.tarBytes, 1) });
  const body = packContext(plan, progress);
  let uploaded: Awaited<ReturnType<typeof uploadContext>>;
  try {
    uploaded = await uploadContext({
      s3: target.clients.s3,
      bucket: target.bucket,
      key,
      body,
      metadata,
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (loaded) => {
        sent = loaded;
        if (!args.quiet) bar.update(sample());
      },
    });
  } catch (error) {
    bar.clear();
    if (error instanceof UploadInterrupted) {
      if (!error.completed)
        throw new CliError(
          'interrupted: the upload was stopped and nothing was stored',
          undefined,
          EXIT.interrupted,
        );
      throw new CliError(
        'interrupted after the upload completed: the build goes on',
        `follow it with: ecr-pipeline status ${key}${flagsHint(target, args)}`,
        EXIT.interrupted,
      );
    }
    throw explain(error, scene);
  }
  sent = progress.gzipBytes;
  bar.done(sample());
  info(
    `uploaded s3://${target.bucket}/${key}${uploaded.versionId ? ` (version ${uploaded.versionId})` : ''}`,
  );
  return uploaded;
}

/**
 * Prints an outcome; returns the exit code (0 only for a pushed image). The image goes to stdout
 * unless `printImage` is false (submit prints it once the release moved the tag).
 */
export function report(outcome: SubmitOutcome, io: Pick<Io, 'stdout' | 'stderr'>, printImage = true): number {
  const info = (line: string) => io.stderr.write(`${line}\n`);
  switch (outcome.kind) {
    case 'pushed':
      info(`pushed ${outcome.image}${outcome.digest ? '' : ' (digest not reported by the build)'}`);
      if (printImage) io.stdout.write(`${outcome.image}\n`);
      break;
    case 'rejected':
      info(describeRejection(outcome));
      break;
    case 'failed':
      for (const [i, line] of failureLines(outcome, '  ').entries())
        info(i === 0 ? `build ${outcome.buildId} ${outcome.status}: ${line}` : line);
      if (outcome.logLink) info(`log: ${outcome.logLink}`);
      break;
  }
  return exitCodeOf(outcome);
}
