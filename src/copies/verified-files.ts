import { constants, type BigIntStats } from "node:fs";
import { lstat, mkdir, mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelGuardError } from "../errors.js";
import { checkedResult, type FileRef } from "../digest/verify-locked-file.js";
import type { CopyIdentity, CopyResult } from "../digest/hash-pool.js";
import type { LockedFile } from "../lockfile/types.js";
import type { VerifiedBytes, VerifiedFiles } from "../runtimes/runtime-adapter.js";

/**
 * Private verified copies of locked files (see `copy-root.ts` for where they live).
 *
 * Each copy is written from the very buffers that are hashed, in one pass over the cached file
 * (`CopyFile`, run on the hash pool's workers); only when size and sha256 match the lock is its
 * path handed out. The copy is a fresh 0400 file (O_CREAT|O_EXCL|O_NOFOLLOW) in a fresh 0700
 * folder, so after the copy nothing done to the cache (a rename over it, a write in place, a
 * truncation, before, during or after the load) can reach what the runtime reads.
 *
 * What a process of the same user can still do, and what is detected: it may open our folder (it
 * owns it too). `check()` compares every copy, through the handle we keep and by its path, with
 * what the copying worker saw right after its last write (inode, size, mode, link count,
 * modification and change times, ns resolution): a write, truncation, chmod, hard link or rename
 * over the path after the copy is detected and fails closed with COPY_CHANGED. Not detected: a
 * write that lands while the copy is still being written (our own later writes set the times), or
 * a write through a handle opened before the copy was released, made after `check()`; the adapters
 * release (unlink) copies as soon as the runtime has mapped them, which ends the window in which a
 * name exists. Root and ptrace-capable processes are out of scope (they can change the process).
 */

/** Copies `source` to a new file `target` (mode 0400), hashing the bytes it writes; reads at most size + 1 bytes. */
export type CopyFile = (source: string, target: string, size: number) => Promise<CopyResult>;

export interface CopyRequest {
  ref: FileRef;
  /** The cached file to copy. */
  source: string;
  locked: LockedFile;
}

export function identityOf(st: BigIntStats): CopyIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mode: st.mode, nlink: st.nlink, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

function sameIdentity(a: CopyIdentity, b: CopyIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mode === b.mode && a.nlink === b.nlink && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

interface Held {
  file: string;
  path: string;
  handle: FileHandle;
  identity: CopyIdentity;
  ref: FileRef;
}

/**
 * Makes private verified copies of `requests` in a new folder inside `folder`, laid out by locked
 * path. Throws (after removing everything it made) the first failure: NOT_CACHED, SIZE_MISMATCH,
 * DIGEST_MISMATCH, UNSAFE_PATH (not a regular file), COPY_FAILED (no room), COPY_CHANGED.
 */
export async function makeVerifiedFiles(folder: string, requests: readonly CopyRequest[], copyFile: CopyFile): Promise<VerifiedFiles> {
  const dir = await mkdtemp(join(folder, "load-"));
  const held: Held[] = [];
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    await Promise.all(held.map((h) => h.handle.close().catch(() => undefined)));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const settled = await Promise.allSettled(
      requests.map(async ({ ref, source, locked }) => {
        const path = join(dir, ref.file);
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        const copied = await copyFile(source, path, locked.size).catch((err: unknown) => {
          throw copyError(ref, source, folder, err);
        });
        const result = checkedResult(ref, locked, copied);
        const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
        held.push({ file: ref.file, path, handle, identity: result.identity, ref });
      }),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    const files: VerifiedFiles = {
      dir,
      paths: Object.fromEntries(held.map((h) => [h.file, h.path])),
      bytes: (file) => bytesOf(held, file),
      check: async () => {
        for (const h of held) await checkCopy(h);
      },
      release,
    };
    // What the worker saw after its last write must still hold now that we hold the file open.
    await files.check();
    return files;
  } catch (err) {
    await release();
    throw err;
  }
}

async function checkCopy(h: Held): Promise<void> {
  const [viaHandle, viaPath] = await Promise.all([h.handle.stat({ bigint: true }), lstat(h.path, { bigint: true }).catch(() => undefined)]);
  if (!sameIdentity(identityOf(viaHandle), h.identity) || !viaPath || !sameIdentity(identityOf(viaPath), h.identity)) {
    throw new ModelGuardError(
      "COPY_CHANGED",
      `model ${h.ref.model}: the private verified copy of ${h.ref.file} (${h.path}) changed after it was made; refusing what was loaded from it`,
      h.ref,
    );
  }
}

function bytesOf(held: readonly Held[], file: string): VerifiedBytes {
  const h = held.find((x) => x.file === file);
  if (!h) throw new ModelGuardError("FILE_NOT_LOCKED", `${file} is not among these verified copies`, { file });
  return {
    file,
    size: Number(h.identity.size),
    read: async (position, length) => {
      const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(length, Number(h.identity.size) - position)));
      let done = 0;
      while (done < buffer.length) {
        const { bytesRead } = await h.handle.read(buffer, done, buffer.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer.subarray(0, done);
    },
  };
}

function copyError(ref: FileRef, source: string, folder: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new ModelGuardError("NOT_CACHED", `model ${ref.model}: ${ref.file} is not in the cache (${source}); run \`modelguard pull ${ref.model}\``, { ...ref, cause: err });
  }
  if (code === "ENOTREG") {
    return new ModelGuardError("UNSAFE_PATH", `model ${ref.model}: ${ref.file} in the cache (${source}) is not a regular file`, { ...ref, cause: err });
  }
  if (code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG") {
    return new ModelGuardError(
      "COPY_FAILED",
      `model ${ref.model}: no room to make the private verified copy of ${ref.file} in ${folder} (${code}); free space there or set MODELGUARD_COPY_DIR (or the copyDir option) to a roomier folder`,
      { ...ref, cause: err },
    );
  }
  if (err instanceof ModelGuardError) return err;
  return new ModelGuardError("COPY_FAILED", `model ${ref.model}: cannot make the private verified copy of ${ref.file} in ${folder}: ${(err as Error).message}`, { ...ref, cause: err });
}
