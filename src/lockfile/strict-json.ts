/**
 * JSON.parse with two refusals a lockfile needs and JSON.parse lacks: an object that names a key
 * twice (JSON.parse keeps the last, so a reviewer reading the first sees another lockfile than the
 * one that loads), and nesting deeper than any lockfile has (deep enough, it overflows the stack of
 * every recursive step after parsing: serializing, cloning, comparing).
 *
 * Hand-written because the JSON parsers on npm either keep the last duplicate silently or build a
 * full syntax tree of the file; this is one linear pass over text JSON.parse already accepted,
 * with no recursion, that only tracks which keys each open object has seen.
 */
import { ModelGuardError, type ErrorCode } from "../errors.js";
import { jsonPath } from "./json-path.js";

/** Deeper than any lockfile (its Sigstore bundles nest about ten levels). */
export const MAX_JSON_DEPTH = 64;

interface Frame {
  /** The keys seen so far (objects), or undefined (arrays). */
  keys: Set<string> | undefined;
  /** Where this container is: the key or index in its parent. */
  at: string | number | undefined;
  /** Objects: whether the next string is a key. */
  expectKey: boolean;
  /** Arrays: how many elements have started. */
  count: number;
}

function invalid(source: string, message: string, code: ErrorCode): ModelGuardError {
  return new ModelGuardError(code, `${source}: ${message}`);
}

function pathOf(stack: Frame[], last?: string | number): string {
  const segments = stack.slice(1).map((f) => f.at!);
  if (last !== undefined) segments.push(last);
  return jsonPath(...segments);
}

const WHITESPACE = new Set([" ", "\n", "\r", "\t"]);

/**
 * Throws `code` (LOCKFILE_INVALID unless told) naming the JSON path of a duplicate key or of nesting past
 * MAX_JSON_DEPTH. `text` must be JSON that JSON.parse accepts.
 */
export function checkJsonStructure(text: string, source: string, code: ErrorCode = "LOCKFILE_INVALID"): void {
  const stack: Frame[] = [];
  let key: string | undefined; // the key of the value about to start in the innermost object
  let prev = ""; // the last character that was not whitespace
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (WHITESPACE.has(c)) continue;
    const top = stack[stack.length - 1];
    // In an array, an element starts after "[" or ",": count it, so a path can name its index.
    const index = top && !top.keys && (prev === "[" || prev === ",") && c !== "]" ? top.count++ : undefined;
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (top?.keys && top.expectKey) {
        key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) throw invalid(source, `${pathOf(stack, key)} is given twice; a key may be given once`, code);
        top.keys.add(key);
        top.expectKey = false;
      }
      i = end;
    } else if (c === "{" || c === "[") {
      const at = top === undefined ? undefined : top.keys ? key : index;
      stack.push({ keys: c === "{" ? new Set() : undefined, at, expectKey: true, count: 0 });
      if (stack.length > MAX_JSON_DEPTH) throw invalid(source, `${pathOf(stack)} nests deeper than ${MAX_JSON_DEPTH} levels`, code);
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === "," && top?.keys) {
      top.expectKey = true;
    }
    prev = text[i]!;
  }
}
