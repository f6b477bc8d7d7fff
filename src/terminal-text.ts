/**
 * Text from outside (a Hub's error body, a lockfile, a signature, a file name) shown on a
 * terminal: control characters would let it move the cursor, recolour or erase what modelguard
 * printed, or start a line of its own ("Verified OK"); bidirectional overrides would let it show
 * text in another order than it is. Each such character is shown as an escape (`\x1b`, `\u202e`)
 * instead. `--json` output needs none of this: JSON.stringify escapes control characters itself.
 */

// C0 controls, DEL, C1 controls (U+009B alone is a CSI on some terminals), the Unicode line and
// paragraph separators and the bidirectional marks, embeddings, overrides and isolates.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * `text` safe to print on a terminal. Outside text put into a message is escaped whole (a newline
 * in it would start a line that seems to be modelguard's); `keepNewlines` is for a whole message
 * about to be printed, whose own lines are modelguard's.
 */
export function escapeForTerminal(text: string, options: { keepNewlines?: boolean } = {}): string {
  return text.replace(options.keepNewlines ? UNSAFE_BUT_NEWLINE : UNSAFE, escapeChar);
}
