import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ModelGuardError } from "../errors.js";
import { serializeLockfile } from "./serialize.js";
import type { Lockfile } from "./types.js";
import { parseLockfile } from "./validate.js";

/** Far beyond any real lockfile (a 20,000-file model locks in a few MiB); a bigger one is not read into memory. */
export const MAX_LOCKFILE_BYTES = 64 * 1024 * 1024;

/**
 * Reads and validates a lockfile. It must be a regular file (a FIFO or device at its path would
 * block or never end; it is opened non-blocking and checked before a byte is read) of at most
 * MAX_LOCKFILE_BYTES.
 */
export async function readLockfile(path: string): Promise<Lockfile> {
  let text: string;
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new ModelGuardError("LOCKFILE_INVALID", `lockfile ${path} is not a regular file`);
      if (info.size > MAX_LOCKFILE_BYTES) {
        throw new ModelGuardError("LOCKFILE_INVALID", `lockfile ${path} is ${info.size} bytes; a lockfile is at most ${MAX_LOCKFILE_BYTES}`);
      }
      // One byte more than it said it holds: a file that grows while it is read is caught, not cut.
      const buffer = Buffer.alloc(info.size + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0 || (length += bytesRead) === buffer.length) break;
      }
      if (length > info.size) throw new ModelGuardError("LOCKFILE_INVALID", `lockfile ${path} changed while it was being read; run again`);
      text = buffer.subarray(0, length).toString("utf8");
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof ModelGuardError) throw err;
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
