import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { CONTEXT_EXTENSIONS, contextKey } from '../functions/shared/naming.ts';
import type { UploadIdentity } from '../functions/shared/upload-record.ts';
import type { LookupArgs } from './args.ts';
import { CliError, explain, UsageError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import {
  BuildLogReader,
  describeRejection,
  findBuild,
  followBuild,
  getBuilds,
  readUploadRecord,
  rejectionOf,
} from './follow.ts';
import { LogFilter } from './log-filter.ts';
import { type Found, isFinal, statusLines, statusView } from './status.ts';
import type { Io } from './submit.ts';
import { resolveTarget, sceneOf, type Target } from './target.ts';

const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A build's ARN, as notifications and the console print it: `arn:aws:codebuild:<region>:<account>:build/<id>`. */
const BUILD_ARN = /^arn:aws[a-z-]*:codebuild:[a-z0-9-]+:\d{12}:build\/(.+)$/;

/**
 * What the user named: a build (by id or ARN), an upload key, or repository:tag, which names the
 * upload whatever its extension (`keys` in the order they are tried).
 */
export function classifySubject(
  subject: string,
  prefix: string,
): { buildId: string } | { key: string } | { keys: string[] } {
  const fromArn = BUILD_ARN.exec(subject)?.[1];
  if (fromArn !== undefined && BUILD_ID.test(fromArn)) return { buildId: fromArn };
  if (subject.startsWith('arn:')) {
    throw new UsageError(
      `"${subject}" is not the ARN of a build (arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>)`,
    );
  }
  if (BUILD_ID.test(subject)) return { buildId: subject };
  if (CONTEXT_EXTENSIONS.some((extension) => subject.endsWith(extension))) return { key: subject };
  const colon = subject.lastIndexOf(':');
  if (colon > 0) {
    try {
      const [repository, tag] = [subject.slice(0, colon), subject.slice(colon + 1)];
      return { keys: CONTEXT_EXTENSIONS.map((extension) => contextKey(prefix, repository, tag, extension)) };
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  throw new UsageError(
    `"${subject}" is neither an upload key (…/<tag>.tar.gz), repository:tag nor a build id (project:uuid or its ARN)`,
  );
}

/** The first of `keys` that names an object, with its head; none: an error that names them all. */
export async function headFirst(target: Target, keys: readonly string[]) {
  for (const key of keys) {
    try {
      const head = await target.clients.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }));
      return { key, head };
    } catch (error) {
      if ((error as { name?: string }).name !== 'NotFound') throw error;
    }
  }
  throw new CliError(
    `no upload at ${keys.map((key) => `s3://${target.bucket}/${key}`).join(', ')}`,
    'check the key, --prefix and --bucket',
  );
}

async function lookup(target: Target, args: LookupArgs): Promise<Found> {
  const subject = args.subject;
  const named = classifySubject(subject, target.prefix);
  if ('buildId' in named) {
    const [build] = await getBuilds(target.clients, [named.buildId]);
    if (!build) throw new CliError(`no build ${named.buildId}`, 'check the id and --region');
    return { build };
  }
  const keys = 'key' in named ? [named.key] : named.keys;
  const { key, head } = await headFirst(target, keys);
  const identity: UploadIdentity = {
    bucket: target.bucket,
    key,
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
  const scene = sceneOf(target);
  const print = (line: string) => io.stdout.write(`${line}\n`);
  try {
    const found = await lookup(target, args);
    if (args.command === 'status') {
      const view = await statusView(target.clients, target.project, found);
      if (args.output === 'json')
        io.stdout.write(`${JSON.stringify({ ...view, releaseLines: undefined })}\n`);
      else for (const line of statusLines(view, found, target.project)) print(line);
      return view.exitCode;
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
    const filter = new LogFilter(args.verbose);
    if (args.follow && !found.build.buildComplete) {
      const outcome = await followBuild(
        {
          clients: target.clients,
          prefix: target.prefix,
          identity: found.identity ?? { bucket: target.bucket, key: '' },
          out: {
            info: (line) => io.stderr.write(`${line}\n`),
            log: (text) => io.stdout.write(filter.push(text)),
          },
          ...(io.signal ? { signal: io.signal } : {}),
          pollMs: target.local ? 1000 : 2000,
        },
        found.build,
      );
      io.stdout.write(filter.flush());
      return outcome.kind === 'pushed' ? 0 : 1;
    }
    io.stdout.write(filter.push(await new BuildLogReader(target.clients).read(found.build)));
    io.stdout.write(filter.flush());
    return 0;
  } catch (error) {
    throw explain(error, scene);
  }
}
