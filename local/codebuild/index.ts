/**
 * Local CodeBuild: StartBuild, BatchGetBuilds, StopBuild and the list calls, served through the local
 * cloud's gateway (local/gateway.ts). A build runs the project's buildspec for real in its own
 * work folder under the data folder, with its log kept beside it, and emits the `CodeBuild Build State
 * Change` events CodeBuild emits. With a CloudWatch Logs client, each build's log also goes to the
 * group and stream its `logs` field names (cloudwatch-logs.ts), before each state-change event. Builds run concurrently up to a limit and wait in a queue beyond it;
 * a full queue refuses with AccountLimitExceededException, as CodeBuild does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type Buildspec, BuildspecError, type PhaseName, parseBuildspec } from './buildspec.ts';
import { LogShipper } from './cloudwatch-logs.ts';
import { buildEnvironment, writeRegistriesConf } from './environment.ts';
import { stateChangeEvent } from './events.ts';
import { containerLine, type PhaseResult, type PhaseStatus, runPhases } from './runner.ts';

export interface CodeBuildContext {
  dataDir: string;
  region: string;
  accountId: string;
  /** Gateway URL, for the build's aws CLI. */
  endpoint: string;
  /** Where ECR repositoryUri hosts resolve locally. */
  registry: string;
  /** Env for build commands (AWS_* pointing at the local cloud). */
  buildEnv: Record<string, string>;
  project: {
    name: string;
    buildspec: string;
    timeoutInMinutes: number;
    queuedTimeoutInMinutes?: number;
    environmentVariables: Array<{ name: string; value: string; type?: string }>;
  };
  putEvents(
    entries: Array<{ Source: string; DetailType: string; Detail: string; Resources?: string[] }>,
  ): Promise<void>;
  /** Where builds' logs go, as CodeBuild sends them to CloudWatch Logs; none without it. */
  logs?: Pick<CloudWatchLogsClient, 'send'>;
  log?: (line: string) => void;
}

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

/** An error CodeBuild answers with HTTP 400; `name` is the AWS error code. */
export class CodeBuildError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

type BuildStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'STOPPED' | 'TIMED_OUT';
type PhaseType =
  | 'SUBMITTED'
  | 'QUEUED'
  | 'PROVISIONING'
  | 'DOWNLOAD_SOURCE'
  | 'INSTALL'
  | 'PRE_BUILD'
  | 'BUILD'
  | 'POST_BUILD'
  | 'UPLOAD_ARTIFACTS'
  | 'FINALIZING'
  | 'COMPLETED';

interface EnvironmentVariable {
  name: string;
  value: string;
  type: 'PLAINTEXT' | 'PARAMETER_STORE' | 'SECRETS_MANAGER';
}

interface BuildPhase {
  phaseType: PhaseType;
  phaseStatus?: PhaseStatus;
  startTime: number;
  endTime?: number;
  durationInSeconds?: number;
  contexts?: Array<{ statusCode: string; message: string }>;
}

/** A build as BatchGetBuilds returns it (times in epoch seconds, as the AWS JSON protocol has them). */
export interface Build {
  id: string;
  arn: string;
  buildNumber: number;
  startTime: number;
  endTime?: number;
  currentPhase: PhaseType;
  buildStatus: BuildStatus;
  projectName: string;
  phases: BuildPhase[];
  source: { type: 'NO_SOURCE'; buildspec: string };
  environment: {
    type: 'LINUX_CONTAINER';
    image: string;
    computeType: string;
    privilegedMode: boolean;
    environmentVariables: EnvironmentVariable[];
  };
  logs: { groupName: string; streamName: string; deepLink: string; cloudWatchLogs: { status: 'ENABLED' } };
  timeoutInMinutes: number;
  queuedTimeoutInMinutes: number;
  buildComplete: boolean;
  initiator: string;
  exportedEnvironmentVariables?: Array<{ name: string; value: string }>;
}

interface Running {
  build: Build;
  workDir: string;
  logFile: string;
  shipper?: LogShipper;
  /** State-change events of this build, put in order, each after the log written before it. */
  events: Promise<void>;
  buildspecText: string;
  interrupt?: 'STOPPED' | 'TIMED_OUT';
  pid?: number;
  done: Promise<void>;
  finish: () => void;
  queuedTimer?: NodeJS.Timeout;
  start?: () => void;
}

