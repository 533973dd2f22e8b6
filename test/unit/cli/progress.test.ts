import { describe, expect, it } from 'vitest';
import { formatBytes, ProgressBar } from '../../../cli/progress.ts';

function output(isTTY: boolean) {
  const writes: string[] = [];
  return { out: { isTTY, write: (text: string) => writes.push(text) }, writes };
}

describe('progress', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200.0 MiB');
  });

  it('redraws one line with a bar, bytes and rate on a terminal', () => {
    let now = 0;
    const { out, writes } = output(true);
    const bar = new ProgressBar(out, 'uploading', () => now);
    now = 2000;
    bar.update({ sent: 4 * 1024 * 1024, packed: 0.5 });
    expect(writes).toEqual([`\r\x1b[2Kuploading [############............]  50%  4.0 MiB sent  2.0 MiB/s`]);
    now = 2050; // too soon to redraw
    bar.update({ sent: 5 * 1024 * 1024, packed: 0.6 });
    expect(writes).toHaveLength(1);
    now = 4000;
    bar.done({ sent: 8 * 1024 * 1024 });
    expect(writes[1]).toBe(`\r\x1b[2Kuploading [########################] 100%  8.0 MiB sent  2.0 MiB/s\n`);
  });

  it('writes plain lines every few seconds when not on a terminal', () => {
    let now = 0;
    const { out, writes } = output(false);
    const bar = new ProgressBar(out, 'uploading', () => now, 5000);
    for (now = 0; now <= 12_000; now += 1000) bar.update({ sent: now * 1024, packed: now / 20_000 });
    expect(writes).toEqual([
      'uploading  25%  4.9 MiB sent  1000.0 KiB/s\n',
      'uploading  50%  9.8 MiB sent  1000.0 KiB/s\n',
    ]);
    expect(writes.join('')).not.toContain('\r');
  });
});
