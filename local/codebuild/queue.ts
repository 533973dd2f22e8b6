/**
 * Builds running at once up to a limit, the rest waiting in order, each waiting build with its own
 * queued timeout; a full queue refuses new builds, as CodeBuild's account limits do.
 */

export interface QueueLimits {
  maxConcurrent: number;
  maxQueued: number;
}

interface Waiting<T> {
  item: T;
  timer: NodeJS.Timeout;
}

/** A FIFO of items run by `run`, at most `maxConcurrent` at once. */
export class BuildQueue<T> {
  private readonly waiting: Array<Waiting<T>> = [];
  private active = 0;
  private closed = false;

  constructor(
    private readonly limits: QueueLimits,
    private readonly run: (item: T) => Promise<void>,
  ) {}

  /** True when both the running slots and the queue are full. */
  get full(): boolean {
    return this.waiting.length >= this.limits.maxQueued && this.active >= this.limits.maxConcurrent;
  }

  /** Queues an item; `onExpired` is called if it is still waiting after `expireAfterMs`. */
  push(item: T, expireAfterMs: number, onExpired: (item: T) => void): void {
    const timer = setTimeout(() => {
      if (this.remove(item)) onExpired(item);
    }, expireAfterMs);
    this.waiting.push({ item, timer });
    this.startNext();
  }

  /** Takes a waiting item out of the queue; false when it is not waiting (running or done). */
  remove(item: T): boolean {
    const index = this.waiting.findIndex((entry) => entry.item === item);
    if (index < 0) return false;
    const [entry] = this.waiting.splice(index, 1);
    clearTimeout(entry?.timer);
    return true;
  }

  /** Starts nothing more and hands back the items still waiting. */
  close(): T[] {
    this.closed = true;
    return this.waiting.splice(0).map((entry) => {
      clearTimeout(entry.timer);
      return entry.item;
    });
  }

  private startNext(): void {
    while (this.active < this.limits.maxConcurrent && this.waiting.length > 0 && !this.closed) {
      const entry = this.waiting.shift() as Waiting<T>;
      clearTimeout(entry.timer);
      this.active += 1;
      void this.run(entry.item).finally(() => {
        this.active -= 1;
        this.startNext();
      });
    }
  }
}
