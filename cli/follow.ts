/**
 * From an uploaded object to its build and its image, as the command shows it. Finding the record
 * and the build is `follow/upload.ts`, shared with the local cloud and the tests. The build is found
 * by the object's identity, never by time: the build-trigger function passes bucket, key and version id to StartBuild as build
 * variables (BUILD_ENV), so the CLI lists the project's newest builds and keeps the one whose
 * variables name exactly this object version. The function's upload record says whether the upload
 * was rejected, and why.
 */

import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { Build } from '@aws-sdk/client-codebuild';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import {
  buildMatches,
  findBuild,
  getBuilds,
  newestBuildIds,
  readUploadRecord,
  sleep,
  UploadNotSighted,
  buildVariable as variable,
  waitForBuildEnd,
  waitForUpload,
} from '../follow/upload.ts';
import { BUILD_ENV, BUILD_EXPORTED_DIGEST } from '../functions/shared/contract.ts';
import type { UploadIdentity, UploadRecord } from '../functions/shared/upload-record.ts';
import { CliError } from './errors.ts';
import { buildFailure } from './failure.ts';
import type { Clients } from './target.ts';
import { forTerminal, stripControl } from './terminal-text.ts';

// The command's modules and tests use these through this module.
export { buildMatches, findBuild, getBuilds, newestBuildIds, readUploadRecord, sleep };

/** An upload the build-trigger function refused: its rejection code and reason. */
export type Rejected = { kind: 'rejected'; code?: string | undefined; reason: string };

/** How a submitted upload ended: image pushed, refused by the build-trigger function, or build failed. */
export type SubmitOutcome =
  | { kind: 'pushed'; buildId: string; image: string; digest?: string | undefined }
  | Rejected
  | {
      kind: 'failed';
      buildId: string;
      status: string;
      /** The excerpt of the log the notification and `status` show (cli/failure.ts). */
      reason: string;
      phase?: string | undefined;
      /** CodeBuild's own message for the failing phase. */
      detail?: string | undefined;
      logLink?: string | undefined;
    };

/** Text sinks: `info` for progress and phases, `log` for the build log as it is written. */
export interface FollowOutput {
  info(line: string): void;
  log(text: string): void;
}

export interface FollowOptions {
  clients: Clients;
  project?: string | undefined;
  prefix: string;
  identity: UploadIdentity;
  /** Builds that existed before the upload: never this upload's build (used when a build carries no version id). */
  before?: ReadonlySet<string>;
  out: FollowOutput;
  signal?: AbortSignal;
  pollMs?: number;
  /** How long to wait for a record or a build before saying the trigger did not run. */
  findTimeoutMs?: number;
  showLogs?: boolean;
  /** Sees each state of the build as it is polled (the last one is the finished build). */
  onBuild?: (build: Build) => void;
}

/** The rejection an upload record reports; undefined when it reports none. */
export function rejectionOf(record: UploadRecord | undefined): Rejected | undefined {
  if (record?.status !== 'rejected') return undefined;
  return { kind: 'rejected', code: record.code, reason: record.reason ?? 'no reason given' };
}

/** A rejection as the commands print it: `rejected (code): reason`. */
export function describeRejection(rejected: Rejected): string {
  return stripControl(`rejected${rejected.code ? ` (${rejected.code})` : ''}: ${rejected.reason}`);
}

/** Incremental reader of a build's log: CloudWatch Logs on AWS, the log link where the build serves it. */
export class BuildLogReader {
  private nextToken: string | undefined;
  private printed = 0;

  constructor(private readonly clients: Clients) {}

  /** Returns what was written since the last call (empty when nothing new, or no log yet). */
  async read(build: Build): Promise<string> {
    const logs = build.logs;
    const link = logs?.deepLink;
    if (
      link &&
      /^https?:\/\//.test(link) &&
      !/\.aws\.amazon\.com|amazonaws\.com/.test(new URL(link).hostname)
    ) {
      const response = await fetch(link).catch(() => undefined);
      if (!response?.ok) return '';
      const text = await response.text();
      const fresh = text.slice(this.printed);
      this.printed = text.length;
      return fresh;
    }
    if (!logs?.groupName || !logs.streamName) return '';
    let text = '';
    for (;;) {
      try {
        const page = await this.clients.logs.send(
          new GetLogEventsCommand({
            logGroupName: logs.groupName,
            logStreamName: logs.streamName,
            startFromHead: true,
            nextToken: this.nextToken,
          }),
        );
        for (const event of page.events ?? []) {
          const message = event.message ?? '';
          text += message.endsWith('\n') ? message : `${message}\n`;
        }
        if (!page.nextForwardToken || page.nextForwardToken === this.nextToken) break;
        this.nextToken = page.nextForwardToken;
      } catch (error) {
        // The stream appears only once the build writes its first line.
        if ((error as { name?: string }).name === 'ResourceNotFoundException') break;
        throw error;
      }
    }
    return text;
  }
}

