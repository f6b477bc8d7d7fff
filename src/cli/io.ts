import { readFile } from "node:fs/promises";
import { ModelGuardError } from "../errors.js";
import { escapeForTerminal } from "../terminal-text.js";

/** Reads a file named on the command line; a missing one is a usage error naming it. */
export async function readInputFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "not found" : code === "EISDIR" ? "is a directory" : (err as Error).message;
    throw new ModelGuardError("FILE_MISSING", `${what} ${path}: ${why}`, { cause: err });
  }
}

export function writeOut(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** A line (or lines) of text for a person: whatever outside text it holds cannot drive the terminal. */
export function writeErr(text: string): void {
  const safe = escapeForTerminal(text, { keepNewlines: true });
  process.stderr.write(safe.endsWith("\n") ? safe : `${safe}\n`);
}

/** `1 file`, `2 files`: a count and its noun, for the lines a person reads. */
export function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
