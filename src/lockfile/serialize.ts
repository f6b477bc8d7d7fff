import type { Lockfile } from "./types.js";

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    // fromEntries defines each key as data: `out[key] = v` would make a key named "__proto__"
    // set the prototype instead, and the field would vanish from the file.
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** Keys sorted, 2-space indent, trailing newline: a diff shows exactly what changed. */
export function serializeLockfile(lockfile: Lockfile): string {
  return `${JSON.stringify(sortKeys(lockfile), null, 2)}\n`;
}
