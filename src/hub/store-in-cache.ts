import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, symlink, unlink } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { ModelGuardError } from "../errors.js";
import { sha256Hex } from "../digest/sha256.js";
import type { LockedFile } from "../lockfile/types.js";
import { repoFolderName, snapshotFilePath } from "./cache-layout.js";

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, "wx", 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Puts bytes that match their lock entry into the cache: `blobs/{sha256}` through a temporary file
 * and a rename, then `snapshots/{commit}/{path}` as a relative symlink to it, as huggingface_hub
 * lays it out. Checks the bytes first, so nothing unverified ever reaches a path a loader reads.
 * The blob is named by its sha256, which is the Hub's ETag for LFS files.
 */
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
  const blobs = join(cacheDir, repoFolderName(repo), "blobs");
  const blob = join(blobs, digest);
  const target = snapshotFilePath(cacheDir, repo, revision, filePath);
  await mkdir(blobs, { recursive: true });
  await mkdir(dirname(target), { recursive: true });
  const temp = join(blobs, `.${digest}.${randomBytes(6).toString("hex")}.incomplete`);
  try {
    await writeDurably(temp, bytes);
    await rename(temp, blob);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const link = `${target}.${randomBytes(6).toString("hex")}.link`;
  await symlink(relative(dirname(target), blob), link);
  try {
    await rename(link, target);
  } catch (err) {
    await unlink(link).catch(() => undefined);
    throw err;
  }
  return target;
}
