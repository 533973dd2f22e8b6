/**
 * The CodeBuild JSON API of the local service: each operation's input checked as CodeBuild checks
 * it, answered from the builds the service holds (`BuildRegistry`), in the AWS JSON shapes.
 */
import { parametersHash } from './idempotency.ts';
import {
  type Build,
  buildEnvironmentOf,
  CodeBuildError,
  type CodeBuildProject,
  DEFAULT_QUEUED_TIMEOUT_MINUTES,
  type EnvironmentVariable,
  projectArn,
} from './model.ts';
import { mergeVariables, parseOverrides } from './variables.ts';

/** A StartBuild call, checked. */
export interface StartBuildRequest {
  projectName: string;
  overrides: EnvironmentVariable[];
  timeoutInMinutes: number;
  queuedTimeoutInMinutes: number;
  buildspec: string;
  initiator: string;
  idempotency?: { token: string; hash: string };
}

/** The builds the API answers from. */
export interface BuildRegistry {
  /** False once the service is shutting down. */
  readonly accepting: boolean;
  start(request: StartBuildRequest): Build;
  get(idOrArn: string): Build | undefined;
  /** Stops a build (waiting or running); throws ResourceNotFoundException for an unknown one. */
  stop(idOrArn: string): Build;
  /** Build ids, oldest first. */
  ids(): string[];
}

const PAGE_SIZE = 100;

/** Answers `CodeBuild_20161006.<operation>` calls for the stack's one project. */
export class CodeBuildApi {
  private readonly arn: string;

  constructor(
    private readonly project: CodeBuildProject,
    private readonly where: { region: string; accountId: string },
    private readonly builds: BuildRegistry,
  ) {
    this.arn = projectArn(where.region, where.accountId, project.name);
  }

  /** operation = the part after 'CodeBuild_20161006.' in X-Amz-Target; input/output = AWS JSON bodies. */
  async handle(operation: string, rawInput: unknown): Promise<unknown> {
    const input = (typeof rawInput === 'object' && rawInput !== null ? rawInput : {}) as Record<
      string,
      unknown
    >;
    switch (operation) {
      case 'StartBuild':
        return { build: this.builds.start(this.startBuildRequest(input)) };
      case 'BatchGetBuilds':
        return this.batchGetBuilds(input);
      case 'StopBuild': {
        const id = String(input.id ?? '');
        if (!this.builds.get(id))
          throw new CodeBuildError('ResourceNotFoundException', `Build ${String(input.id)} cannot be found`);
        return { build: this.builds.stop(id) };
      }
      case 'ListBuildsForProject':
        if (input.projectName !== this.project.name) {
          throw new CodeBuildError(
            'ResourceNotFoundException',
            `Project ${String(input.projectName)} cannot be found`,
          );
        }
        return this.listBuilds(input);
      case 'ListBuilds':
        return this.listBuilds(input);
      case 'BatchGetProjects':
        return this.batchGetProjects(input);
      case 'ListProjects':
        return { projects: [this.project.name] };
      default:
        throw new CodeBuildError(
          'InvalidInputException',
          `${operation} is not supported by the local CodeBuild`,
        );
    }
  }

  private startBuildRequest(input: Record<string, unknown>): StartBuildRequest {
    if (!this.builds.accepting)
      throw new CodeBuildError('AccountLimitExceededException', 'the local CodeBuild is shutting down');
    const projectName = String(input.projectName ?? '');
    if (projectName !== this.project.name) {
      throw new CodeBuildError(
        'ResourceNotFoundException',
        `Project cannot be found: ${projectArn(this.where.region, this.where.accountId, projectName)}`,
      );
    }
    const overrides = parseOverrides(input.environmentVariablesOverride);
    const timeoutInMinutes = minutes(
      input.timeoutInMinutesOverride,
      this.project.timeoutInMinutes,
      5,
      2160,
      'timeoutInMinutesOverride',
    );
    const queuedTimeoutInMinutes = minutes(
      input.queuedTimeoutInMinutesOverride,
      this.project.queuedTimeoutInMinutes ?? DEFAULT_QUEUED_TIMEOUT_MINUTES,
      5,
      480,
      'queuedTimeoutInMinutesOverride',
    );
    const token = typeof input.idempotencyToken === 'string' ? input.idempotencyToken : undefined;
    return {
      projectName,
      overrides,
      timeoutInMinutes,
      queuedTimeoutInMinutes,
      buildspec:
        typeof input.buildspecOverride === 'string' ? input.buildspecOverride : this.project.buildspec,
      initiator: String(input.initiator ?? 'ecr-pipeline-local'),
      ...(token !== undefined ? { idempotency: { token, hash: parametersHash(input) } } : {}),
    };
  }

  private batchGetBuilds(input: Record<string, unknown>) {
    const ids = stringList(input.ids, 'ids');
    if (ids.length === 0 || ids.length > 100) {
      throw new CodeBuildError('InvalidInputException', 'ids must hold 1 to 100 build ids');
    }
    const found = ids.map((id) => this.builds.get(id));
    return {
      builds: found.filter((build): build is Build => build !== undefined),
      buildsNotFound: ids.filter((_id, i) => found[i] === undefined),
    };
  }

  private listBuilds(input: Record<string, unknown>) {
    const oldestFirst = this.builds.ids();
    const ids = input.sortOrder === 'ASCENDING' ? oldestFirst : oldestFirst.reverse();
    const start = typeof input.nextToken === 'string' ? Number(input.nextToken) || 0 : 0;
    const page = ids.slice(start, start + PAGE_SIZE);
    return {
      ids: page,
      ...(start + PAGE_SIZE < ids.length ? { nextToken: String(start + PAGE_SIZE) } : {}),
    };
  }

  private batchGetProjects(input: Record<string, unknown>) {
    const names = stringList(input.names, 'names');
    const known = names.filter((name) => name === this.project.name || name === this.arn);
    return {
      projects: known.map(() => ({
        name: this.project.name,
        arn: this.arn,
        source: { type: 'NO_SOURCE', buildspec: this.project.buildspec },
        timeoutInMinutes: this.project.timeoutInMinutes,
        queuedTimeoutInMinutes: this.project.queuedTimeoutInMinutes ?? DEFAULT_QUEUED_TIMEOUT_MINUTES,
        environment: buildEnvironmentOf(mergeVariables(this.project.environmentVariables, [])),
        ...(this.project.serviceRole ? { serviceRole: this.project.serviceRole } : {}),
      })),
      projectsNotFound: names.filter((name) => !known.includes(name)),
    };
  }
}

function stringList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw new CodeBuildError('InvalidInputException', `${name} must be a list of strings`);
  }
  return value as string[];
}

/** A whole number of minutes in [min, max], or the fallback when absent. */
export function minutes(value: unknown, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CodeBuildError('InvalidInputException', `${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}
