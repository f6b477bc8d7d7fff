import { createHash } from "node:crypto";
import pLimit from "p-limit";
import { ContentDigests } from "./content-digests.js";
import { openRegularFile } from "./open-regular-file.js";
import { CHUNK, alternatingBuffers, readChunks } from "./read-chunks.js";

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
    // Each chunk is read straight into its place in `bytes`.
    const read = await readChunks(handle, { end: expectedSize, bufferFor: (_i, at, length) => bytes.subarray(at, at + length) }, (chunk) => hash.update(chunk));
    const extra = (await handle.read(Buffer.alloc(1), 0, 1, read)).bytesRead;
    if (read !== expectedSize || extra !== 0) return { kind: "size-mismatch", actualSize: read + extra };
    return { kind: "read", bytes, sha256: hash.digest("hex") };
  } finally {
    await handle.close();
  }
}

/**
 * Streams a file through SHA-256 with reused chunk buffers: for checks that keep no bytes.
 * With `expectedSize`, reads at most one byte more than that, so a file that never ends (a device
 * behind a symlink, one being appended to) cannot keep it reading.
 */
export async function hashFile(path: string, expectedSize?: number): Promise<{ size: number; sha256: string }> {
  const { size, sha256 } = await hashContent(path, expectedSize, false);
  return { size, sha256 };
}

/**
 * SHA-256 and, in the same pass, the git blob SHA-1 (`sha1("blob {size}\0" + bytes)`, what the
 * Hub lists as `oid` of a regular file) of a file of known size.
 */
export async function hashFileWithGitOid(path: string, size: number): Promise<{ size: number; sha256: string; gitBlobSha1: string }> {
  const result = await hashContent(path, size, true);
  return { ...result, gitBlobSha1: result.gitBlobSha1! };
}

function hashContent(path: string, expectedSize: number | undefined, gitBlobSha1: boolean): Promise<{ size: number; sha256: string; gitBlobSha1?: string }> {
  return openFiles(async () => {
    const { handle } = await openRegularFile(path);
    try {
      const digests = new ContentDigests(expectedSize ?? 0, gitBlobSha1);
      const end = expectedSize === undefined ? Infinity : expectedSize + 1;
      const size = await readChunks(handle, { end, bufferFor: alternatingBuffers(bufferSize(0, end)) }, (chunk) => digests.update(chunk));
      return { size, ...digests.digest() };
    } finally {
      await handle.close();
    }
  });
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
  return openFiles(async () => {
    const { handle } = await openRegularFile(path, { noFollow: options.noFollow ?? false });
    try {
      const hash = createHash(options.algorithm ?? "sha256");
      const start = options.start ?? 0;
      const end = options.end ?? Infinity;
      const size = await readChunks(handle, { start, end, bufferFor: alternatingBuffers(bufferSize(start, end)) }, (chunk) => hash.update(chunk));
      return { size, digest: hash.digest("hex") };
    } finally {
      await handle.close();
    }
  });
}

/** Chunk buffers no larger than the range: a small file is not read through 8 MiB buffers. */
function bufferSize(start: number, end: number): number {
  return Math.max(1, Math.min(CHUNK, end - start));
}
