import { lockedNames } from "./locked-names.js";
import type { Lockfile } from "./types.js";

/**
 * The lockfile without the named models (`modelguard remove`). Every name must be locked: a typo
 * is MODEL_NOT_LOCKED naming each one (and `path`, the lockfile, when given), and nothing is removed. Pure: the caller writes the result
 * (through updateLockfile).
 */
export function removeModels(lockfile: Lockfile, names: readonly string[], path?: string): Lockfile {
  const drop = new Set(lockedNames(lockfile, names, { ...(path === undefined ? {} : { path }), unchanged: "nothing was removed" }));
  return { ...lockfile, models: Object.fromEntries(Object.entries(lockfile.models).filter(([name]) => !drop.has(name))) };
}