const IDEMPOTENCY_WINDOW_MS = 5 * 60_000;
const BUILD_IMAGE = 'local/ecr-pipeline-builder (host podman/buildah)';
const VARIABLE_TYPES = new Set(['PLAINTEXT', 'PARAMETER_STORE', 'SECRETS_MANAGER']);
const seconds = (ms: number) => ms / 1000;

/** Creates the CodeBuild service of the local cloud for the one project of the stack. */
export function createCodeBuildService(
  ctx: CodeBuildContext,
  options: LocalCodeBuildOptions = {},
): CodeBuildService {
  const maxConcurrent =
    options.maxConcurrentBuilds ?? (Number(process.env.ECR_PIPELINE_LOCAL_MAX_BUILDS) || 4);
  const maxQueued = options.maxQueuedBuilds ?? 100;
  const minuteMs = options.minuteMs ?? 60_000;
  const root = ctx.dataDir;
  mkdirSync(root, { recursive: true });
  const registriesConf = writeRegistriesConf(root, ctx.registry);
  const log = ctx.log ?? (() => {});
  const projectArn = `arn:aws:codebuild:${ctx.region}:${ctx.accountId}:project/${ctx.project.name}`;

  const builds = new Map<string, Running>();
  const order: string[] = [];
  const queue: Running[] = [];
  const tokens = new Map<string, { hash: string; at: number; id: string }>();
  const pendingEvents = new Set<Promise<void>>();
  let active = 0;
  let buildNumber = 0;
  let stopping = false;
  const clients: { ssm?: SSMClient; secrets?: SecretsManagerClient } = {};

  const awsClientConfig = () => ({
    region: ctx.region,
    endpoint: ctx.endpoint,
    credentials: {
      accessKeyId: ctx.buildEnv.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: ctx.buildEnv.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
  });

  const ecrHost = new RegExp(
    `\\b\\d{12}\\.dkr\\.ecr\\.${ctx.region.replace(/-/g, '\\-')}\\.amazonaws\\.com`,
    'g',
  );
  const idOf = (idOrArn: string) => idOrArn.replace(/^arn:aws:codebuild:[^:]+:\d+:build\//, '');
  const logUrl = (buildId: string) =>
    `${ctx.endpoint}/_local/builds/${encodeURIComponent(idOf(buildId))}/log`;

  const emit = (run: Running) => {
    const event = stateChangeEvent(run.build);
    const final = run.build.buildComplete;
    // The log first: whoever the event reaches may read the log stream at once.
    const sent = run.events
      .then(() => run.shipper?.flush(final))
      .then(() => ctx.putEvents([event]))
      .catch((error: unknown) =>
        log(`codebuild: could not put the state-change event of ${run.build.id}: ${error}`),
      );
    run.events = sent;
    const tracked = sent.finally(() => pendingEvents.delete(tracked));
    pendingEvents.add(tracked);
  };

  const persist = (run: Running) =>
    writeFileSync(join(run.workDir, 'build.json'), `${JSON.stringify(run.build, null, 2)}\n`);

  const phase = (run: Running, type: PhaseType) => {
    const now = seconds(Date.now());
    const last = run.build.phases.at(-1);
    if (last && last.endTime === undefined && last.phaseType !== 'COMPLETED')
      endPhase(run, { status: 'SUCCEEDED' });
    run.build.phases.push({ phaseType: type, startTime: now });
    run.build.currentPhase = type;
    void run.shipper?.flush();
  };

  const endPhase = (run: Running, result: PhaseResult) => {
    const current = run.build.phases.at(-1);
    if (!current || current.endTime !== undefined) return;
    current.endTime = seconds(Date.now());
    current.durationInSeconds = Math.max(0, Math.round(current.endTime - current.startTime));
    current.phaseStatus = result.status;
    current.contexts = result.context ? [result.context] : [];
  };

  const complete = (run: Running, status: BuildStatus) => {
    if (run.build.buildComplete) return;
    phase(run, 'FINALIZING');
    phase(run, 'COMPLETED');
    run.build.buildStatus = status;
    run.build.buildComplete = true;
    run.build.endTime = seconds(Date.now());
    appendLog(run, containerLine(`Build ${status.toLowerCase()}: ${run.build.id}`));
    persist(run);
    emit(run);
    const took = (run.build.endTime - run.build.startTime).toFixed(1);
    log(`codebuild: ${run.build.id} ${status} in ${took}s (log ${logUrl(run.build.id)})`);
    run.finish();
  };

  const appendLog = (run: Running, text: string) => {
    try {
      writeFileSync(run.logFile, text, { flag: 'a' });
    } catch {
      // The data folder went away during shutdown; nothing to keep.
    }
  };

  const failEarly = (run: Running, status: PhaseStatus, statusCode: string, message: string) => {
    appendLog(run, containerLine(`Phase context status code: ${statusCode} Message: ${message}`));
    endPhase(run, { status, context: { statusCode, message } });
    complete(run, status === 'TIMED_OUT' ? 'TIMED_OUT' : status === 'STOPPED' ? 'STOPPED' : 'FAILED');
  };

  const resolveVariables = async (variables: EnvironmentVariable[]): Promise<Record<string, string>> => {
    const resolved: Record<string, string> = {};
    for (const variable of variables) {
      if (variable.type === 'PLAINTEXT') {
        resolved[variable.name] = variable.value;
      } else if (variable.type === 'PARAMETER_STORE') {
        clients.ssm ??= new SSMClient(awsClientConfig());
        const out = await clients.ssm.send(
          new GetParameterCommand({ Name: variable.value, WithDecryption: true }),
        );
        resolved[variable.name] = out.Parameter?.Value ?? '';
      } else {
        // secret-id:json-key:version-stage:version-id, as CodeBuild reads it.
        const [secretId = '', jsonKey, stage, versionId] = splitSecretReference(variable.value);
        clients.secrets ??= new SecretsManagerClient(awsClientConfig());
        const out = await clients.secrets.send(
          new GetSecretValueCommand({
            SecretId: secretId,
            ...(stage ? { VersionStage: stage } : {}),
            ...(versionId ? { VersionId: versionId } : {}),
          }),
        );
        const text = out.SecretString ?? '';
        resolved[variable.name] = jsonKey
          ? String((JSON.parse(text) as Record<string, unknown>)[jsonKey] ?? '')
          : text;
      }
    }
    return resolved;
  };

  const execute = async (run: Running) => {
    const { build } = run;
    phase(run, 'PROVISIONING');
    emit(run);
    const timeout = setTimeout(() => interrupt(run, 'TIMED_OUT'), build.timeoutInMinutes * minuteMs);
    try {
      appendLog(
        run,
        containerLine(`Running on local CodeBuild (${BUILD_IMAGE}); work folder ${run.workDir}`),
      );
      let buildspec: Buildspec;
      let variables: Record<string, string>;
      try {
        buildspec = parseBuildspec(run.buildspecText);
      } catch (error) {
        if (!(error instanceof BuildspecError)) throw error;
        phase(run, 'DOWNLOAD_SOURCE');
        return failEarly(run, 'FAILED', 'YAML_FILE_ERROR', error.message.replace(/^YAML_FILE_ERROR: /, ''));
      }
      try {
        const fromBuildspec = await resolveVariables([
          ...Object.entries(buildspec.variables).map(([name, value]) => ({
            name,
            value,
            type: 'PLAINTEXT' as const,
          })),
          ...Object.entries(buildspec.parameterStore).map(([name, value]) => ({
            name,
            value,
            type: 'PARAMETER_STORE' as const,
          })),
          ...Object.entries(buildspec.secretsManager).map(([name, value]) => ({
            name,
            value,
            type: 'SECRETS_MANAGER' as const,
          })),
        ]);
        variables = { ...fromBuildspec, ...(await resolveVariables(build.environment.environmentVariables)) };
        // ECR repository URIs taken from the template name the AWS registry host: here it is the local one.
        for (const [name, value] of Object.entries(variables))
          variables[name] = value.replace(ecrHost, ctx.registry);
      } catch (error) {
        return failEarly(
          run,
          'FAILED',
          'CLIENT_ERROR',
          `could not resolve an environment variable: ${error}`,
        );
      }
      if (run.interrupt)
        return failEarly(run, run.interrupt, `BUILD_${run.interrupt}`, `Build ${run.interrupt}`);
      phase(run, 'DOWNLOAD_SOURCE');
      const srcDir = join(run.workDir, 'src');
      mkdirSync(srcDir, { recursive: true });
      const env = buildEnvironment({
        cloudEnv: ctx.buildEnv,
        region: ctx.region,
        registriesConf,
        workDir: run.workDir,
        srcDir,
        build: {
          id: build.id,
          arn: build.arn,
          number: build.buildNumber,
          initiator: build.initiator,
          startTime: new Date(build.startTime * 1000),
          image: BUILD_IMAGE,
        },
        variables,
      });
      const result = await runPhases({
        buildspec,
        workDir: run.workDir,
        srcDir,
        env,
        logFile: run.logFile,
        setCurrentProcess: (pid) => {
          run.pid = pid;
        },
        hooks: {
          phaseStarted: (name: PhaseName) => phase(run, name.toUpperCase() as PhaseType),
          phaseEnded: (_name, phaseResult) => endPhase(run, phaseResult),
          interrupted: () => run.interrupt,
        },
      });
      if (run.interrupt) {
        const last = build.phases.at(-1);
        if (last && last.endTime === undefined) {
          endPhase(run, {
            status: run.interrupt,
            context: { statusCode: `BUILD_${run.interrupt}`, message: '' },
          });
        }
        return complete(run, run.interrupt);
      }
      build.exportedEnvironmentVariables = result.exported;
      if (result.succeeded) phase(run, 'UPLOAD_ARTIFACTS');
      complete(run, result.succeeded ? 'SUCCEEDED' : 'FAILED');
    } catch (error) {
      appendLog(run, containerLine(`local CodeBuild fault: ${error instanceof Error ? error.stack : error}`));
      failEarly(run, 'FAULT', 'INTERNAL_ERROR', String(error));
    } finally {
      clearTimeout(timeout);
    }
  };

  const interrupt = (run: Running, why: 'STOPPED' | 'TIMED_OUT') => {
    if (run.build.buildComplete || run.interrupt) return;
    run.interrupt = why;
    appendLog(run, containerLine(why === 'TIMED_OUT' ? 'Build timed out' : 'Build stopped'));
    const pid = run.pid;
    if (pid === undefined) return;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // Already gone.
      }
    };
    kill('SIGTERM');
    setTimeout(() => {
      if (run.pid === pid) kill('SIGKILL');
    }, 5_000).unref();
  };

  const startNext = () => {
    while (active < maxConcurrent && queue.length > 0 && !stopping) {
      const run = queue.shift() as Running;
      clearTimeout(run.queuedTimer);
      active += 1;
      void execute(run).finally(() => {
        active -= 1;
        startNext();
      });
    }
  };

  const startBuild = async (input: Record<string, unknown>) => {
    if (stopping)
      throw new CodeBuildError('AccountLimitExceededException', 'the local CodeBuild is shutting down');
    const projectName = String(input.projectName ?? '');
    if (projectName !== ctx.project.name) {
      throw new CodeBuildError(
        'ResourceNotFoundException',
        `Project cannot be found: arn:aws:codebuild:${ctx.region}:${ctx.accountId}:project/${projectName}`,
      );
    }
    const overrides = parseOverrides(input.environmentVariablesOverride);
    const timeoutInMinutes = minutes(
      input.timeoutInMinutesOverride,
      ctx.project.timeoutInMinutes,
      5,
      2160,
      'timeoutInMinutesOverride',
    );
    const queuedTimeoutInMinutes = minutes(
      input.queuedTimeoutInMinutesOverride,
      ctx.project.queuedTimeoutInMinutes ?? 480,
      5,
      480,
      'queuedTimeoutInMinutesOverride',
    );
    const token = typeof input.idempotencyToken === 'string' ? input.idempotencyToken : undefined;
    // the parameters a token was used with: all of the input but the token itself
    const { idempotencyToken: _ignored, ...rest } = input;
    const hash = token === undefined ? '' : createHash('sha256').update(stableJson(rest)).digest('hex');
    if (token !== undefined) {
      const seen = tokens.get(token);
      if (seen && Date.now() - seen.at < IDEMPOTENCY_WINDOW_MS) {
        if (seen.hash !== hash) {
          throw new CodeBuildError(
            'InvalidInputException',
            `Idempotency token ${token} was already used with different parameters within the last 5 minutes`,
          );
        }
        const existing = builds.get(seen.id);
        if (existing) return { build: existing.build };
      }
    }
    if (queue.length >= maxQueued && active >= maxConcurrent) {
      throw new CodeBuildError(
        'AccountLimitExceededException',
        `Cannot have more than ${maxConcurrent} active and ${maxQueued} queued builds`,
      );
    }

    const uuid = randomUUID();
    const id = `${projectName}:${uuid}`;
    const workDir = join(root, 'builds', uuid);
    mkdirSync(workDir, { recursive: true });
    const environmentVariables = mergeVariables(ctx.project.environmentVariables, overrides);
    const now = seconds(Date.now());
    let finish = () => {};
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const build: Build = {
      id,
      arn: `arn:aws:codebuild:${ctx.region}:${ctx.accountId}:build/${id}`,
      buildNumber: ++buildNumber,
      startTime: now,
      currentPhase: 'QUEUED',
      buildStatus: 'IN_PROGRESS',
      projectName,
      phases: [
        {
          phaseType: 'SUBMITTED',
          phaseStatus: 'SUCCEEDED',
          startTime: now,
          endTime: now,
          durationInSeconds: 0,
        },
        { phaseType: 'QUEUED', startTime: now },
      ],
      source: {
        type: 'NO_SOURCE',
        buildspec:
          typeof input.buildspecOverride === 'string' ? input.buildspecOverride : ctx.project.buildspec,
      },
      environment: {
        type: 'LINUX_CONTAINER',
        image: BUILD_IMAGE,
        computeType: 'BUILD_GENERAL1_SMALL',
        privilegedMode: true,
        environmentVariables,
      },
      logs: {
        groupName: `/aws/codebuild/${projectName}`,
        streamName: uuid,
        deepLink: logUrl(id),
        cloudWatchLogs: { status: 'ENABLED' },
      },
      timeoutInMinutes,
      queuedTimeoutInMinutes,
      buildComplete: false,
      initiator: String(input.initiator ?? 'ecr-pipeline-local'),
    };
    const logFile = join(workDir, 'build.log');
    const run: Running = {
      build,
      workDir,
      logFile,
      ...(ctx.logs
        ? {
            shipper: new LogShipper(
              { logs: ctx.logs, group: build.logs.groupName, stream: build.logs.streamName, file: logFile },
              (error) => log(`codebuild: could not write the log of ${id} to CloudWatch Logs: ${error}`),
            ),
          }
        : {}),
      events: Promise.resolve(),
      buildspecText: build.source.buildspec,
      done,
      finish,
    };
    writeFileSync(run.logFile, containerLine(`Build ${id} submitted (${projectArn})`));
    builds.set(id, run);
    order.push(id);
    if (token !== undefined) tokens.set(token, { hash, at: Date.now(), id });
    run.queuedTimer = setTimeout(() => {
      const index = queue.indexOf(run);
      if (index < 0) return;
      queue.splice(index, 1);
      failEarly(
        run,
        'TIMED_OUT',
        'BUILD_TIMED_OUT',
        `Build was queued longer than ${queuedTimeoutInMinutes} minutes`,
      );
    }, queuedTimeoutInMinutes * minuteMs);
    queue.push(run);
    log(`codebuild: ${id} queued (${build.environment.environmentVariables.map((v) => v.name).join(', ')})`);
    startNext();
    return { build };
  };

  const find = (idOrArn: string) => builds.get(idOf(idOrArn));

  const handle = async (operation: string, rawInput: unknown): Promise<unknown> => {
    const input = (typeof rawInput === 'object' && rawInput !== null ? rawInput : {}) as Record<
      string,
      unknown
    >;
    switch (operation) {
      case 'StartBuild':
        return startBuild(input);
      case 'BatchGetBuilds': {
        const ids = stringList(input.ids, 'ids');
        if (ids.length === 0 || ids.length > 100) {
          throw new CodeBuildError('InvalidInputException', 'ids must hold 1 to 100 build ids');
        }
        const found = ids.map((id) => find(id)?.build);
        return {
          builds: found.filter((build): build is Build => build !== undefined),
          buildsNotFound: ids.filter((_id, i) => found[i] === undefined),
        };
      }
      case 'StopBuild': {
        const run = find(String(input.id ?? ''));
        if (!run)
          throw new CodeBuildError('ResourceNotFoundException', `Build ${String(input.id)} cannot be found`);
        const index = queue.indexOf(run);
        if (index >= 0) {
          queue.splice(index, 1);
          clearTimeout(run.queuedTimer);
          failEarly(run, 'STOPPED', 'BUILD_STOPPED', 'Build stopped before it started');
        } else {
          interrupt(run, 'STOPPED');
        }
        return { build: run.build };
      }
      case 'ListBuildsForProject':
      case 'ListBuilds': {
        if (operation === 'ListBuildsForProject' && input.projectName !== ctx.project.name) {
          throw new CodeBuildError(
            'ResourceNotFoundException',
            `Project ${String(input.projectName)} cannot be found`,
          );
        }
        const ids = input.sortOrder === 'ASCENDING' ? [...order] : [...order].reverse();
        const start = typeof input.nextToken === 'string' ? Number(input.nextToken) || 0 : 0;
        const page = ids.slice(start, start + 100);
        return { ids: page, ...(start + 100 < ids.length ? { nextToken: String(start + 100) } : {}) };
      }
      case 'BatchGetProjects': {
        const names = stringList(input.names, 'names');
        const known = names.filter((name) => name === ctx.project.name || name === projectArn);
        return {
          projects: known.map(() => ({
            name: ctx.project.name,
            arn: projectArn,
            source: { type: 'NO_SOURCE', buildspec: ctx.project.buildspec },
            timeoutInMinutes: ctx.project.timeoutInMinutes,
            queuedTimeoutInMinutes: ctx.project.queuedTimeoutInMinutes ?? 480,
            environment: {
              type: 'LINUX_CONTAINER',
              image: BUILD_IMAGE,
              computeType: 'BUILD_GENERAL1_SMALL',
              privilegedMode: true,
              environmentVariables: mergeVariables(ctx.project.environmentVariables, []),
            },
          })),
          projectsNotFound: names.filter((name) => !known.includes(name)),
        };
      }
      case 'ListProjects':
        return { projects: [ctx.project.name] };
      default:
        throw new CodeBuildError(
          'InvalidInputException',
          `${operation} is not supported by the local CodeBuild`,
        );
    }
  };

  return {
    handle,
    logUrl,
    async readLog(buildId) {
      const run = find(buildId);
      if (!run) return undefined;
      return readFile(run.logFile, 'utf8');
    },
    async waitForBuild(buildId) {
      const run = find(buildId);
      if (!run) throw new CodeBuildError('ResourceNotFoundException', `Build ${buildId} cannot be found`);
      await run.done;
      return run.build;
    },
    async stop() {
      stopping = true;
      for (const run of queue.splice(0)) {
        clearTimeout(run.queuedTimer);
        failEarly(run, 'STOPPED', 'BUILD_STOPPED', 'the local cloud stopped');
      }
      for (const run of builds.values()) interrupt(run, 'STOPPED');
      await Promise.all([...builds.values()].map((run) => run.done));
      await Promise.all([...pendingEvents]);
      clients.ssm?.destroy();
      clients.secrets?.destroy();
    },
  };
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new CodeBuildError('InvalidInputException', `${name} must be a list of strings`);
  }
  return value as string[];
}

