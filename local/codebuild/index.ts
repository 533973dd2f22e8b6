/**
 * Local CodeBuild: StartBuild, BatchGetBuilds, StopBuild and the list calls, served through the local
 * cloud's gateway (local/gateway.ts). A build runs the project's buildspec for real in its own
 * work folder under the data folder, with its log kept beside it, and emits the `CodeBuild Build State
 * Change` events CodeBuild emits. With a CloudWatch Logs client, each build's log also goes to the
 * group and stream its `logs` field names, before each state-change event. Builds run concurrently up
 * to a limit and wait in a queue beyond it; a full queue refuses with AccountLimitExceededException,
 * as CodeBuild does.
 *
 * The parts: api.ts (the JSON API), queue.ts (waiting and running builds), build-run.ts (one build's
 * phases, events and end), execute.ts (running it), log-store.ts (its log), events.ts (its events),
 * variables.ts and idempotency.ts (StartBuild's inputs); this module keeps the builds and wires them.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { LOCAL_CREDENTIALS } from '../../shared/local-cloud.ts';
import { type BuildRegistry, CodeBuildApi, type StartBuildRequest } from './api.ts';
import { BuildRun } from './build-run.ts';
import { builderStore, writeRegistriesConf, writeStorageConf } from './environment.ts';
import { type ExecutionContext, executeBuild } from './execute.ts';
import { IdempotencyTokens } from './idempotency.ts';
import { BuildLog } from './log-store.ts';
import {
  type Build,
  type CodeBuildContext,
  CodeBuildError,
  idOf,
  newBuild,
  projectArn,
  seconds,
} from './model.ts';
import { BuildQueue, type QueueLimits } from './queue.ts';
import { containerLine } from './runner.ts';
import { mergeVariables, VariableResolver } from './variables.ts';

export { type Build, type CodeBuildContext, CodeBuildError } from './model.ts';

/** Tuning for the local service (defaults suit a laptop; tests shorten the minute). */
export interface LocalCodeBuildOptions {
  /** Builds running at once (default: ECR_PIPELINE_LOCAL_MAX_BUILDS or 4). */
  maxConcurrentBuilds?: number;
  /** Builds waiting beyond that before StartBuild refuses (default 100). */
  maxQueuedBuilds?: number;
  /** Length of a "minute" for timeouts, in ms (default 60 000); tests make it short. */
  minuteMs?: number;
}

export interface CodeBuildService {
  /** operation = the part after 'CodeBuild_20161006.' in X-Amz-Target; input/output = AWS JSON bodies. */
  handle(operation: string, input: unknown): Promise<unknown>;
  /** Readable log link, served by the gateway. */
  logUrl(buildId: string): string;
  /** The log text of a build (id or ARN), or undefined for an unknown build. */
  readLog(buildId: string): Promise<string | undefined>;
  /** Resolves with the build (AWS JSON shape) once it has completed. */
  waitForBuild(buildId: string): Promise<Build>;
  stop(): Promise<void>;
}

/** Creates the CodeBuild service of the local cloud for the one project of the stack. */
export function createCodeBuildService(
  ctx: CodeBuildContext,
  options: LocalCodeBuildOptions = {},
): CodeBuildService {
  const builds = new LocalBuilds(ctx, options);
  const api = new CodeBuildApi(ctx.project, ctx, builds);
  return {
    handle: (operation, input) => api.handle(operation, input),
    logUrl: (buildId) => builds.logUrl(buildId),
    async readLog(buildId) {
      return builds.run(buildId)?.log.read();
    },
    async waitForBuild(buildId) {
      const run = builds.run(buildId);
      if (!run) throw new CodeBuildError('ResourceNotFoundException', `Build ${buildId} cannot be found`);
      await run.done;
      return run.build;
    },
    stop: () => builds.stopAll(),
  };
}

/** The builds of the service: started, queued, run, stopped, listed. */
class LocalBuilds implements BuildRegistry {
  private readonly runs = new Map<string, BuildRun>();
  private readonly order: string[] = [];
  private readonly queue: BuildQueue<BuildRun>;
  private readonly tokens = new IdempotencyTokens();
  private readonly pendingEvents = new Set<Promise<void>>();
  private readonly variables: VariableResolver;
  private readonly execution: ExecutionContext;
  private readonly limits: QueueLimits;
  private readonly log: (line: string) => void;
  private buildNumber = 0;
  private stopping = false;

