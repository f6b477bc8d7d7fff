import { ModelGuardError } from "../errors.js";
import type { LockedModel, Lockfile } from "./types.js";

/** Where the lockfile is (named in the error when known), and what the caller therefore did not do. */
export interface NotLockedContext {
  path?: string;
  unchanged?: string;
}

/**
 * The one MODEL_NOT_LOCKED: `not locked: NAMES (locked in PATH: a, b); UNCHANGED`, naming every
 * missing name, the lockfile when known, and what is locked, so a typo reads alike everywhere.
 */
function notLocked(lockfile: Lockfile, missing: readonly string[], context: NotLockedContext): ModelGuardError {
  const locked = Object.keys(lockfile.models).join(", ") || "none";
  const where = context.path === undefined ? "locked" : `locked in ${context.path}`;
  const unchanged = context.unchanged === undefined ? "" : `; ${context.unchanged}`;
  return new ModelGuardError("MODEL_NOT_LOCKED", `not locked: ${missing.join(", ")} (${where}: ${locked})${unchanged}`, { model: missing[0]! });
}

/**
 * The named models of a lockfile, each once, in the order given; every locked model when no names
 * are given. Each name must be locked: a typo is MODEL_NOT_LOCKED naming every missing one and what
 * is locked, followed by `unchanged` (what the caller therefore did not do). Pure.
 */
export function lockedNames(lockfile: Lockfile, names?: readonly string[], context: NotLockedContext = {}): string[] {
  if (names === undefined) return Object.keys(lockfile.models);
  const unique = [...new Set(names)];
  const missing = unique.filter((name) => !Object.hasOwn(lockfile.models, name));
  if (missing.length > 0) throw notLocked(lockfile, missing, context);
  return unique;
}

/** The entry of one locked model; MODEL_NOT_LOCKED, worded as `lockedNames` words it, when it is not locked. Pure. */
export function lockedEntry(lockfile: Lockfile, name: string, context: NotLockedContext = {}): LockedModel {
  if (!Object.hasOwn(lockfile.models, name)) throw notLocked(lockfile, [name], context);
  return lockfile.models[name]!;
}
