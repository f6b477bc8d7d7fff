import { lstat, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";

/** A download writes its `.part` file continuously; one untouched this long belongs to a dead process. */
export const STALE_PART_MS = 60 * 60 * 1000;

/**
 * Removes `.modelguard-*.part` files a killed download left in a `blobs/` folder. Only old ones:
 * another process may be downloading into a fresh one right now. Never fails the caller.
 */
export async function removeStaleParts(blobs: string, now = Date.now(), maxAgeMs = STALE_PART_MS): Promise<string[]> {
  // A `blobs` that is a symlink leads out of the cache: nothing there is ours to remove.
  if (!(await lstat(blobs).catch(() => undefined))?.isDirectory()) return [];
  const names = await readdir(blobs).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!/^\.modelguard-[0-9a-f]+\.part$/.test(name)) continue;
    const path = join(blobs, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > maxAgeMs) {
      await rm(path, { force: true }).catch(() => undefined);
      removed.push(path);
    }
  }
  return removed;
}
