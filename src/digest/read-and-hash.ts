import { createHash } from "node:crypto";
import pLimit from "p-limit";
import { openRegularFile } from "./open-regular-file.js";

const CHUNK = 8 * 1024 * 1024;

/**
 * Files open at once for reading on this thread, across every caller: a model of 20,000 small
 * files is checked with a bounded number of descriptors, not one per file (EMFILE under `ulimit -n`).
 */
export const openFiles = pLimit(64);

/** The bytes of one file as read, with the SHA-256 of exactly those bytes; or the length found. */
export type ReadAndHashResult =
  | { kind: "read"; bytes: Buffer; sha256: string }
  | { kind: "size-mismatch"; actualSize: number };

/**
 * Reads a file once into one preallocated buffer and hashes those same bytes: the buffer that is
 * hashed is the buffer handed on, so nothing is re-opened by path after the check. The next chunk
 * is being read (on libuv's thread pool) while this one is hashed (on this thread), so a load costs
 * about max(read, hash). Reads at most `expectedSize + 1` bytes through one open handle, so a
 * longer file is caught without reading it all, and a file that grows or shrinks while being read
 * is caught too.
 */
export function readAndHash(path: string, expectedSize: number): Promise<ReadAndHashResult> {
  return openFiles(() => readAndHashNow(path, expectedSize));
}

async function readAndHashNow(path: string, expectedSize: number): Promise<ReadAndHashResult> {
  const { handle, stats } = await openRegularFile(path);
  try {
    const { size } = stats;
    if (size !== expectedSize) return { kind: "size-mismatch", actualSize: size };
    const bytes = Buffer.allocUnsafe(expectedSize);
    const hash = createHash("sha256");
    const readAt = (offset: number) => handle.read(bytes, offset, Math.min(CHUNK, expectedSize - offset), offset);
    let offset = 0;
    let next = expectedSize > 0 ? readAt(0) : undefined;
    while (next) {
      const { bytesRead } = await next;
      if (bytesRead === 0) break;
      const start = offset;
      offset += bytesRead;
      next = offset < expectedSize ? readAt(offset) : undefined;
      hash.update(bytes.subarray(start, offset));
    }
    const extra = (await handle.read(Buffer.alloc(1), 0, 1, offset)).bytesRead;
    if (offset !== expectedSize || extra !== 0) return { kind: "size-mismatch", actualSize: offset + extra };
    return { kind: "read", bytes, sha256: hash.digest("hex") };
  } finally {
    await handle.close();
  }
}

/**
 * Streams a file through SHA-256 with one reused chunk buffer: for checks that keep no bytes.
 * With `expectedSize`, reads at most one byte more than that, so a file that never ends (a device
 * behind a symlink, one being appended to) cannot keep it reading.
 */
export async function hashFile(path: string, expectedSize?: number): Promise<{ size: number; sha256: string }> {
  return hashFileWith(path, expectedSize);
}

/**
 * SHA-256 and, in the same pass, the git blob SHA-1 (`sha1("blob {size}\0" + bytes)`, what the
 * Hub lists as `oid` of a regular file) of a file of known size.
 */
export async function hashFileWithGitOid(path: string, size: number): Promise<{ size: number; sha256: string; gitBlobSha1: string }> {
  const sha1 = createHash("sha1").update(`blob ${size}\0`);
  const result = await hashFileWith(path, size, (chunk) => sha1.update(chunk));
  return { ...result, gitBlobSha1: sha1.digest("hex") };
}

function hashFileWith(path: string, expectedSize?: number, alsoUpdate?: (chunk: Buffer) => void): Promise<{ size: number; sha256: string }> {
  return openFiles(() => hashFileNow(path, expectedSize === undefined ? Infinity : expectedSize + 1, alsoUpdate));
}

async function hashFileNow(path: string, limit: number, alsoUpdate?: (chunk: Buffer) => void): Promise<{ size: number; sha256: string }> {
  const { handle } = await openRegularFile(path);
  try {
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    while (size < limit) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK, limit - size), null);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      alsoUpdate?.(chunk.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, sha256: hash.digest("hex") };
  } finally {
    await handle.close();
  }
}

/** What `digestFile` (and the hash pool) digest: a hash of all of a file, or of bytes [start, end). */
export interface DigestOptions {
  /** A Node hash name. Default sha256. */
  algorithm?: string;
  start?: number;
  /** Exclusive. Default: the end of the file. */
  end?: number;
  /** Refuse to open a symlink (O_NOFOLLOW): for a folder walked with lstat, where one swapped in later must not be followed. */
  noFollow?: boolean;
}

/** A digest of a file or of a range of it, streamed on this thread; `size` is the bytes hashed. */
export function digestFile(path: string, options: DigestOptions = {}): Promise<{ size: number; digest: string }> {
  return openFiles(() => digestFileNow(path, options));
}

async function digestFileNow(path: string, options: DigestOptions): Promise<{ size: number; digest: string }> {
  const { handle } = await openRegularFile(path, { noFollow: options.noFollow ?? false });
  try {
    const hash = createHash(options.algorithm ?? "sha256");
    const chunk = Buffer.allocUnsafe(CHUNK);
    const end = options.end ?? Infinity;
    let position = options.start ?? 0;
    while (position < end) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK, end - position), position);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      position += bytesRead;
    }
    return { size: position - (options.start ?? 0), digest: hash.digest("hex") };
  } finally {
    await handle.close();
  }
}
