/**
 * The build log as people read it: CodeBuild's own lines (`[Container] 2026/12/01 10:00:00.123456
 * Entering phase BUILD`, agent pings, phase contexts) are left out, except the commands it runs,
 * shown as `$ <command>`; `--verbose` keeps every line. The log arrives in pieces that may cut a line:
 * a cut line waits for its end.
 */

/** CodeBuild's line prefix: `[Container] <date> <time> `. */
const CONTAINER = /^\[Container\] \S+ \S+ (.*)$/;
const RUNNING = /^Running command (.*)$/;

/** One line as the default log shows it; undefined when it is CodeBuild's plumbing. */
export function plainLine(line: string): string | undefined {
  const container = CONTAINER.exec(line);
  if (!container) return /^\[Container\] /.test(line) ? undefined : line;
  const running = RUNNING.exec(container[1] ?? '');
  return running ? `$ ${running[1]}` : undefined;
}

/** Filters a log that arrives in pieces. */
export class LogFilter {
  private pending = '';

  constructor(private readonly verbose: boolean) {}

  /** What to print of `text` now. */
  push(text: string): string {
    if (this.verbose) return text;
    const lines = (this.pending + text).split('\n');
    this.pending = lines.pop() ?? '';
    return lines
      .map(plainLine)
      .filter((line) => line !== undefined)
      .map((line) => `${line}\n`)
      .join('');
  }

  /** What is left once the log has ended (a last line without its newline). */
  flush(): string {
    const last = this.pending;
    this.pending = '';
    if (last === '') return '';
    const line = plainLine(last);
    return line === undefined ? '' : `${line}\n`;
  }
}