  constructor(
    private readonly ctx: CodeBuildContext,
    options: LocalCodeBuildOptions,
  ) {
    mkdirSync(ctx.dataDir, { recursive: true });
    this.log = ctx.log ?? (() => {});
    this.variables = new VariableResolver({
      region: ctx.region,
      endpoint: ctx.endpoint,
      credentials: {
        accessKeyId: ctx.buildEnv.AWS_ACCESS_KEY_ID ?? LOCAL_CREDENTIALS.accessKeyId,
        secretAccessKey: ctx.buildEnv.AWS_SECRET_ACCESS_KEY ?? LOCAL_CREDENTIALS.secretAccessKey,
      },
    });
    this.execution = {
      region: ctx.region,
      registry: ctx.registry,
      cloudEnv: ctx.buildEnv,
      registriesConf: writeRegistriesConf(ctx.dataDir, ctx.registry),
      storageConf: writeStorageConf(ctx.dataDir),
      variables: this.variables,
      minuteMs: options.minuteMs ?? 60_000,
    };
    this.limits = {
      maxConcurrent: options.maxConcurrentBuilds ?? (Number(process.env.ECR_PIPELINE_LOCAL_MAX_BUILDS) || 4),
      maxQueued: options.maxQueuedBuilds ?? 100,
    };
    this.queue = new BuildQueue(this.limits, (run) => executeBuild(run, this.execution));
  }

  get accepting(): boolean {
    return !this.stopping;
  }

  logUrl(buildId: string): string {
    return `${this.ctx.endpoint}/_local/builds/${encodeURIComponent(idOf(buildId))}/log`;
  }

  run(idOrArn: string): BuildRun | undefined {
    return this.runs.get(idOf(idOrArn));
  }

  get(idOrArn: string): Build | undefined {
    return this.run(idOrArn)?.build;
  }

  ids(): string[] {
    return [...this.order];
  }

  start(request: StartBuildRequest): Build {
    const { idempotency } = request;
    if (idempotency) {
      const earlier = this.tokens.check(idempotency.token, idempotency.hash);
      const existing = earlier === undefined ? undefined : this.runs.get(earlier);
      if (existing) return existing.build;
    }
    if (this.queue.full) {
      throw new CodeBuildError(
        'AccountLimitExceededException',
        `Cannot have more than ${this.limits.maxConcurrent} active and ${this.limits.maxQueued} queued builds`,
      );
    }
    const run = this.submit(request);
    const { build } = run;
    this.runs.set(build.id, run);
    this.order.push(build.id);
    if (idempotency) this.tokens.remember(idempotency.token, idempotency.hash, build.id);
    this.log(
      `codebuild: ${build.id} queued (${build.environment.environmentVariables.map((v) => v.name).join(', ')})`,
    );
    this.queue.push(run, request.queuedTimeoutInMinutes * this.execution.minuteMs, (expired) =>
      expired.failEarly(
        'TIMED_OUT',
        'BUILD_TIMED_OUT',
        `Build was queued longer than ${request.queuedTimeoutInMinutes} minutes`,
      ),
    );
    return build;
  }

  /** A new build, with its work folder and log, not yet queued. */
  private submit(request: StartBuildRequest): BuildRun {
    const { ctx } = this;
    const uuid = randomUUID();
    const workDir = join(ctx.dataDir, 'builds', uuid);
    mkdirSync(workDir, { recursive: true });
    const build = newBuild({
      region: ctx.region,
      accountId: ctx.accountId,
      projectName: request.projectName,
      uuid,
      buildNumber: ++this.buildNumber,
      buildspec: request.buildspec,
      environmentVariables: mergeVariables(ctx.project.environmentVariables, request.overrides),
      timeoutInMinutes: request.timeoutInMinutes,
      queuedTimeoutInMinutes: request.queuedTimeoutInMinutes,
      initiator: request.initiator,
      deepLink: this.logUrl(`${request.projectName}:${uuid}`),
      now: seconds(Date.now()),
    });
    const log = new BuildLog({
      file: join(workDir, 'build.log'),
      firstLine: containerLine(
        `Build ${build.id} submitted (${projectArn(ctx.region, ctx.accountId, ctx.project.name)})`,
      ),
      ...(ctx.logs
        ? { cloudWatch: { logs: ctx.logs, group: build.logs.groupName, stream: build.logs.streamName } }
        : {}),
      onShipError: (error) =>
        this.log(`codebuild: could not write the log of ${build.id} to CloudWatch Logs: ${error}`),
    });
    return new BuildRun(build, workDir, log, {
      putEvents: (entries) => ctx.putEvents(entries),
      log: this.log,
      track: (sending) => {
        const tracked = sending.finally(() => this.pendingEvents.delete(tracked));
        this.pendingEvents.add(tracked);
      },
    });
  }

  stop(idOrArn: string): Build {
    const run = this.run(idOrArn);
    if (!run) throw new CodeBuildError('ResourceNotFoundException', `Build ${idOrArn} cannot be found`);
    if (this.queue.remove(run)) run.failEarly('STOPPED', 'BUILD_STOPPED', 'Build stopped before it started');
    else run.stop('STOPPED');
    return run.build;
  }

  /** Refuses new builds, stops every build, waits for them and their events, closes the clients. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const run of this.queue.close())
      run.failEarly('STOPPED', 'BUILD_STOPPED', 'the local cloud stopped');
    for (const run of this.runs.values()) run.stop('STOPPED');
    await Promise.all([...this.runs.values()].map((run) => run.done));
    await Promise.all([...this.pendingEvents]);
    this.variables.destroy();
    // The store is the builds' scratch space (what they pushed is in the registry).
    await rm(builderStore(this.ctx.dataDir), { recursive: true, force: true });
  }
}
