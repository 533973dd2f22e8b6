/**
 * Runs the phases of one build for real, as CodeBuild's agent does: every command in its own bash
 * process that starts from the state the previous command left (exported variables and the working
 * directory: version 0.2's "one shell for the whole build"), its output in the build log, a failing
 * command failing its phase. Phase order on failure follows CodeBuild: a failed INSTALL or PRE_BUILD
 * ends the build, a failed BUILD still runs POST_BUILD, `on-failure: ABORT` ends it at once and
 * `CONTINUE` goes on; `finally` commands run whatever happened to the phase's commands.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { endGroup, spawnWatched } from '../processes.ts';
import type { Buildspec, PhaseName } from './buildspec.ts';

export type PhaseStatus = 'SUCCEEDED' | 'FAILED' | 'FAULT' | 'TIMED_OUT' | 'IN_PROGRESS' | 'STOPPED';

export interface PhaseResult {
  status: PhaseStatus;
  /** CodeBuild's phase context: status code and message, when the phase did not succeed. */
  context?: { statusCode: string; message: string };
}

export interface RunHooks {
  /** Called when a buildspec phase starts and when it ends. */
  phaseStarted(phase: PhaseName): void;
  phaseEnded(phase: PhaseName, result: PhaseResult): void;
  /** Why the build must end now (stopped or timed out), or undefined to go on. */
  interrupted(): 'STOPPED' | 'TIMED_OUT' | undefined;
}

export interface RunOptions {
  buildspec: Buildspec;
  /** The build's work folder: state files live here; CODEBUILD_SRC_DIR is a folder inside it. */
  workDir: string;
  srcDir: string;
  env: Record<string, string>;
  logFile: string;
  hooks: RunHooks;
  /** Registers the process group of the running command so that stop/timeout can end it. */
  setCurrentProcess(pid: number | undefined): void;
}

export interface RunResult {
  succeeded: boolean;
  /** Final values of the variables `env.exported-variables` names. */
  exported: Array<{ name: string; value: string }>;
}

/** CodeBuild's log line prefix: `[Container] 2024/05/01 10:00:00.123456 `. */
export function containerLine(message: string, now = new Date()): string {
  const iso = now.toISOString();
  const stamp = `${iso.slice(0, 10).replace(/-/g, '/')} ${iso.slice(11, 23)}000`;
  return `[Container] ${stamp} ${message}\n`;
}

// Runs one command on top of the saved state and saves the state again, even when it exits early.
// `set -a` makes every assignment exported, so plain `NAME=value` carries over as it does on CodeBuild.
const PRELUDE = `set -a
if [ -f "$__CB_STATE" ]; then . "$__CB_STATE"; fi
trap '__cb_rc=$?; { export -p | grep -v -E "^declare -x (BASHOPTS|SHELLOPTS|BASH_VERSINFO|EUID|PPID|UID|__CB_[A-Z_]*|__cb_rc)="; printf "cd %q\\n" "$PWD"; } >"$__CB_STATE.next" 2>/dev/null; exit $__cb_rc' EXIT
cd "$__CB_CWD" 2>/dev/null || true
. "$__CB_COMMAND"
`;

