import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export interface WriteFileAtomicOptions {
  /** The new file's mode (the umask applies); default 0o644. */
  mode?: number;
  /** Moves the finished temporary file onto `path`; default `fs.rename`. The cache passes one that names a directory in the way. */
  rename?: (from: string, to: string) => Promise<void>;
}

/**
 * Writes to a temporary file beside the target, flushes it, then renames it over the target and
 * flushes the folder: a crash, a kill or a full disk leaves either the old file or the new one,
 * never half of one. Every whole-file write of modelguard goes through here (the lockfile,
 * `sign-model`'s signature, `bom --output`, the cache's refs).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await (options.rename ?? rename)(temp, path);
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