/** The pushed image, `<repositoryUri>:<tag>@<digest>`, from the build's exported digest or ECR. */
export async function imageOf(clients: Clients, build: Build): Promise<{ image: string; digest?: string }> {
  const uri = variable(build, BUILD_ENV.repositoryUri) ?? variable(build, BUILD_ENV.repository) ?? '';
  const tag = variable(build, BUILD_ENV.tag) ?? '';
  let digest =
    build.exportedEnvironmentVariables?.find((v) => v.name === BUILD_EXPORTED_DIGEST)?.value || undefined;
  const repository = variable(build, BUILD_ENV.repository);
  if (!digest && repository && tag) {
    const images = await clients.ecr
      .send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }))
      .catch(() => undefined);
    digest = images?.imageDetails?.[0]?.imageDigest;
  }
  const image = `${uri}:${tag}${digest ? `@${digest}` : ''}`;
  return digest ? { image, digest } : { image };
}

/** The outcome of a finished build. */
export async function outcomeOf(clients: Clients, build: Build): Promise<Exclude<SubmitOutcome, Rejected>> {
  const buildId = build.id ?? '';
  if (build.buildStatus === 'SUCCEEDED')
    return { kind: 'pushed', buildId, ...(await imageOf(clients, build)) };
  return {
    kind: 'failed',
    buildId,
    status: build.buildStatus ?? 'UNKNOWN',
    ...(await buildFailure(clients, build)),
    logLink: build.logs?.deepLink,
  };
}

/** The CLI's words for an upload that could not be followed to a build. */
function notSighted(error: unknown): unknown {
  if (!(error instanceof UploadNotSighted)) return error;
  if (error.why === 'aborted') return new CliError('interrupted', undefined, 130);
  if (error.why === 'no-project') {
    return new CliError(
      'cannot follow the build: the CodeBuild project is not known',
      'pass --project or set ECR_PIPELINE_PROJECT (or deploy the stack so its outputs name it); the upload itself is done',
    );
  }
  return new CliError(
    error.accepted
      ? 'the upload was accepted but no build of it appeared in the project'
      : 'nothing handled the upload: no record of it and no build',
    'check that the stack is deployed and subscribed to this bucket, and look at the build-trigger function logs',
  );
}

/** Waits for the record or the build of an upload (follow/upload.ts's loop); returns the build, or the rejection. */
export async function waitForBuild(
  options: FollowOptions,
): Promise<{ build: Build } | { rejected: Rejected }> {
  const { out } = options;
  let accepted = false;
  let said = false;
  const sighting = await waitForUpload(options.clients, {
    project: options.project,
    prefix: options.prefix,
    identity: options.identity,
    before: options.before,
    pollMs: options.pollMs ?? 2000,
    timeoutMs: options.findTimeoutMs ?? 120_000,
    signal: options.signal,
    onRecord: (record) => {
      if (record?.status !== 'accepted' || accepted) return;
      accepted = true;
      out.info(`accepted by the build-trigger function (${record.repository ?? ''}:${record.tag ?? ''})`);
    },
    onNoBuild: () => {
      if (!said) out.info('waiting for the build to start...');
      said = true;
    },
  }).catch((error: unknown) => {
    throw notSighted(error);
  });
  if (sighting.kind === 'build') return { build: sighting.build };
  const rejected = rejectionOf(sighting.record);
  if (rejected) return { rejected };
  // Failed before any build (a permanent error in the function): no build will come.
  throw new CliError(
    `the build-trigger function failed on the upload: ${sighting.record.reason ?? 'no reason given'}`,
    'look at the build-trigger function logs',
  );
}

/** Shows a build as it runs (phases, log) until it ends; returns its outcome. */
export async function followBuild(options: FollowOptions, first: Build): Promise<SubmitOutcome> {
  const { clients, out } = options;
  const log = new BuildLogReader(clients);
  let phase = '';
  out.info(`build ${first.id}${first.logs?.deepLink ? `  (log: ${first.logs.deepLink})` : ''}`);
  const build = await waitForBuildEnd(clients, first, {
    pollMs: options.pollMs ?? 2000,
    signal: options.signal,
    onPoll: async (build) => {
      options.onBuild?.(build);
      // The log first: what it holds was written before the phase this poll reports.
      if (options.showLogs !== false) {
        const text = await log.read(build);
        if (text) out.log(await forTerminal(text));
      }
      if (build.currentPhase && build.currentPhase !== phase) {
        phase = build.currentPhase;
        out.info(`phase ${phase}`);
      }
    },
  }).catch((error: unknown) => {
    throw notSighted(error);
  });
  return outcomeOf(clients, build);
}
