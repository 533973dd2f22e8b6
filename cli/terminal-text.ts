/**
 * Text from a build or a record as the command writes it to the operator's terminal: without control
 * characters (a build's output could carry escape sequences that move the cursor, rewrite what is
 * shown, set the window title or, on some terminals, write files), and with what looks like a
 * credential hidden (functions/shared/redact.ts, the rule set the notifications use).
 */
// biome-ignore-all lint/suspicious/noControlCharactersInRegex: matching control characters is the point
import { redactText } from '../functions/shared/redact.ts';

// ESC-started sequences first (CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ST`, two-byte `ESC x`), so
// that none leaves its parameters behind as text; then every other C0 and C1 control but tab and newline.
const CSI = /\u001b\[[0-?]*[ -/]*[@-~]/g;
const OSC = /\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?/g;
const ESCAPE = /\u001b[@-_]?/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` without escape sequences and control characters; tabs and newlines stay. */
export function stripControl(text: string): string {
  return text.replace(OSC, '').replace(CSI, '').replace(ESCAPE, '').replace(CONTROL, '');
}

/** `text` safe to write to a terminal: control characters stripped, credentials hidden. */
export function forTerminal(text: string): Promise<string> {
  return redactText(stripControl(text));
}
