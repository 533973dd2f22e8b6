/**
 * The release as the command shows it: `submit` waits for the verdict, `status` and `list` show the
 * gate and the verdict, and `ecr-pipeline release <key|build-id> --override --reason TEXT` releases a
 * held image anyway by invoking the stack's release function (a permission the uploaders do not
 * have: the stack's ReleaseOperatorPolicy).
 */
import { hostname, userInfo } from 'node:os';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { buildVariable, getBuilds, UploadNotSighted, waitForRelease } from '../follow/upload.ts';
import { BUILD_ENV, type ReleaseOverrideRequest } from '../functions/shared/contract.ts';
import {
  type UploadIdentity,
  type UploadRecord,
  uploadRecordKeyCandidates,
} from '../functions/shared/upload-record.ts';
import { CliError, explain, UsageError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { LegProgress } from './leg-progress.ts';
import { classifySubject, headFirst } from './lookup.ts';
import type { Io } from './submit.ts';
import type { TargetFlags } from './target.ts';
import { resolveTarget, sceneOf, type Target } from './target.ts';

export interface ReleaseArgs {
  command: 'release';
  subject: string;
  override: boolean;
  reason?: string | undefined;
  /** The release function's name; default `<project>-release`. */
  functionName?: string | undefined;
  flags: TargetFlags;
}

/** What `--output json` carries of a release. */
export interface ReleaseSummary {
  verdict?: string | undefined;
  gate?: string | undefined;
  maxSeverity?: string | undefined;
  deadline?: string | undefined;
  reason?: string | undefined;
  counts?: Record<string, number> | undefined;
  existingDigest?: string | undefined;
  override?: { reason: string; by: string; at: string } | undefined;
}

/** The release part of a record, for JSON; undefined when the record has none. */
export function releaseSummary(record: UploadRecord | undefined): ReleaseSummary | undefined {
  const release = record?.release;
  if (!release) return undefined;
  return {
    verdict: release.verdict,
    gate: release.gate,
    maxSeverity: release.maxSeverity,
    deadline: release.verdict ? undefined : release.deadline,
    reason: release.reason,
    counts: release.counts,
    existingDigest: release.existingDigest,
    override: release.override,
  };
}

/** One line of the gate and its verdict: `gate     scan (HIGH and above): held: ...`. */
export function releaseLine(record: UploadRecord): string | undefined {
  const release = record.release;
  if (!release) return undefined;
  const gate =
    release.gate === 'scan' ? `scan (holds at ${release.maxSeverity ?? 'HIGH'} and above)` : 'none';
  if (!release.verdict) {
    return `gate     ${gate}: waiting${release.deadline ? ` for the scan until ${release.deadline}` : ''}`;
  }
  const why = release.reason ? `: ${release.reason}` : '';
  return `gate     ${gate}: ${release.verdict}${why}`;
}

/** The exit code of a record whose release is decided (the README's table). */
export function releaseExitCode(record: UploadRecord): number {
  switch (record.status) {
    case 'released':
      return EXIT.success;
    case 'held':
      return EXIT.held;
    case 'rejected':
      return EXIT.rejected;
    default:
      return EXIT.failed;
  }
}

/** How to release a held image anyway, for people. */
export function overrideHint(key: string): string {
  return `to release it anyway: ecr-pipeline release ${key} --override --reason "..." (needs the stack's ReleaseOperatorPolicy)`;
}

/**
 * Waits for the release of a built image and says what became of it. `no-release` (a stack without
 * the release step) counts as released: the build's push was the release.
 */
export async function awaitRelease(
  target: Target,
  identity: UploadIdentity,
  io: Io,
  timeoutMs = 60 * 60_000,
): Promise<{ record: UploadRecord; exitCode: number }> {
  const info = (line: string) => io.stderr.write(`${line}\n`);
  let said = '';
  const legs = new LegProgress(info);
  const sighting = await waitForRelease(target.clients, {
    prefix: target.prefix,
    identity,
    pollMs: target.local ? 500 : 2000,
    timeoutMs,
    signal: io.signal,
    onRecord: (record) => {
      legs.see(record);
      const line = record?.status === 'built' ? releaseLine(record) : undefined;
      if (line && line !== said) info(line.replace(/^gate {5}/, 'release gate '));
      if (line) said = line;
    },
  }).catch((error: unknown) => {
    if (error instanceof UploadNotSighted && error.why === 'aborted') {
      throw new CliError(
        'stopped waiting; the release goes on',
        `see it with: ecr-pipeline status ${identity.key}`,
        EXIT.interrupted,
      );
    }
    if (error instanceof UploadNotSighted) {
      throw new CliError(
        'the release was not decided in time',
        `see it with: ecr-pipeline status ${identity.key}`,
      );
    }
    throw error;
  });
  const { record } = sighting;
  if (sighting.kind === 'no-release') return { record, exitCode: EXIT.success };
  const line = releaseLine(record);
  if (line) info(line.replace(/^gate {5}/, 'release gate '));
  if (record.status === 'held') info(overrideHint(identity.key));
  return { record, exitCode: releaseExitCode(record) };
}

/** The upload named by a key or a build id: its identity. */
async function identityOf(target: Target, subject: string): Promise<UploadIdentity> {
  const named = classifySubject(subject, target.prefix);
  if ('buildId' in named) {
    const [build] = await getBuilds(target.clients, [named.buildId]);
    const bucket = build ? buildVariable(build, BUILD_ENV.bucket) : undefined;
    const key = build ? buildVariable(build, BUILD_ENV.key) : undefined;
    if (!build || !bucket || !key)
      throw new CliError(`no build ${named.buildId} of an upload`, 'check the id and --region');
    return {
      bucket,
      key,
      versionId: buildVariable(build, BUILD_ENV.versionId) || undefined,
      eTag: buildVariable(build, BUILD_ENV.eTag) || undefined,
    };
  }
  const { key, head } = await headFirst(target, 'key' in named ? [named.key] : named.keys);
  return { bucket: target.bucket, key, versionId: head.VersionId, eTag: head.ETag };
}

/** The record of the upload and the key it is stored under. */
async function recordOf(
  target: Target,
  identity: UploadIdentity,
): Promise<{ key: string; record: UploadRecord }> {
  for (const key of uploadRecordKeyCandidates(target.prefix, identity)) {
    try {
      const out = await target.clients.s3.send(new GetObjectCommand({ Bucket: identity.bucket, Key: key }));
      return { key, record: JSON.parse((await out.Body?.transformToString()) ?? '{}') as UploadRecord };
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name !== 'NoSuchKey' && name !== 'NotFound') throw error;
    }
  }
  throw new CliError(
    `no upload record of s3://${identity.bucket}/${identity.key}`,
    'the pipeline has not handled it (yet)',
  );
}

