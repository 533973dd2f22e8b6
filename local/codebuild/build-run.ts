/**
 * One build while it lives: its record, log and work folder, the phase changes it goes through, its
 * state-change events (each put after the log written before it), its completion, and the stop or
 * timeout that ends its running command.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stateChangeEvent } from './events.ts';
import type { BuildLog } from './log-store.ts';
import {
  type Build,
  type BuildStatus,
  type CodeBuildContext,
  earlyEndStatus,
  endPhase,
  type Interruption,
  type PhaseType,
  seconds,
  startPhase,
} from './model.ts';
import { containerLine, type PhaseResult, type PhaseStatus } from './runner.ts';

/** What a build reports to: the event bus, the console, and the tracker of unsent events. */
export interface BuildRunDeps {
  putEvents: CodeBuildContext['putEvents'];
  log: (line: string) => void;
  /** Keeps an event being sent until it settles, so that stopping can wait for it. */
  track: (sending: Promise<void>) => void;
  now?: () => number;
}

/** A submitted build, from QUEUED to COMPLETED. */
export class BuildRun {
  interrupt?: Interruption;
  /** The process group of the command running now, if any. */
  pid?: number;
  readonly done: Promise<void>;
  private finish: () => void = () => {};
  private events: Promise<void> = Promise.resolve();

  constructor(
    readonly build: Build,
    readonly workDir: string,
    readonly log: BuildLog,
    private readonly deps: BuildRunDeps,
  ) {
    this.done = new Promise<void>((resolve) => {
      this.finish = resolve;
    });
  }

  private now(): number {
    return seconds((this.deps.now ?? Date.now)());
  }

  /** Puts the state-change event of the build as it is now, after the log written so far. */
  emit(): void {
    const event = stateChangeEvent(this.build);
    const final = this.build.buildComplete;
    // The log first: whoever the event reaches may read the log stream at once.
    const sent = this.events
      .then(() => this.log.flush(final))
      .then(() => this.deps.putEvents([event]))
      .catch((error: unknown) =>
        this.deps.log(`codebuild: could not put the state-change event of ${this.build.id}: ${error}`),
      );
    this.events = sent;
    this.deps.track(sent);
  }

  phase(type: PhaseType): void {
    startPhase(this.build, type, this.now());
    void this.log.flush();
  }

  endPhase(result: PhaseResult): void {
    endPhase(this.build, result, this.now());
  }

  /** Ends the build with `status`: FINALIZING, COMPLETED, the record saved and the final event put. */
  complete(status: BuildStatus): void {
    const { build } = this;
    if (build.buildComplete) return;
    this.phase('FINALIZING');
    this.phase('COMPLETED');
    build.buildStatus = status;
    build.buildComplete = true;
    build.endTime = this.now();
    this.log.append(containerLine(`Build ${status.toLowerCase()}: ${build.id}`));
    writeFileSync(join(this.workDir, 'build.json'), `${JSON.stringify(build, null, 2)}\n`);
    this.emit();
    const took = (build.endTime - build.startTime).toFixed(1);
    this.deps.log(`codebuild: ${build.id} ${status} in ${took}s (log ${build.logs.deepLink})`);
    this.finish();
  }

  /** Ends the build before its commands ran to the end, with the phase context CodeBuild gives. */
  failEarly(status: PhaseStatus, statusCode: string, message: string): void {
    this.log.append(containerLine(`Phase context status code: ${statusCode} Message: ${message}`));
    this.endPhase({ status, context: { statusCode, message } });
    this.complete(earlyEndStatus(status));
  }

  /** Marks the build stopped or timed out and ends its running command (SIGTERM, then SIGKILL). */
  stop(why: Interruption): void {
    if (this.build.buildComplete || this.interrupt) return;
    this.interrupt = why;
    this.log.append(containerLine(why === 'TIMED_OUT' ? 'Build timed out' : 'Build stopped'));
    const pid = this.pid;
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
      if (this.pid === pid) kill('SIGKILL');
    }, 5_000).unref();
  }
}