function minutes(value: unknown, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CodeBuildError('InvalidInputException', `${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function parseOverrides(value: unknown): EnvironmentVariable[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw new CodeBuildError('InvalidInputException', 'environmentVariablesOverride must be a list');
  }
  return value.map((item: unknown, i) => {
    const variable = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const name = variable.name;
    const type = variable.type ?? 'PLAINTEXT';
    if (typeof name !== 'string' || name === '' || typeof variable.value !== 'string') {
      throw new CodeBuildError(
        'InvalidInputException',
        `environmentVariablesOverride[${i}] needs a name and a value`,
      );
    }
    if (name.startsWith('CODEBUILD_')) {
      throw new CodeBuildError(
        'InvalidInputException',
        `Environment variable names cannot start with CODEBUILD_: ${name}`,
      );
    }
    if (typeof type !== 'string' || !VARIABLE_TYPES.has(type)) {
      throw new CodeBuildError(
        'InvalidInputException',
        `environmentVariablesOverride[${i}].type ${String(type)} is not valid`,
      );
    }
    return { name, value: variable.value, type: type as EnvironmentVariable['type'] };
  });
}

/** Project variables with the overrides applied, in project order then new names. */
function mergeVariables(
  project: Array<{ name: string; value: string; type?: string }>,
  overrides: EnvironmentVariable[],
): EnvironmentVariable[] {
  const merged = new Map<string, EnvironmentVariable>();
  for (const variable of project) {
    const type = VARIABLE_TYPES.has(variable.type ?? 'PLAINTEXT')
      ? (variable.type ?? 'PLAINTEXT')
      : 'PLAINTEXT';
    merged.set(variable.name, {
      name: variable.name,
      value: variable.value,
      type: type as EnvironmentVariable['type'],
    });
  }
  for (const variable of overrides) merged.set(variable.name, variable);
  return [...merged.values()];
}

function splitSecretReference(value: string): string[] {
  // An ARN has colons of its own: the reference parts follow its seventh field.
  if (value.startsWith('arn:')) {
    const parts = value.split(':');
    return [parts.slice(0, 7).join(':'), ...parts.slice(7)];
  }
  return value.split(':');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
