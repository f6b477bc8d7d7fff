import { stat } from "node:fs/promises";
import { ModelGuardError } from "../errors.js";
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

function sizeMismatch(ref: FileRef, locked: LockedFile, actual: number): ModelGuardError {
  return new ModelGuardError(
    "SIZE_MISMATCH",
    `model ${ref.model}: ${ref.file} is ${actual} bytes, the lockfile says ${locked.size}`,
    ref,
  );
}

function digestMismatch(ref: FileRef, locked: LockedFile, actual: string): ModelGuardError {
  return new ModelGuardError(
    "DIGEST_MISMATCH",
    `model ${ref.model}: ${ref.file} has sha256 ${actual}, the lockfile says ${locked.sha256}`,
    ref,
  );
}

async function guardOpen<T>(ref: FileRef, path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw notCached(ref, path, err);
    throw err;
  }
}

/** The file's bytes, read once and hashed once; returned only if size and sha256 match the lock. */
export async function readVerifiedFile(path: string, locked: LockedFile, ref: FileRef): Promise<Buffer> {
  const result = await guardOpen(ref, path, () => readAndHash(path, locked.size));
  if (result.kind === "size-mismatch") throw sizeMismatch(ref, locked, result.actualSize);
  if (result.sha256 !== locked.sha256) throw digestMismatch(ref, locked, result.sha256);
  return result.bytes;
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
  const { size } = await guardOpen(ref, path, () => stat(path));
  if (size !== locked.size) throw sizeMismatch(ref, locked, size);
  const result = await guardOpen(ref, path, () => hasher(path, size));
  if (result.size !== locked.size) throw sizeMismatch(ref, locked, result.size);
  if (result.sha256 !== locked.sha256) throw digestMismatch(ref, locked, result.sha256);
  return result.size;
}
