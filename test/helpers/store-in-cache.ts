/**
 * Test-only: puts bytes a test made into the cache through the library's own placement
 * (blobs/ + snapshot symlink), checked against their lock entry first. Not shipped: the library
 * only ever places bytes it downloaded and hashed itself.
 */
import { randomBytes } from "node:crypto";
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { ModelGuardError } from "../../src/errors.js";
import { sha256Hex } from "../../src/digest/sha256.js";
import { cacheWriteError, checkSizeOnDisk, writeFully } from "../../src/hub/cache-write-error.js";
import { blobsFolder, placeVerifiedFile } from "../../src/hub/store-in-cache.js";
import type { LockedFile } from "../../src/lockfile/types.js";

/** Puts bytes already in memory into the cache, checking them against their lock entry first. */
export async function storeInCache(
  cacheDir: string,
  repo: string,
  revision: string,
  filePath: string,
  bytes: Uint8Array,
  locked: Pick<LockedFile, "size" | "sha256">,
): Promise<string> {
  const digest = sha256Hex(bytes);
  if (bytes.length !== locked.size || digest !== locked.sha256) {
    throw new ModelGuardError("DIGEST_MISMATCH", `${filePath}: refusing to cache bytes that do not match the lock`, { file: filePath });
  }
  const blobs = await blobsFolder(cacheDir, repo, filePath);
  const temp = join(blobs, `.modelguard-${randomBytes(8).toString("hex")}.part`);
  try {
    try {
      const handle = await open(temp, "wx", 0o644);
      try {
        await writeFully(handle, bytes, bytes.length, 0);
        await handle.sync();
        await checkSizeOnDisk(handle, bytes.length, filePath);
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw cacheWriteError(filePath, err);
    }
    return await placeVerifiedFile(cacheDir, repo, revision, filePath, temp, digest);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
