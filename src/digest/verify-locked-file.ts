import { stat } from "node:fs/promises";
import { ModelGuardError, type SizeAndDigest } from "../errors.js";
import { checkLock, type LockCheckOptions } from "./lock-check.js";
import { NOT_REGULAR, describeFileType } from "./open-regular-file.js";
import { hashFile, readAndHash } from "./read-and-hash.js";
import type { LockedFile } from "../lockfile/types.js";

/** Which locked file of which model: every message names both. */
export interface FileRef {
  model: string;
  file: string;
}

function notCached(ref: FileRef, path: string, err: unknown): ModelGuardError {
  return new ModelGuardError(
    "NOT_CACHED",
    `model ${ref.model}: ${ref.file} is not in the cache (${path}); run \`modelguard pull ${ref.model}\``,
    { ...ref, cause: err },
  );
}

/** What to do about a cached file that is not the locked one: it can be fetched again, but it did not change by itself. */
function repairHint(ref: FileRef): string {
  return `the cached copy is not the locked file: run \`modelguard pull ${ref.model}\` to replace it from the Hub, or find out what changed it`;
}

/**
 * A cached file's bytes (or copy) against its lock entry: checkLock with the cache's wording.
 * `actual.sha256` is absent where the size was refused before hashing.
 */
export function checkCachedFile(ref: FileRef, locked: LockedFile, actual: SizeAndDigest, options: LockCheckOptions = {}): void {
  checkLock(
    locked,
    actual,
    ({ code }) =>
      code === "SIZE_MISMATCH"
        ? `model ${ref.model}: ${ref.file} is ${actual.size} bytes, the lockfile says ${locked.size}; ${repairHint(ref)}`
        : `model ${ref.model}: ${ref.file} has sha256 ${actual.sha256}, the lockfile says ${locked.sha256}; ${repairHint(ref)}`,
    ref,
    options,
  );
}

/** A read's or a copy's result (readAndHash, the hash pool's copy), returned only if it is the locked file. */
export function checkedResult<R extends { kind: "read" | "copied"; sha256: string }>(
  ref: FileRef,
  locked: LockedFile,
  result: R | { kind: "size-mismatch"; actualSize: number },
): R {
  if (result.kind === "size-mismatch") {
    checkCachedFile(ref, locked, { size: result.actualSize }, { sizeDiffers: true });
    throw new Error("unreachable: sizeDiffers always throws");
  }
  // Not size-mismatch: the reader read exactly the locked size.
  checkCachedFile(ref, locked, { size: locked.size, sha256: result.sha256 });
  return result as R;
}

function notRegular(ref: FileRef, path: string, what: string, cause?: unknown): ModelGuardError {
  return new ModelGuardError(
    "UNSAFE_PATH",
    `model ${ref.model}: ${ref.file} in the cache (${path}) is ${what}, not a regular file; refusing to read it`,
    { ...ref, ...(cause === undefined ? {} : { cause }) },
  );
}

/** Every way reading a cached file can fail, as a ModelGuardError naming the model and file. */
async function guardOpen<T>(ref: FileRef, path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ModelGuardError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw notCached(ref, path, err);
    if (code === NOT_REGULAR) throw notRegular(ref, path, (err as Error).message.replace(/^.* is (.*), not a regular file$/, "$1"), err);
    if (code === "EISDIR") throw notRegular(ref, path, "a directory", err);
    if (code === "ELOOP") throw new ModelGuardError("UNSAFE_PATH", `model ${ref.model}: ${ref.file} in the cache (${path}) is a symlink loop`, { ...ref, cause: err });
    if (typeof code === "string") {
      const hint = code === "EMFILE" || code === "ENFILE" ? " (too many open files: raise `ulimit -n`)" : "";
      throw new ModelGuardError("CACHE_READ_FAILED", `model ${ref.model}: cannot read ${ref.file} from the cache (${path}): ${code}${hint}`, { ...ref, cause: err });
    }
    throw err;
  }
}

/** The file's bytes, read once and hashed once; returned only if size and sha256 match the lock. */
export async function readVerifiedFile(path: string, locked: LockedFile, ref: FileRef): Promise<Buffer> {
  const result = await guardOpen(ref, path, () => readAndHash(path, locked.size));
  return checkedResult(ref, locked, result).bytes;
}

/**
 * Checks a file against its lock entry by streaming it, keeping no bytes: the `verify` gate.
 * A wrong size is caught from the file's metadata before any byte is read. Returns the bytes hashed.
 */
export async function checkLockedFile(
  path: string,
  locked: LockedFile,
  ref: FileRef,
  hasher: (path: string, size: number) => Promise<{ size: number; sha256: string }> = hashFile,
): Promise<number> {
  const stats = await guardOpen(ref, path, () => stat(path));
  // Before a byte is read: the hasher opens the path again and checks what it opened too.
  if (!stats.isFile()) throw notRegular(ref, path, describeFileType(stats));
  const { size } = stats;
  checkCachedFile(ref, locked, { size });
  const result = await guardOpen(ref, path, () => hasher(path, size));
  checkCachedFile(ref, locked, result);
  return result.size;
}
