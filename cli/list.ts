/**
 * `ecr-pipeline list`: recent uploads, newest first, from the upload records. The records are named
 * by a hash, so the listing (ListObjectsV2 on the records' folder, bounded) orders them by their
 * last write; only the newest few are read.
 */
import { type _Object, GetObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { type BuildDurations, durationsOf } from '../functions/shared/build-durations.ts';
import { UPLOAD_RECORD_DIR, type UploadRecord } from '../functions/shared/upload-record.ts';
import type { ListArgs } from './args.ts';
import { explain } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { type ReleaseSummary, releaseSummary } from './release.ts';
import { type LegView, legsOf } from './status.ts';
import type { Io } from './submit.ts';
import { resolveTarget, sceneOf, type Target } from './target.ts';
import { stripControl } from './terminal-text.ts';

/** Records listed at most (10 pages of 1,000): the command stays fast on a busy bucket. */
export const MAX_LISTED = 10_000;
/** Records read at most when filtering by repository. */
export const MAX_READS = 500;
const PARALLEL_READS = 8;

/** One upload as `list` shows it. */
export interface ListedUpload {
  key: string;
  recordKey: string;
  image: string;
  status: UploadRecord['status'];
  /** ISO time of the record's last write. */
  updatedAt: string;
  ageSeconds: number;
  buildId?: string | undefined;
  digest?: string | undefined;
  code?: string | undefined;
  reason?: string | undefined;
  scan?: UploadRecord['scan'];
  /** The release gate and its verdict, once the image was built. */
  release?: ReleaseSummary | undefined;
  /** Where the build spent its time, in seconds per CodeBuild phase. */
  durations?: BuildDurations;
  /** A multi-platform upload: its legs (platform, native or emulated, build, digest, duration). */
  legs?: LegView[] | undefined;
}

/** The record's durations, as `list --output json` carries them (a leg's are in its LegView). */
function durationsFields(record: UploadRecord): Pick<ListedUpload, 'durations'> {
  const durations = durationsOf(record.durations);
  return durations ? { durations } : {};
}

/** The newest record objects of the bucket (at most MAX_LISTED listed), newest first. */
export async function newestRecordObjects(target: Pick<Target, 'clients' | 'bucket' | 'prefix'>) {
  const objects: _Object[] = [];
  const pages = paginateListObjectsV2(
    { client: target.clients.s3, pageSize: 1000 },
    { Bucket: target.bucket, Prefix: `${target.prefix}${UPLOAD_RECORD_DIR}` },
  );
  for await (const page of pages) {
    objects.push(...(page.Contents ?? []).filter((object) => object.Key?.endsWith('.json')));
    if (objects.length >= MAX_LISTED) break;
  }
  return objects.sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0));
}

async function readRecord(target: Pick<Target, 'clients' | 'bucket'>, key: string) {
  try {
    const object = await target.clients.s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: key }));
    return JSON.parse((await object.Body?.transformToString()) ?? '{}') as UploadRecord;
  } catch (error) {
    // Deleted (expired) between the listing and the read.
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** A build id as CodeBuild's commands take it (`project:uuid`), from an id or a build ARN. */
export function shortBuildId(id: string | undefined): string | undefined {
  return id?.replace(/^arn:[^:]+:codebuild:[^:]*:[^:]*:build\//, '');
}

/** Formats an age for people: `42s`, `5m`, `3h`, `2d`. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.floor(seconds))}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** The newest uploads (at most `limit`), optionally of one repository. */
export async function listUploads(
  target: Pick<Target, 'clients' | 'bucket' | 'prefix'>,
  options: { limit: number; repository?: string | undefined; now?: Date },
): Promise<ListedUpload[]> {
  const now = (options.now ?? new Date()).getTime();
  const objects = await newestRecordObjects(target);
  const budget = options.repository ? Math.min(objects.length, MAX_READS) : options.limit;
  const uploads: ListedUpload[] = [];
  for (let i = 0; i < budget && uploads.length < options.limit; i += PARALLEL_READS) {
    const batch = objects.slice(i, Math.min(i + PARALLEL_READS, budget));
    const records = await Promise.all(batch.map((object) => readRecord(target, object.Key ?? '')));
    records.forEach((record, index) => {
      const object = batch[index];
      if (!record || !object || uploads.length >= options.limit) return;
      if (options.repository && record.repository !== options.repository) return;
      const updated = object.LastModified ?? new Date(record.at);
      uploads.push({
        key: record.key,
        recordKey: object.Key ?? '',
        image: record.repository && record.tag ? `${record.repository}:${record.tag}` : '-',
        status: record.status,
        updatedAt: updated.toISOString(),
        ageSeconds: Math.round((now - updated.getTime()) / 1000),
        buildId: shortBuildId(record.buildId),
        digest: record.digest,
        code: record.code,
        reason: record.reason,
        ...(record.scan ? { scan: record.scan } : {}),
        ...(record.release ? { release: releaseSummary(record) } : {}),
        ...durationsFields(record),
        ...(legsOf(record) ? { legs: legsOf(record) } : {}),
      });
    });
  }
  return uploads;
}

/**
 * The legs in one cell: `linux/amd64 125s + linux/arm64 (emulated) 410s`; a leg not pushed yet
 * has no duration; `-` for an upload of one platform.
 */
export function legsCell(legs: LegView[] | undefined): string {
  if (!legs) return '-';
  return legs
    .map((leg) => {
      const duration = leg.digest && leg.durationSeconds !== undefined ? ` ${leg.durationSeconds}s` : '';
      return `${stripControl(leg.platform)}${leg.emulated ? ' (emulated)' : ''}${duration}`;
    })
    .join(' + ');
}

/** The uploads as a table with a header line. */
export function formatUploads(uploads: ListedUpload[]): string {
  const rows = [
    ['KEY', 'IMAGE', 'STATUS', 'GATE', 'AGE', 'PLATFORMS', 'BUILD'],
    ...uploads.map((u) => [
      u.key,
      u.image,
      u.status,
      u.release?.gate ?? '-',
      formatAge(u.ageSeconds),
      legsCell(u.legs),
      u.buildId ?? '-',
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

/** Runs `list`; returns the exit code. */
export async function listCommand(args: ListArgs, io: Io): Promise<number> {
  const target = await resolveTarget(args.flags, io.env);
  let uploads: ListedUpload[];
  try {
    uploads = await listUploads(target, { limit: args.limit, repository: args.repository });
  } catch (error) {
    throw explain(error, sceneOf(target, `${target.prefix}${UPLOAD_RECORD_DIR}`));
  }
  if (args.output === 'json') {
    io.stdout.write(`${JSON.stringify({ uploads })}\n`);
  } else if (uploads.length === 0) {
    io.stderr.write(
      `no uploads${args.repository ? ` to ${args.repository}` : ''} recorded in s3://${target.bucket}\n`,
    );
  } else {
    io.stdout.write(`${formatUploads(uploads)}\n`);
  }
  return EXIT.success;
}
