import type { FileHandle } from "node:fs/promises";
import { ModelGuardError } from "../errors.js";

/** What an errno means for someone whose cache could not be written. */
const REASONS: Record<string, string> = {
  ENOSPC: "the file system is full (ENOSPC)",
  EDQUOT: "the disk quota is used up (EDQUOT)",
  EFBIG: "the file would exceed the file-size limit (EFBIG)",
  EROFS: "the file system is read-only (EROFS)",
  EACCES: "permission denied (EACCES)",
  EPERM: "operation not permitted (EPERM)",
  EMFILE: "too many open files (EMFILE: raise `ulimit -n`)",
  ENFILE: "too many open files in the system (ENFILE)",
  EIO: "an I/O error (EIO)",
};

/** CACHE_WRITE_FAILED (exit 3) for a write, mkdir or rename into the cache that failed, naming the reason. */
export function cacheWriteError(what: string, err: unknown, extra: { model?: string; file?: string } = {}): ModelGuardError {
  if (err instanceof ModelGuardError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const reason = (code && REASONS[code]) ?? (err as Error)?.message ?? String(err);
  return new ModelGuardError("CACHE_WRITE_FAILED", `${what}: cannot write to the cache: ${reason}`, { ...extra, cause: err });
}

/**
 * Writes all of `buffer[0, length)` at `position`. A write the kernel cuts short (a full file
 * system, a file-size limit) is continued; one that writes nothing fails as ENOSPC: the caller
 * never counts bytes that did not reach the file.
 */
export async function writeFully(file: FileHandle, buffer: Uint8Array, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await file.write(buffer, done, length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error("no space left on device: a write wrote nothing"), { code: "ENOSPC" });
    done += bytesWritten;
  }
}

/** The file's size on disk is the size its bytes were checked at, before it may be renamed into place. */
export async function checkSizeOnDisk(file: FileHandle, expected: number, what: string): Promise<void> {
  const { size } = await file.stat();
  if (size !== expected) {
    throw new ModelGuardError("CACHE_WRITE_FAILED", `${what}: cannot write to the cache: ${size} of ${expected} bytes reached the disk`);
  }
}