/** Runs the buildspec's phases; resolves when the build has ended (succeeded or not). */
export async function runPhases(options: RunOptions): Promise<RunResult> {
  const { buildspec, workDir, srcDir, env, logFile, hooks } = options;
  const statePath = join(workDir, 'shell.state');
  const commandPath = join(workDir, 'command.sh');
  let cwd = srcDir;
  let succeeded = true;
  const log = (text: string) => appendFileSync(logFile, text);

  const runCommand = (command: string): Promise<number> =>
    new Promise((resolve) => {
      writeFileSync(commandPath, `${command}\n`);
      rmSync(`${statePath}.next`, { force: true });
      // A multi-line command (a here-document) is shown by its first line, to keep the log readable.
      const lines = command.trimEnd().split('\n');
      const shown = lines.length > 1 ? `${lines[0]} … (${lines.length - 1} more lines)` : command;
      log(containerLine(`Running command ${shown}`));
      // Its own process group, ended with this process if the local cloud dies.
      const child = spawnWatched('bash', ['-c', PRELUDE], {
        cwd: srcDir,
        env: { ...env, __CB_STATE: statePath, __CB_CWD: cwd, __CB_COMMAND: commandPath },
      });
      options.setCurrentProcess(child.pid);
      child.stdout.on('data', (chunk: Buffer) => log(chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => log(chunk.toString('utf8')));
      child.on('error', (error) => {
        log(`${error.message}\n`);
        resolve(127);
      });
      child.on('close', (code, signal) => {
        options.setCurrentProcess(undefined);
        // Ends what the command left running in its group, and the group's watcher.
        endGroup(child);
        try {
          const next = readFileSync(`${statePath}.next`, 'utf8');
          writeFileSync(statePath, next);
          const cd = /^cd (.*)$/m.exec(
            next
              .split('\n')
              .reverse()
              .find((line) => line.startsWith('cd ')) ?? '',
          );
          if (cd?.[1]) cwd = unquote(cd[1]);
        } catch {
          // The command left no state (killed): keep the previous one.
        }
        resolve(code ?? (signal ? 128 : 1));
      });
    });

  const runList = async (commands: string[]): Promise<PhaseResult> => {
    for (const command of commands) {
      const why = hooks.interrupted();
      if (why) return { status: why };
      const code = await runCommand(command);
      const after = hooks.interrupted();
      if (after) return { status: after };
      if (code !== 0) {
        const message = `Error while executing command: ${command}. Reason: exit status ${code}`;
        log(containerLine(`Command did not exit successfully ${command} exit status ${code}`));
        return { status: 'FAILED', context: { statusCode: 'COMMAND_EXECUTION_ERROR', message } };
      }
    }
    return { status: 'SUCCEEDED' };
  };

  const order: PhaseName[] = ['install', 'pre_build', 'build', 'post_build'];
  for (const name of order) {
    const phase = buildspec.phases[name];
    hooks.phaseStarted(name);
    log(containerLine(`Entering phase ${name.toUpperCase()}`));
    if (phase?.runtimeVersions) {
      log(
        containerLine(
          `runtime-versions ${JSON.stringify(phase.runtimeVersions)}: the host's tools are used locally`,
        ),
      );
    }
    let result: PhaseResult = phase ? await runList(phase.commands) : { status: 'SUCCEEDED' };
    if (phase && phase.finally.length > 0 && result.status !== 'STOPPED' && result.status !== 'TIMED_OUT') {
      const after = await runList(phase.finally);
      if (result.status === 'SUCCEEDED') result = after;
    }
    log(containerLine(`Phase complete: ${name.toUpperCase()} State: ${result.status}`));
    log(
      containerLine(
        `Phase context status code: ${result.context?.statusCode ?? ''} Message: ${result.context?.message ?? ''}`,
      ),
    );
    hooks.phaseEnded(name, result);
    if (result.status === 'STOPPED' || result.status === 'TIMED_OUT')
      return { succeeded: false, exported: [] };
    if (result.status !== 'SUCCEEDED') {
      succeeded = false;
      appendFileSync(statePath, 'export CODEBUILD_BUILD_SUCCEEDING=0\n');
      const next = phase?.onFailure ?? (name === 'build' ? 'CONTINUE' : 'ABORT');
      // A failed POST_BUILD has nothing after it among the buildspec phases.
      if (next === 'ABORT') break;
    }
  }
  return { succeeded, exported: readExported(statePath, buildspec.exportedVariables) };
}

function unquote(value: string): string {
  // printf %q output: backslash escapes, or $'...' for control characters.
  if (value.startsWith("$'") && value.endsWith("'")) {
    return value.slice(2, -1).replace(/\\(.)/g, '$1');
  }
  return value.replace(/\\(.)/g, '$1');
}

/** Reads the final values of the exported variables from the saved shell state. */
function readExported(statePath: string, names: string[]): Array<{ name: string; value: string }> {
  if (names.length === 0) return [];
  let state = '';
  try {
    state = readFileSync(statePath, 'utf8');
  } catch {
    return names.map((name) => ({ name, value: '' }));
  }
  return names.map((name) => {
    const match = new RegExp(`^declare -x ${name}="((?:[^"\\\\]|\\\\.)*)"$`, 'm').exec(state);
    return { name, value: match?.[1]?.replace(/\\(["\\$`])/g, '$1') ?? '' };
  });
}
