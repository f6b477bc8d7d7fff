/**
 * The models a lockfile command names: `signatures`, `unsign` and `bom` take `[names...]` (every
 * locked model when none is given) and refuse a name that is not locked, naming each one. (`remove`
 * takes `<names...>`, at least one, and checks them with the same `lockedNames` in `removeModels`.)
 */
import type { Lockfile } from "../lockfile/types.js";
import { lockedNames } from "../lockfile/locked-names.js";
import type { GlobalOptions } from "./global-options.js";

/** The names given, each once, or every locked model when none is; MODEL_NOT_LOCKED, `unchanged` appended, when one is not locked. */
export function targetNames(lockfile: Lockfile, names: readonly string[], unchanged?: string): string[] {
  return lockedNames(lockfile, names.length > 0 ? names : undefined, unchanged);
}

/** The lockfile (read, not locked for writing) and the models named in it, as `targetNames`. */
export async function lockedModels(global: GlobalOptions, names: readonly string[]): Promise<{ lockfile: Lockfile; names: string[] }> {
  // Loaded here, not at start-up: `modelguard --version` and other commands skip it.
  const { readLockfile } = await import("../lockfile/lockfile-file.js");
  const lockfile = await readLockfile(global.lockfile);
  return { lockfile, names: targetNames(lockfile, names) };
}
