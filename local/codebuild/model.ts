/**
 * The local CodeBuild's data: a build as BatchGetBuilds returns it, the one project it serves, the
 * error it answers with, and the changes of phase a build goes through. Every other part of the
 * service imports these; this module imports none of them.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { PhaseResult, PhaseStatus } from './runner.ts';

/** What the service needs from the local cloud. */
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
  project: CodeBuildProject;
  putEvents(
    entries: Array<{ Source: string; DetailType: string; Detail: string; Resources?: string[] }>,
  ): Promise<void>;
  /** Where builds' logs go, as CodeBuild sends them to CloudWatch Logs; none without it. */
  logs?: Pick<CloudWatchLogsClient, 'send'>;
  log?: (line: string) => void;
}

/** The stack's one CodeBuild project, as the template defines it. */
export interface CodeBuildProject {
  name: string;
  buildspec: string;
  timeoutInMinutes: number;
  queuedTimeoutInMinutes?: number;
  environmentVariables: Array<{ name: string; value: string; type?: string }>;
  /** The service role's ARN, as BatchGetProjects shows it. */
  serviceRole?: string;
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

export type BuildStatus = 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'STOPPED' | 'TIMED_OUT';
export type PhaseType =
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

/** Why a running build must end before its commands do. */
export type Interruption = 'STOPPED' | 'TIMED_OUT';

export interface EnvironmentVariable {
  name: string;
  value: string;
  type: 'PLAINTEXT' | 'PARAMETER_STORE' | 'SECRETS_MANAGER';
}

export interface BuildPhase {
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

export const BUILD_IMAGE = 'local/ecr-pipeline-builder (host podman/buildah)';
export const DEFAULT_QUEUED_TIMEOUT_MINUTES = 480;

/** Epoch milliseconds to the epoch seconds of the AWS JSON protocol. */
export const seconds = (ms: number) => ms / 1000;

/** A build id from an id or a build ARN. */
export const idOf = (idOrArn: string) => idOrArn.replace(/^arn:aws:codebuild:[^:]+:\d+:build\//, '');

export const projectArn = (region: string, accountId: string, name: string) =>
  `arn:aws:codebuild:${region}:${accountId}:project/${name}`;

/** The environment the build runs in, as the project and BatchGetProjects show it. */
export function buildEnvironmentOf(environmentVariables: EnvironmentVariable[]): Build['environment'] {
  return {
    type: 'LINUX_CONTAINER',
    image: BUILD_IMAGE,
    computeType: 'BUILD_GENERAL1_SMALL',
    privilegedMode: true,
    environmentVariables,
  };
}

export interface NewBuild {
  region: string;
  accountId: string;
  projectName: string;
  uuid: string;
  buildNumber: number;
  buildspec: string;
  environmentVariables: EnvironmentVariable[];
  timeoutInMinutes: number;
  queuedTimeoutInMinutes: number;
  initiator: string;
  deepLink: string;
  now: number;
}

/** A build just submitted: SUBMITTED done, QUEUED started. */
export function newBuild(input: NewBuild): Build {
  const id = `${input.projectName}:${input.uuid}`;
  const now = input.now;
  return {
    id,
    arn: `arn:aws:codebuild:${input.region}:${input.accountId}:build/${id}`,
    buildNumber: input.buildNumber,
    startTime: now,
    currentPhase: 'QUEUED',
    buildStatus: 'IN_PROGRESS',
    projectName: input.projectName,
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
    source: { type: 'NO_SOURCE', buildspec: input.buildspec },
    environment: buildEnvironmentOf(input.environmentVariables),
    logs: {
      groupName: `/aws/codebuild/${input.projectName}`,
      streamName: input.uuid,
      deepLink: input.deepLink,
      cloudWatchLogs: { status: 'ENABLED' },
    },
    timeoutInMinutes: input.timeoutInMinutes,
    queuedTimeoutInMinutes: input.queuedTimeoutInMinutes,
    buildComplete: false,
    initiator: input.initiator,
  };
}

/** Ends the current phase with `result`, unless it has ended already. */
export function endPhase(build: Build, result: PhaseResult, now: number): void {
  const current = build.phases.at(-1);
  if (!current || current.endTime !== undefined) return;
  current.endTime = now;
  current.durationInSeconds = Math.max(0, Math.round(current.endTime - current.startTime));
  current.phaseStatus = result.status;
  current.contexts = result.context ? [result.context] : [];
}

/** Starts phase `type`; a phase still open before it ends as SUCCEEDED. */
export function startPhase(build: Build, type: PhaseType, now: number): void {
  const last = build.phases.at(-1);
  if (last && last.endTime === undefined && last.phaseType !== 'COMPLETED')
    endPhase(build, { status: 'SUCCEEDED' }, now);
  build.phases.push({ phaseType: type, startTime: now });
  build.currentPhase = type;
}

/** The final build status a phase status ends the build with when the build ends early. */
export function earlyEndStatus(status: PhaseStatus): BuildStatus {
  return status === 'TIMED_OUT' ? 'TIMED_OUT' : status === 'STOPPED' ? 'STOPPED' : 'FAILED';
}
