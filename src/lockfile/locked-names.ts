import { ModelGuardError } from "../errors.js";
import type { Lockfile } from "./types.js";

/**
 * The named models of a lockfile, each once, in the order given; every locked model when no names
 * are given. Each name must be locked: a typo is MODEL_NOT_LOCKED naming every missing one and what
 * is locked, followed by `unchanged` (what the caller therefore did not do). Pure.
 */
export function lockedNames(lockfile: Lockfile, names?: readonly string[], unchanged?: string): string[] {
  if (names === undefined) return Object.keys(lockfile.models);
  const unique = [...new Set(names)];
  const missing = unique.filter((name) => !Object.hasOwn(lockfile.models, name));
  if (missing.length > 0) {
    const locked = Object.keys(lockfile.models).join(", ") || "none";
    throw new ModelGuardError("MODEL_NOT_LOCKED", `not locked: ${missing.join(", ")} (locked: ${locked})${unchanged === undefined ? "" : `; ${unchanged}`}`, { model: missing[0]! });
  }
  return unique;
}
