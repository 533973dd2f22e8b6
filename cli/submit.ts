/** `ecr-pipeline submit`: pack, upload, follow, print the image. */
import { UPLOAD_METADATA } from '../functions/shared/contract.ts';
import { contextKey } from '../functions/shared/naming.ts';
import type { SubmitArgs } from './args.ts';
import { type ContextPlan, type PackProgress, packContext, planContext } from './context.ts';
import { CliError, explain } from './errors.ts';
import {
  describeRejection,
  type FollowOutput,
  followBuild,
  newestBuildIds,
  type Outcome,
  waitForBuild,
} from './follow.ts';
import { formatBytes, ProgressBar, type ProgressOutput } from './progress.ts';
import { resolveTarget, type Target } from './target.ts';
import { UploadInterrupted, uploadContext } from './upload.ts';

/** S3 allows 2 KB of user metadata (names and values) per object. */
const METADATA_LIMIT = 2048;

export interface Io {
  stdout: ProgressOutput;
  stderr: ProgressOutput;
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
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
  args: Pick<SubmitArgs, 'buildArgs' | 'target' | 'platforms'>,
): Record<string, string> {
  const metadata: Record<string, string> = { [UPLOAD_METADATA.dockerfile]: plan.dockerfile };
  if (Object.keys(args.buildArgs).length > 0) metadata[UPLOAD_METADATA.buildArgs] = asciiJson(args.buildArgs);
  if (args.target) metadata[UPLOAD_METADATA.target] = args.target;
  if (args.platforms.length > 0) metadata[UPLOAD_METADATA.platforms] = args.platforms.join(',');
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
  for (const warning of plan.warnings) info(`warning: ${warning}`);
  const metadata = uploadMetadata(plan, args);
  const target = await resolveTarget(args.flags, io.env);
  const key = contextKey(target.prefix, args.repository, args.tag);
  const scene = {
    bucket: target.bucket,
    key,
    endpoint: target.endpoint,
    local: target.local,
    profile: target.profile,
  };

  if (!args.async && !target.project) {
    throw new CliError(
      'the CodeBuild project to follow is not known',
      'pass --project or set ECR_PIPELINE_PROJECT (the stack output BuildProjectName), or use --async to upload only',
    );
  }
  // Builds that exist before the upload can never be its build (see follow.ts).
  let before: Set<string> | undefined;
  if (!args.async && target.project) {
    before = new Set(
      await newestBuildIds(target.clients, target.project).catch((error: unknown) => {
        throw explain(error, scene);
      }),
    );
  }

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
        throw new CliError('interrupted: the upload was stopped and nothing was stored', undefined, 130);
      throw new CliError(
        'interrupted after the upload completed: the build goes on',
        `follow it with: ecr-pipeline status ${key}${flagsHint(target, args)}`,
        130,
      );
    }
    throw explain(error, scene);
  }
  sent = progress.gzipBytes;
  bar.done(sample());
  const identity = { bucket: target.bucket, key, versionId: uploaded.versionId, eTag: uploaded.eTag };
  info(
    `uploaded s3://${target.bucket}/${key}${uploaded.versionId ? ` (version ${uploaded.versionId})` : ''}`,
  );

  if (args.async) {
    info(`the build starts on its own; follow it with:`);
    info(`  ecr-pipeline status ${key}${flagsHint(target, args)}`);
    info(`  ecr-pipeline logs ${key} --follow${flagsHint(target, args)}`);
    io.stdout.write(`${key}\n`);
    return 0;
  }

  const out: FollowOutput = {
    info,
    log: (text) => {
      if (!args.quiet) io.stderr.write(text);
    },
  };
  const followOptions = {
    clients: target.clients,
    project: target.project,
    prefix: target.prefix,
    identity,
    ...(before ? { before } : {}),
    out,
    ...(io.signal ? { signal: io.signal } : {}),
    pollMs: target.local ? 1000 : 2000,
    showLogs: !args.quiet,
  };
  let outcome: Outcome;
  try {
    const found = await waitForBuild(followOptions);
    outcome = 'rejected' in found ? found.rejected : await followBuild(followOptions, found.build);
  } catch (error) {
    if (error instanceof CliError && error.exitCode === 130) {
      throw new CliError(
        'stopped following; the build goes on',
        `follow it again with: ecr-pipeline logs ${key} --follow${flagsHint(target, args)}`,
        130,
      );
    }
    throw explain(error, scene);
  }
  return report(outcome, io);
}

/** Prints an outcome; returns the exit code (0 only for a pushed image). */
export function report(outcome: Outcome, io: Pick<Io, 'stdout' | 'stderr'>): number {
  const info = (line: string) => io.stderr.write(`${line}\n`);
  switch (outcome.kind) {
    case 'pushed':
      info(`pushed ${outcome.image}${outcome.digest ? '' : ' (digest not reported by the build)'}`);
      io.stdout.write(`${outcome.image}\n`);
      return 0;
    case 'rejected':
      info(describeRejection(outcome));
      return 1;
    case 'failed':
      info(`build ${outcome.buildId} ${outcome.status}: ${outcome.reason}`);
      if (outcome.logLink) info(`log: ${outcome.logLink}`);
      return 1;
  }
}
