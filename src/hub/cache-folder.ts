import { lstat, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ModelGuardError } from "../errors.js";
import { cacheWriteError } from "./cache-write-error.js";

/**
 * A folder inside the cache, made (or entered) one segment at a time, each of which must be a real
 * directory. Someone who can write the cache could plant a symlinked folder in it
 * (`snapshots/{commit}/onnx -> /elsewhere`, `blobs -> /elsewhere`); a recursive mkdir and a rename
 * would follow it and replace a file outside the cache. So no symlink below the cache root is
 * followed when writing: it is refused with UNSAFE_PATH. The root itself is the user's choice and
 * may be a symlink. (Symlinked files at snapshot paths are the Hugging Face layout and are only
 * ever replaced, never written through: a rename replaces the link itself.)
 *
 * Node has no openat(2), so a folder swapped for a symlink between this check and the write that
 * follows (microseconds) is not caught: that needs a racing writer already inside the cache.
 */
export async function cacheFolder(cacheDir: string, segments: readonly string[], what: string): Promise<string> {
  try {
    await mkdir(cacheDir, { recursive: true });
  } catch (err) {
    throw cacheWriteError(what, err);
  }
  let path = cacheDir;
  for (const segment of segments) {
    path = join(path, segment);
    try {
      await mkdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw cacheWriteError(what, err);
    }
    const stats = await lstat(path).catch((err: unknown) => Promise.reject(cacheWriteError(what, err)));
    if (stats.isSymbolicLink()) {
      throw new ModelGuardError("UNSAFE_PATH", `${what}: ${path} is a symbolic link inside the cache; refusing to write through it (remove it)`);
    }
    if (!stats.isDirectory()) {
      throw new ModelGuardError("UNSAFE_PATH", `${what}: ${path} is in the way of a cache folder and is not a directory (remove it)`);
    }
  }
  return path;
}
