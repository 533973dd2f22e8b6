/** `ecr-pipeline status` and `ecr-pipeline logs`: an upload key, repository:tag or build id. */
import type { Build } from '@aws-sdk/client-codebuild';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { BUILD_ENV } from '../functions/shared/contract.ts';
import { CONTEXT_EXTENSIONS, contextKey } from '../functions/shared/naming.ts';
import type { UploadIdentity, UploadRecord } from '../functions/shared/upload-record.ts';
import type { LookupArgs } from './args.ts';
import { CliError, explain, UsageError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import {
  BuildLogReader,
  describeRejection,
  findBuild,
  followBuild,
  getBuilds,
  outcomeOf,
  type Rejected,
  readUploadRecord,
  rejectionOf,
} from './follow.ts';
import { shortBuildId } from './list.ts';
import { formatBytes } from './progress.ts';
import { overrideHint, releaseLine } from './release.ts';
import { replicationLines } from './replication.ts';
import type { Io } from './submit.ts';
import { resolveTarget, type Target } from './target.ts';

const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What the user named: a build, or an upload key. */
export function classifySubject(subject: string, prefix: string): { buildId: string } | { key: string } {
  if (BUILD_ID.test(subject)) return { buildId: subject };
  if (CONTEXT_EXTENSIONS.some((extension) => subject.endsWith(extension))) return { key: subject };
  const colon = subject.lastIndexOf(':');
  if (colon > 0) {
    try {
      return { key: contextKey(prefix, subject.slice(0, colon), subject.slice(colon + 1)) };
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  throw new UsageError(
    `"${subject}" is neither an upload key (…/<tag>.tar.gz), repository:tag nor a build id (project:uuid)`,
  );
}

interface Found {
  identity?: UploadIdentity;
  build?: Build | undefined;
  rejected?: Rejected | undefined;
  accepted?: boolean;
  /** The record, when it holds the upload's final state (built, failed, superseded): no build lookup. */
  final?: UploadRecord | undefined;
  size?: number | undefined;
}

/** Record states that tell the whole outcome (the build need not be asked). */
const FINAL_STATES: ReadonlySet<string> = new Set(['built', 'released', 'held', 'superseded', 'failed']);

/** Whether the record tells the whole outcome (the build need not be asked); `built`: pushed, releasing. */
export function isFinal(record: UploadRecord | undefined): boolean {
  return record !== undefined && FINAL_STATES.has(record.status);
}

/** The lines `status` prints for a record in a final state, and its exit code. */
export function describeFinal(record: UploadRecord): { lines: string[]; exitCode: number } {
  const lines = [`record   ${record.status}${record.finishedAt ? ` at ${record.finishedAt}` : ''}`];
  if (record.buildId)
    lines.push(
      `build    ${shortBuildId(record.buildId)}${record.buildStatus ? `  ${record.buildStatus}` : ''}`,
    );
  if (record.status === 'built' || record.status === 'released' || record.status === 'held') {
    lines.push(
      record.status === 'held'
        ? `image    ${record.repository ?? ''}@${record.digest ?? ''} (pushed by digest; the tag ${record.tag ?? ''} was not moved)`
        : `image    ${record.repository ?? ''}:${record.tag ?? ''}${record.digest ? `@${record.digest}` : ''}`,
    );
    if (record.scan) {
      const counts = Object.entries(record.scan.counts).map(([severity, n]) => `${severity} ${n}`);
      lines.push(
        `scan     ${record.scan.scanner} ${record.scan.status}: ${counts.join(', ') || 'no findings'}`,
      );
    }
    const gate = releaseLine(record);
    if (gate) lines.push(gate);
    if (record.release?.override) {
      lines.push(
        `override ${record.release.override.by} at ${record.release.override.at}: ${record.release.override.reason}`,
      );
    }
    if (record.status === 'held') {
      lines.push(`next     ${overrideHint(record.key)}`);
      return { lines, exitCode: EXIT.held };
    }
    return { lines, exitCode: EXIT.success };
  }
  if (record.status === 'superseded') {
    lines.push(
      record.release
        ? `reason   ${record.reason ?? 'a newer upload of the same key won'}; its tag was not moved`
        : 'reason   a newer upload of the same key won; this one pushed nothing',
    );
    return { lines, exitCode: EXIT.failed };
  }
  lines.push(`reason   ${record.phase ? `${record.phase}: ` : ''}${record.reason ?? 'no reason given'}`);
  return { lines, exitCode: EXIT.failed };
}

async function lookup(target: Target, args: LookupArgs): Promise<Found> {
  const subject = args.subject;
  const named = classifySubject(subject, target.prefix);
  if ('buildId' in named) {
    const [build] = await getBuilds(target.clients, [named.buildId]);
    if (!build) throw new CliError(`no build ${named.buildId}`, 'check the id and --region');
    return { build };
  }
  const head = await target.clients.s3
    .send(new HeadObjectCommand({ Bucket: target.bucket, Key: named.key }))
    .catch((error: unknown) => {
      if ((error as { name?: string }).name === 'NotFound') {
        throw new CliError(
          `no upload at s3://${target.bucket}/${named.key}`,
          'check the key, --prefix and --bucket',
        );
      }
      throw error;
    });
  const identity: UploadIdentity = {
    bucket: target.bucket,
    key: named.key,
    versionId: head.VersionId,
    eTag: head.ETag,
  };
  const record = await readUploadRecord(target.clients, target.prefix, identity);
  const found: Found = {
    identity,
    size: head.ContentLength,
    accepted: record?.status === 'accepted',
    rejected: rejectionOf(record),
    final: isFinal(record) ? record : undefined,
  };
  // A finished upload's record tells all: one read, no CodeBuild calls (except for logs).
  if (found.final && args.command === 'status') return found;
  if (target.project && !found.rejected)
    found.build = await findBuild(target.clients, target.project, identity);
  return found;
}

/** Runs `status` or `logs`; returns the exit code. */
export async function lookupCommand(args: LookupArgs, io: Io): Promise<number> {
  const target = await resolveTarget(args.flags, io.env);
  const scene = {
    bucket: target.bucket,
    endpoint: target.endpoint,
    local: target.local,
    profile: target.profile,
  };
  const print = (line: string) => io.stdout.write(`${line}\n`);
  try {
    const found = await lookup(target, args);
    if (args.command === 'status') {
      if (found.identity) {
        const { bucket, key, versionId } = found.identity;
        print(
          `upload   s3://${bucket}/${key}${versionId ? ` version ${versionId}` : ''}${found.size !== undefined ? `  ${formatBytes(found.size)}` : ''}`,
        );
        if (!found.final)
          print(
            `record   ${found.rejected ? describeRejection(found.rejected) : found.accepted ? 'accepted' : 'not handled yet'}`,
          );
      }
      if (found.rejected) return EXIT.rejected;
      if (found.final) {
        const { lines, exitCode } = describeFinal(found.final);
        for (const line of lines) print(line);
        const { repository, digest } = found.final;
        if ((found.final.status === 'built' || found.final.status === 'released') && repository && digest) {
          for (const line of await replicationLines(target.clients.ecr, repository, digest)) print(line);
        }
        return exitCode;
      }
      const build = found.build;
      if (!build) {
        print(
          `build    ${target.project ? 'none yet' : 'unknown (pass --project or set ECR_PIPELINE_PROJECT)'}`,
        );
        return 0;
      }
      print(
        `build    ${build.id}  ${build.buildStatus}${build.buildComplete ? '' : `  phase ${build.currentPhase}`}`,
      );
      if (build.logs?.deepLink) print(`log      ${build.logs.deepLink}`);
      if (!build.buildComplete) return 0;
      const outcome = await outcomeOf(target.clients, build);
      if (outcome.kind === 'pushed') {
        print(`image    ${outcome.image}`);
        const repository = build.environment?.environmentVariables?.find(
          (v) => v.name === BUILD_ENV.repository,
        )?.value;
        if (repository && outcome.digest) {
          for (const line of await replicationLines(target.clients.ecr, repository, outcome.digest))
            print(line);
        }
        return 0;
      }
      if (outcome.kind === 'failed') print(`reason   ${outcome.reason}`);
      return 1;
    }
    if (found.rejected) {
      io.stderr.write(`${describeRejection(found.rejected)}\n`);
      return EXIT.rejected;
    }
    if (!found.build) {
      throw new CliError(
        'no build of this upload (yet)',
        'run `ecr-pipeline status` to see what became of it',
      );
    }
    if (args.follow && !found.build.buildComplete) {
      const outcome = await followBuild(
        {
          clients: target.clients,
          prefix: target.prefix,
          identity: found.identity ?? { bucket: target.bucket, key: '' },
          out: { info: (line) => io.stderr.write(`${line}\n`), log: (text) => io.stdout.write(text) },
          ...(io.signal ? { signal: io.signal } : {}),
          pollMs: target.local ? 1000 : 2000,
        },
        found.build,
      );
      return outcome.kind === 'pushed' ? 0 : 1;
    }
    io.stdout.write(await new BuildLogReader(target.clients).read(found.build));
    return 0;
  } catch (error) {
    throw explain(error, scene);
  }
}
