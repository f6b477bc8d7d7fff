import { ModelGuardError } from "../errors.js";
import type { Lockfile } from "./types.js";

/**
 * The lockfile without the named models (`modelguard remove`). Every name must be locked: a typo
 * is MODEL_NOT_LOCKED naming each one, and nothing is removed. Pure: the caller writes the result
 * (through updateLockfile).
 */
export function removeModels(lockfile: Lockfile, names: readonly string[]): Lockfile {
  const missing = names.filter((name) => !Object.hasOwn(lockfile.models, name));
  if (missing.length > 0) {
    throw new ModelGuardError(
      "MODEL_NOT_LOCKED",
      `not locked: ${missing.join(", ")} (locked: ${Object.keys(lockfile.models).join(", ") || "none"}); nothing was removed`,
      { model: missing[0]! },
    );
  }
  const drop = new Set(names);
  return { ...lockfile, models: Object.fromEntries(Object.entries(lockfile.models).filter(([name]) => !drop.has(name))) };
}
