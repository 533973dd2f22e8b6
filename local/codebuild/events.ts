/**
 * The `CodeBuild Build State Change` event as CodeBuild puts it on the default bus (AWS CodeBuild
 * user guide, "Build notifications input format reference"): kebab-case keys, times written like
 * `Sep 1, 2017 4:12:29 PM` (UTC), and the build's environment variables echoed back.
 */
import type { Build } from './model.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Epoch seconds to CodeBuild's event time format, in UTC. */
export function codeBuildTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const hour = d.getUTCHours() % 12 === 0 ? 12 : d.getUTCHours() % 12;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${hour}:${pad(d.getUTCMinutes())}:${pad(
    d.getUTCSeconds(),
  )} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}

/** The PutEvents entry for the build's current state. */
export function stateChangeEvent(build: Build) {
  const current = build.phases.at(-1);
  const currentContext = current?.contexts?.[0];
  const detail = {
    'build-status': build.buildStatus,
    'project-name': build.projectName,
    'build-id': build.arn,
    'current-phase': build.currentPhase,
    'current-phase-context': currentContext
      ? `[${currentContext.statusCode}: ${currentContext.message}]`
      : '[]',
    version: '1',
    'additional-information': {
      cache: { type: 'NO_CACHE' },
      'build-number': build.buildNumber,
      'timeout-in-minutes': build.timeoutInMinutes,
      'queued-timeout-in-minutes': build.queuedTimeoutInMinutes,
      'build-complete': build.buildComplete,
      initiator: build.initiator,
      'build-start-time': codeBuildTime(build.startTime),
      source: { type: build.source.type },
      environment: {
        image: build.environment.image,
        'privileged-mode': build.environment.privilegedMode,
        'compute-type': build.environment.computeType,
        type: build.environment.type,
        'environment-variables': build.environment.environmentVariables.map(({ name, type, value }) => ({
          name,
          type,
          value,
        })),
      },
      logs: {
        'group-name': build.logs.groupName,
        'stream-name': build.logs.streamName,
        'deep-link': build.logs.deepLink,
      },
      phases: build.phases.map((phase) => ({
        'phase-context': (phase.contexts ?? []).map((c) => `${c.statusCode}: ${c.message}`),
        'start-time': codeBuildTime(phase.startTime),
        ...(phase.endTime !== undefined
          ? { 'end-time': codeBuildTime(phase.endTime), 'duration-in-seconds': phase.durationInSeconds ?? 0 }
          : {}),
        'phase-type': phase.phaseType,
        ...(phase.phaseStatus ? { 'phase-status': phase.phaseStatus } : {}),
      })),
      ...(build.exportedEnvironmentVariables
        ? { 'exported-environment-variables': build.exportedEnvironmentVariables }
        : {}),
    },
  };
  return {
    Source: 'aws.codebuild',
    DetailType: 'CodeBuild Build State Change',
    Detail: JSON.stringify(detail),
    Resources: [build.arn],
  };
}
