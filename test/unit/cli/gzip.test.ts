import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parallelGzip } from '../../../cli/gzip.ts';

async function compress(input: Buffer, chunkSize: number, options = { blockSize: 1000, concurrency: 3 }) {
  const parts: Buffer[] = [];
  const chunks = [];
  for (let i = 0; i < input.length; i += chunkSize) chunks.push(input.subarray(i, i + chunkSize));
  await pipeline(
    Readable.from(chunks),
    parallelGzip(options),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        parts.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(parts);
}

describe('parallel gzip', () => {
  it.each([
    ['nothing', 0, 7],
    ['less than a block', 999, 100],
    ['exactly one block', 1000, 1000],
    ['many blocks from small writes', 10_123, 37],
    ['many blocks from one large write', 25_000, 25_000],
  ])('round-trips %s', async (_name, size, chunkSize) => {
    const input = randomBytes(size);
    const output = await compress(input, chunkSize);
    expect(gunzipSync(output).equals(input)).toBe(true);
  });

  it('writes members that gunzip reads as one file, in order', async () => {
    const input = Buffer.from(Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join(''));
    const output = await compress(input, 333);
    expect(execFileSync('gzip', ['-dc'], { input: output }).toString()).toBe(input.toString());
  });

  it('compresses text about as well as one gzip stream', async () => {
    const input = Buffer.from('the same words again and again '.repeat(100_000));
    const output = await compress(input, 65_536, { blockSize: 1024 * 1024, concurrency: 2 });
    expect(output.length).toBeLessThan(input.length / 50);
  });
});
