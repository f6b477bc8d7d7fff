import { randomBytes } from "node:crypto";
import { rename, symlink, unlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { ModelGuardError } from "../errors.js";
import { writeFileAtomic } from "../io/write-file-atomic.js";
import { cacheFolder } from "./cache-folder.js";
import { cacheWriteError } from "./cache-write-error.js";
import { repoFolderName, snapshotFilePath } from "./cache-layout.js";

export function blobsDir(cacheDir: string, repo: string): string {
  return join(cacheDir, repoFolderName(repo), "blobs");
}

/** `blobs/` of a repo, made if needed, refused if it or the repo folder is a symlink (see cacheFolder). */
export function blobsFolder(cacheDir: string, repo: string, what: string): Promise<string> {
  return cacheFolder(cacheDir, [repoFolderName(repo), "blobs"], what);
}

/**
 * The name a verified file gets in `blobs/`: the Hub's ETag, as huggingface_hub names blobs, but
 * only where the ETag is a digest we computed of these very bytes (the sha256 of an LFS file, the
 * git blob SHA-1 of a regular one). An ETag taken on the server's word could name another file's
 * blob, and a rename would then replace that blob with different bytes; the sha256 always fits.
 */
export function blobNameFor(file: { sha256: string; gitBlobSha1?: string; etag?: string }): string {
  return file.etag !== undefined && (file.etag === file.sha256 || file.etag === file.gitBlobSha1) ? file.etag : file.sha256;
}

const HEX_DIGEST = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * Moves a verified temporary file to `blobs/{blobNameFor(...)}` and links `snapshots/{commit}/{path}` to it
 * with a relative symlink, as huggingface_hub lays the cache out (so its tools find our files).
 * Both steps are renames, so a reader sees the old state or the new, and a concurrent process
 * doing the same for the same file ends with the same bytes in place. Call only after the bytes
 * were checked: nothing unverified may reach a snapshot path.
 */
export async function placeVerifiedFile(
  cacheDir: string,
  repo: string,
  revision: string,
  filePath: string,
  tempPath: string,
  blobName: string,
): Promise<string> {
  if (!HEX_DIGEST.test(blobName)) throw new Error(`blob name ${JSON.stringify(blobName)} is not a digest (use blobNameFor)`);
  const target = snapshotFilePath(cacheDir, repo, revision, filePath);
  const blob = join(await blobsFolder(cacheDir, repo, filePath), blobName);
  const folders = [repoFolderName(repo), "snapshots", revision, ...filePath.split("/").slice(0, -1)];
  const folder = await cacheFolder(cacheDir, folders, filePath);
  await renameInto(tempPath, blob, filePath);
  const link = `${target}.${randomBytes(6).toString("hex")}.link`;
  try {
    await symlink(relative(folder, blob), link);
    await renameInto(link, target, filePath);
  } catch (err) {
    await unlink(link).catch(() => undefined);
    throw cacheWriteError(filePath, err);
  }
  return target;
}

/** A rename into the cache; a directory in the way is named (UNSAFE_PATH), never followed or removed. */
async function renameInto(from: string, to: string, what: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST") {
      throw new ModelGuardError("UNSAFE_PATH", `${what}: ${to} in the cache is a directory; refusing to replace it (remove it)`, { file: what });
    }
    throw cacheWriteError(what, err);
  }
}

/** `refs/{ref}` holds the commit a branch or tag pointed to when it was resolved, as huggingface_hub writes it. */
export async function writeRef(cacheDir: string, repo: string, ref: string, commit: string): Promise<void> {
  if (ref === commit || ref.includes("..") || ref.startsWith("/")) return;
  const parts = ref.split("/");
  const folder = await cacheFolder(cacheDir, [repoFolderName(repo), "refs", ...parts.slice(0, -1)], `refs/${ref}`);
  const path = join(folder, parts[parts.length - 1]!);
  try {
    // 0o666 less the umask, as huggingface_hub writes refs: a group-shared cache stays shared.
    await writeFileAtomic(path, commit, { mode: 0o666, rename: (from, to) => renameInto(from, to, `refs/${ref}`) });
  } catch (err) {
    throw cacheWriteError(`refs/${ref}`, err);
  }
}
