import { expect } from "vitest";
import { isModelGuardError, type ErrorCode } from "../../src/errors.js";

/** What a promise rejected with; fails the test if it resolved. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

/** Runs `fn`, expects a ModelGuardError with `code`, returns its message. */
export function messageOf(code: ErrorCode, fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isModelGuardError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
    return (err as Error).message;
  }
  throw new Error(`expected ${code}`);
}

/** The code of what `fn` threw, or undefined when it did not throw. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}