/** Runs `release`; returns the exit code. */
export async function releaseCommand(args: ReleaseArgs, io: Io): Promise<number> {
  if (!args.override) throw new UsageError('release needs --override: it releases a held image anyway');
  const reason = args.reason?.trim();
  if (!reason) throw new UsageError('--override needs --reason TEXT: it is recorded and told to people');
  const target = await resolveTarget(args.flags, io.env);
  const scene = sceneOf(target);
  const functionName =
    args.functionName ??
    io.env.ECR_PIPELINE_RELEASE_FUNCTION ??
    (target.project ? `${target.project}-release` : undefined);
  if (!functionName) {
    throw new CliError(
      'the release function is not known',
      'pass --function or --project (the function is <project>-release)',
    );
  }
  try {
    const identity = await identityOf(target, args.subject);
    const { key, record } = await recordOf(target, identity);
    if (record.status !== 'held' && record.status !== 'built') {
      throw new CliError(`nothing to release: the upload is ${record.status}`, releaseLine(record));
    }
    const request: ReleaseOverrideRequest = {
      action: 'override',
      record: key,
      reason,
      by: io.env.ECR_PIPELINE_OPERATOR ?? `${userInfo().username}@${hostname()}`,
    };
    const out = await target.clients.lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        Payload: new TextEncoder().encode(JSON.stringify(request)),
      }),
    );
    const answer = out.Payload
      ? (JSON.parse(new TextDecoder().decode(out.Payload)) as {
          kind?: string;
          verdict?: string;
          why?: string;
          error?: string;
        })
      : {};
    if (out.FunctionError)
      throw new CliError(
        `the release function failed: ${answer.error ?? out.FunctionError}`,
        'try again; the override is done at most once',
      );
    if (answer.kind === 'decided' && answer.verdict === 'released') {
      io.stderr.write(
        `released ${record.repository}:${record.tag}@${record.digest} by override (recorded and notified)\n`,
      );
      io.stdout.write(`${record.repository}:${record.tag}@${record.digest}\n`);
      return EXIT.success;
    }
    io.stderr.write(`not released: ${answer.verdict ?? answer.why ?? answer.kind ?? 'no answer'}\n`);
    return answer.verdict === 'rejected' ? EXIT.rejected : EXIT.failed;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'AccessDeniedException') {
      throw new CliError(
        `not allowed to invoke ${functionName}`,
        "an override needs lambda:InvokeFunction on the release function: attach the stack's ReleaseOperatorPolicy",
        EXIT.aws,
      );
    }
    throw explain(error, scene);
  }
}
