/**
 * Gzip on several cores, as pigz does: the stream is cut into blocks, each compressed on the libuv
 * thread pool as its own gzip member, and the members are written in order. Concatenated members
 * are one valid gzip file (RFC 1952; gunzip, Go's and Python's readers take them), and the output
 * is deflate at the same level, only with the dictionary reset every block (negligible at 1 MiB).
 */
import { availableParallelism } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);

export interface ParallelGzipOptions {
  level?: number;
  /** Uncompressed bytes per member. */
  blockSize?: number;
  /** Blocks compressed at once; memory is about 2 x concurrency x blockSize. */
  concurrency?: number;
  /** Called with each input chunk's size, as it arrives (progress of what was packed). */
  onInput?: (bytes: number) => void;
}

/** Leave pool threads for file reads (the pool has 4 by default); use at least 2 cores when there are. */
export function defaultConcurrency(): number {
  return Math.max(1, Math.min(availableParallelism(), 3));
}

/** A Transform that gzips its input on `concurrency` threads, in order. */
export function parallelGzip(options: ParallelGzipOptions = {}): Transform {
  const level = options.level ?? 6;
  const blockSize = options.blockSize ?? 1024 * 1024;
  const concurrency = options.concurrency ?? defaultConcurrency();
  let chunks: Buffer[] = [];
  let buffered = 0;
  const inFlight: Promise<Buffer>[] = [];
  let wrote = false;

  // One output buffer per block: with zlib's default 16 KiB chunks, each block would cost dozens of
  // round trips between the thread pool and the main thread, and as many small buffers to collect.
  const compress = (block: Buffer) =>
    gzip(block, { level, chunkSize: Math.max(16 * 1024, Math.ceil(block.length * 1.01) + 1024) });
  const takeBlock = (size: number): Buffer => {
    const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, buffered);
    const block = all.subarray(0, size);
    const rest = all.subarray(size);
    chunks = rest.length > 0 ? [rest] : [];
    buffered = rest.length;
    return block;
  };

  const stream: Transform = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      chunks.push(chunk);
      buffered += chunk.length;
      options.onInput?.(chunk.length);
      const work = async () => {
        while (buffered >= blockSize) {
          inFlight.push(compress(takeBlock(blockSize)));
          // Wait for the oldest block when the pool is full: this is the backpressure on the packer.
          if (inFlight.length >= concurrency) {
            wrote = true;
            stream.push(await (inFlight.shift() as Promise<Buffer>));
          }
        }
      };
      work().then(() => done(), done);
    },
    flush(done: TransformCallback) {
      const work = async () => {
        if (buffered > 0 || (!wrote && inFlight.length === 0)) inFlight.push(compress(takeBlock(buffered)));
        while (inFlight.length > 0) stream.push(await (inFlight.shift() as Promise<Buffer>));
      };
      work().then(() => done(), done);
    },
  });
  return stream;
}
