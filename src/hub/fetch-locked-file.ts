import { rm } from "node:fs/promises";
import { checkLock } from "../digest/lock-check.js";
import { ModelGuardError, withErrorContext } from "../errors.js";
import type { LockedFile, LockedModel } from "../lockfile/types.js";
import { downloadFile, downloadOptionsOf } from "./download-file.js";
import type { HubOptions } from "./hub-options.js";
import type { OnRetry, RetryPolicy } from "./retry.js";
import { blobNameFor, blobsFolder, placeVerifiedFile } from "./store-in-cache.js";

const GIT_FILE_LIMIT = 10 * 1000 * 1000;

export interface FetchProgress {
  onProgress?: (bytes: number) => void;
  /** Default: the hub options' `onRetry`. */
  onRetry?: OnRetry;
  /** Default: the hub options' `retry`. */
  retry?: RetryPolicy;
}

/**
 * Downloads one locked file into the cache: streamed to a temporary file in `blobs/` while it is
 * hashed, held to the lock entry's size and sha256 (checkLock), and only then placed
 * (placeVerifiedFile, which places what it is told is verified). On a mismatch or a failed write
 * the temporary file is removed, so nothing unverified stays behind. With `keepBytes` the same
 * bytes that were hashed come back in memory, so a load needs no second read.
 */
export async function fetchLockedFile(
  hub: HubOptions,
  ref: { model: string; file: string },
  entry: Pick<LockedModel, "repo" | "revision">,
  locked: LockedFile,
  options: FetchProgress & { keepBytes?: boolean } = {},
): Promise<Buffer | undefined> {
  if (hub.offline) {
    throw new ModelGuardError("NOT_CACHED", `model ${ref.model}: ${ref.file} is not cached and HF_HUB_OFFLINE is set`, ref);
  }
  const tempDir = await blobsFolder(hub.cacheDir, entry.repo, `model ${ref.model}: ${ref.file}`).catch((err: unknown) =>
    Promise.reject(withErrorContext(err, ref)),
  );
  const downloaded = await downloadFile({
    ...downloadOptionsOf(hub),
    repo: entry.repo,
    revision: entry.revision,
    path: ref.file,
    size: locked.size,
    tempDir,
    // The Hub keeps files over 10 MB in LFS (ETag: the sha256); smaller ones may be plain git
    // files, whose ETag is the git blob SHA-1: computing it lets the blob keep the Hub's name.
    gitBlobSha1: locked.size <= GIT_FILE_LIMIT,
    ...(options.keepBytes ? { keepBytes: true } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
  }).catch((err: unknown) => {
    throw err instanceof ModelGuardError && err.model === undefined ? withErrorContext(err, { prefix: `model ${ref.model}`, ...ref }) : err;
  });
  try {
    checkLock(
      locked,
      downloaded,
      ({ code }) =>
        code === "SIZE_MISMATCH"
          ? `model ${ref.model}: the Hub served ${ref.file} as ${downloaded.size} bytes, the lockfile says ${locked.size}; nothing was cached`
          : `model ${ref.model}: the Hub served ${ref.file} with sha256 ${downloaded.sha256}, the lockfile says ${locked.sha256}; nothing was cached`,
      ref,
    );
  } catch (err) {
    await rm(downloaded.tempPath, { force: true });
    throw err;
  }
  try {
    await placeVerifiedFile(hub.cacheDir, entry.repo, entry.revision, ref.file, downloaded.tempPath, blobNameFor(downloaded));
  } catch (err) {
    await rm(downloaded.tempPath, { force: true });
    throw withErrorContext(err, { prefix: `model ${ref.model}`, ...ref });
  }
  return downloaded.bytes;
}
