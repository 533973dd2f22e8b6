/**
 * While `submit` waits for a multi-platform upload's release: one line per leg as it ends (its
 * platform, native or emulated, how long since the upload was accepted, its image), each once,
 * whatever order the legs end in and however often the record is read.
 */
import type { UploadRecord } from '../functions/shared/upload-record.ts';
import { type LegView, legsOf } from './status.ts';
import { stripControl } from './terminal-text.ts';

/** `leg linux/arm64 (emulated) pushed after 410s: sha256:…`, or ended without an image. */
export function legProgressLine(leg: LegView): string {
  const how = leg.emulated ? 'emulated' : 'native';
  const after = leg.durationSeconds !== undefined ? ` after ${leg.durationSeconds}s` : '';
  const what = leg.digest ? `pushed${after}: ${leg.digest.slice(0, 19)}` : `ended${after} without an image`;
  return `leg ${stripControl(leg.platform)} (${how}) ${what}`;
}

/** Tells each leg's end once, from the records read while waiting. */
export class LegProgress {
  private readonly told = new Set<string>();

  constructor(private readonly info: (line: string) => void) {}

  /** Sees one record read: prints the legs that ended since the last. */
  see(record: UploadRecord | undefined): void {
    // legsOf keeps the record's order, one view per leg (none for an upload of one platform).
    const views = record ? (legsOf(record) ?? []) : [];
    views.forEach((view, i) => {
      const leg = record?.legs?.[i];
      if (!leg || !(leg.digest || leg.finishedAt) || this.told.has(leg.platform)) return;
      this.told.add(leg.platform);
      this.info(legProgressLine(view));
    });
  }
}
