/**
 * The models a lockfile command names: `signatures`, `unsign`, `sign` and `bom` take `[names...]` (every
 * locked model when none is given) and refuse a name that is not locked, naming each one. (`remove`
 * takes `<names...>`, at least one, and checks them with the same `lockedNames` in `removeModels`.)
 */
import type { Lockfile } from "../lockfile/types.js";
import { lockedNames, type NotLockedContext } from "../lockfile/locked-names.js";
import type { GlobalOptions } from "./global-options.js";

/** The names given, each once, or every locked model when none is; MODEL_NOT_LOCKED (naming the lockfile and what the command did not do) when one is not locked. */
export function targetNames(lockfile: Lockfile, names: readonly string[], context: NotLockedContext): string[] {
  return lockedNames(lockfile, names.length > 0 ? names : undefined, context);
}

/** The lockfile (read, not locked for writing) and the models named in it, as `targetNames`. */
export async function lockedModels(global: GlobalOptions, names: readonly string[]): Promise<{ lockfile: Lockfile; names: string[] }> {
  // Loaded here, not at start-up: `modelguard --version` and other commands skip it.
  const { readLockfile } = await import("../lockfile/lockfile-file.js");
  const lockfile = await readLockfile(global.lockfile);
  return { lockfile, names: targetNames(lockfile, names, { path: global.lockfile }) };
}
