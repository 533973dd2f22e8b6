/**
 * Upload progress: one redrawn line with bytes and rate on a terminal, a plain line every few
 * seconds otherwise (CI logs, pipes).
 */

/** Where progress is written: a stream with an optional TTY flag (process.stderr fits). */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Formats a byte count for people (binary units, one decimal). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export interface ProgressSample {
  /** Bytes sent to S3 so far. */
  sent: number;
  /** Fraction of the context packed so far (0..1), when known. */
  packed?: number;
}

/** Renders progress samples; call `update` as often as you like, `done` once at the end. */
export class ProgressBar {
  private last = 0;
  private readonly started: number;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly label: string,
    private readonly now: () => number = Date.now,
    private readonly plainEveryMs = 5000,
  ) {
    this.started = now();
    this.last = this.started;
  }

  private line(sample: ProgressSample, final: boolean): string {
    const seconds = Math.max((this.now() - this.started) / 1000, 0.001);
    const rate = `${formatBytes(sample.sent / seconds)}/s`;
    const fraction = final ? 1 : (sample.packed ?? 0);
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = this.out.isTTY ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    return `${this.label} ${bar}${percent}  ${formatBytes(sample.sent)} sent  ${rate}`;
  }

  update(sample: ProgressSample): void {
    const now = this.now();
    if (this.out.isTTY) {
      if (now - this.last < 100) return;
      this.last = now;
      this.out.write(`\r\x1b[2K${this.line(sample, false)}`);
      this.drawn = true;
    } else if (now - this.last >= this.plainEveryMs) {
      this.last = now;
      this.out.write(`${this.line(sample, false)}\n`);
    }
  }

  done(sample: ProgressSample): void {
    this.out.write(`${this.out.isTTY && this.drawn ? '\r\x1b[2K' : ''}${this.line(sample, true)}\n`);
  }

  /** Clears the redrawn line (before an error message). */
  clear(): void {
    if (this.out.isTTY && this.drawn) this.out.write('\r\x1b[2K');
  }
}
