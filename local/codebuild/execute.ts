/**
 * Runs one build from PROVISIONING to the end: reads its buildspec, resolves its variables, runs its
 * phases (runner.ts) in a fresh source folder, and completes it with the status CodeBuild would give,
 * within the build's timeout.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BuildRun } from './build-run.ts';
import { type Buildspec, BuildspecError, type PhaseName, parseBuildspec } from './buildspec.ts';
import { buildEnvironment } from './environment.ts';
import { BUILD_IMAGE, type PhaseType } from './model.ts';
import { containerLine, runPhases } from './runner.ts';
import { buildspecVariables, type VariableResolver } from './variables.ts';

/** What every build of the service runs with. */
export interface ExecutionContext {
  region: string;
  /** Where ECR repository hosts resolve locally. */
  registry: string;
  cloudEnv: Record<string, string>;
  registriesConf: string;
  storageConf: string;
  variables: VariableResolver;
  /** Length of a "minute" for the build timeout, in ms. */
  minuteMs: number;
}

/** Runs the build to completion; never throws (a fault of the service ends the build as FAULT). */
export async function executeBuild(run: BuildRun, ctx: ExecutionContext): Promise<void> {
  run.phase('PROVISIONING');
  run.emit();
  const timeout = setTimeout(() => run.stop('TIMED_OUT'), run.build.timeoutInMinutes * ctx.minuteMs);
  try {
    run.log.append(containerLine(`Running on local CodeBuild (${BUILD_IMAGE}); work folder ${run.workDir}`));
    const prepared = await prepare(run, ctx);
    if (!prepared) return;
    if (run.interrupt)
      return run.failEarly(run.interrupt, `BUILD_${run.interrupt}`, `Build ${run.interrupt}`);
    await runBuildspec(run, ctx, prepared);
  } catch (error) {
    run.log.append(containerLine(`local CodeBuild fault: ${error instanceof Error ? error.stack : error}`));
    run.failEarly('FAULT', 'INTERNAL_ERROR', String(error));
  } finally {
    clearTimeout(timeout);
  }
}

interface Prepared {
  buildspec: Buildspec;
  variables: Record<string, string>;
}

/** The parsed buildspec and the resolved variables, or undefined when the build failed on them. */
async function prepare(run: BuildRun, ctx: ExecutionContext): Promise<Prepared | undefined> {
  let buildspec: Buildspec;
  try {
    buildspec = parseBuildspec(run.build.source.buildspec);
  } catch (error) {
    if (!(error instanceof BuildspecError)) throw error;
    run.phase('DOWNLOAD_SOURCE');
    run.failEarly('FAILED', 'YAML_FILE_ERROR', error.message.replace(/^YAML_FILE_ERROR: /, ''));
    return undefined;
  }
  try {
    const fromBuildspec = await ctx.variables.resolve(buildspecVariables(buildspec));
    const variables = {
      ...fromBuildspec,
      ...(await ctx.variables.resolve(run.build.environment.environmentVariables)),
    };
    // ECR repository URIs taken from the template name the AWS registry host: here it is the local one.
    const ecrHost = new RegExp(
      `\\b\\d{12}\\.dkr\\.ecr\\.${ctx.region.replace(/-/g, '\\-')}\\.amazonaws\\.com`,
      'g',
    );
    for (const [name, value] of Object.entries(variables))
      variables[name] = value.replace(ecrHost, ctx.registry);
    return { buildspec, variables };
  } catch (error) {
    run.failEarly('FAILED', 'CLIENT_ERROR', `could not resolve an environment variable: ${error}`);
    return undefined;
  }
}

/** DOWNLOAD_SOURCE, the buildspec's phases, UPLOAD_ARTIFACTS on success, then completion. */
async function runBuildspec(run: BuildRun, ctx: ExecutionContext, prepared: Prepared): Promise<void> {
  const { build } = run;
  run.phase('DOWNLOAD_SOURCE');
  const srcDir = join(run.workDir, 'src');
  mkdirSync(srcDir, { recursive: true });
  const env = buildEnvironment({
    cloudEnv: ctx.cloudEnv,
    region: ctx.region,
    registriesConf: ctx.registriesConf,
    storageConf: ctx.storageConf,
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
    variables: prepared.variables,
  });
  const result = await runPhases({
    buildspec: prepared.buildspec,
    workDir: run.workDir,
    srcDir,
    env,
    logFile: run.log.file,
    setCurrentProcess: (pid) => {
      run.pid = pid;
    },
    hooks: {
      phaseStarted: (name: PhaseName) => run.phase(name.toUpperCase() as PhaseType),
      phaseEnded: (_name, phaseResult) => run.endPhase(phaseResult),
      interrupted: () => run.interrupt,
    },
  });
  if (run.interrupt) {
    const last = build.phases.at(-1);
    if (last && last.endTime === undefined) {
      run.endPhase({ status: run.interrupt, context: { statusCode: `BUILD_${run.interrupt}`, message: '' } });
    }
    return run.complete(run.interrupt);
  }
  build.exportedEnvironmentVariables = result.exported;
  if (result.succeeded) run.phase('UPLOAD_ARTIFACTS');
  run.complete(result.succeeded ? 'SUCCEEDED' : 'FAILED');
}
