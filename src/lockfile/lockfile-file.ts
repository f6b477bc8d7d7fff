import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ModelGuardError } from "../errors.js";
import { serializeLockfile } from "./serialize.js";
import type { Lockfile } from "./types.js";
import { parseLockfile } from "./validate.js";

export async function readLockfile(path: string): Promise<Lockfile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ModelGuardError("LOCKFILE_NOT_FOUND", `lockfile not found: ${path}`);
    }
    throw new ModelGuardError("LOCKFILE_INVALID", `cannot read lockfile ${path}: ${(err as Error).message}`);
  }
  return parseLockfile(text, path);
}

/**
 * Writes to a temporary file beside the target, flushes it, then renames it over the target: a
 * crash or a full disk leaves either the old lockfile or the new one, never half of one.
 */
export async function writeLockfile(path: string, lockfile: Lockfile): Promise<void> {
  const text = serializeLockfile(lockfile);
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  // The rename is durable only once the directory entry is flushed.
  const dirHandle = await open(dir, "r").catch(() => undefined);
  if (dirHandle) {
    await dirHandle.sync().catch(() => undefined);
    await dirHandle.close();
  }
}
