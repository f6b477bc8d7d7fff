import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { ModelGuardError } from "../errors.js";
import { writeFileAtomic } from "../io/write-file-atomic.js";
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

/** Sorted, indented, written atomically: a crash or a full disk never leaves half a lockfile. */
export async function writeLockfile(path: string, lockfile: Lockfile): Promise<void> {
  await writeFileAtomic(path, serializeLockfile(lockfile));
}
