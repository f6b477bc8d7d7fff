/**
 * The hash pool's worker (see hash-pool.ts): one job at a time, posted as `{ id, op, ... }`,
 * answered `{ id, result }` or `{ id, error: { message, code } }`.
 *
 * Reads go into page-aligned memory (a WebAssembly memory's buffer starts on a page boundary; a
 * large Buffer starts 16 bytes into one): on this machine's CPU the kernel copies into 64-byte
 * aligned memory several times faster (see the README's verify benchmark). The next chunk is read
 * while this one is hashed (and, for a copy, written): the loop is readChunks, as on the main thread.
 *
 * - digest: a hash of a file or a range of it. The same as `digestFile`, on this thread's memory.
 * - copy: a private verified copy: the cached file (refused unless a regular file; opened
 *   O_NONBLOCK so a FIFO cannot hang us) is read once, each chunk hashed and written from the same
 *   buffer to a new file (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0400); one byte past the expected size is
 *   read to catch a file that grew; the copy's fstat after the last write is returned, so the
 *   caller can tell any later change.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { parentPort } from "node:worker_threads";
import type { CopyResult, HashJob } from "./hash-pool.js";
import { openRegularFile } from "./open-regular-file.js";
import { CHUNK, readChunks } from "./read-chunks.js";

// The global exists in every Node; lib ES2022 and @types/node 20 do not declare it.
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer } };

const memory = new WebAssembly.Memory({ initial: (3 * CHUNK) / 65536 });
const buffers = [0, 1, 2].map((i) => Buffer.from(memory.buffer, i * CHUNK, CHUNK));

async function writeAll(handle: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error("short write"), { code: "ENOSPC" });
    done += bytesWritten;
  }
}

async function digest(job: Extract<HashJob, { op: "digest" }>): Promise<{ size: number; digest: string }> {
  const { handle } = await openRegularFile(job.path, { noFollow: job.noFollow ?? false });
  try {
    const hash = createHash(job.algorithm);
    const range = { start: job.start, ...(job.end === undefined ? {} : { end: job.end }) };
    const size = await readChunks(handle, { ...range, bufferFor: (i, _at, length) => buffers[i % 2]!.subarray(0, length) }, (chunk) => hash.update(chunk));
    return { size, digest: hash.digest("hex") };
  } finally {
    await handle.close();
  }
}

async function copy({ source, target, size }: Extract<HashJob, { op: "copy" }>): Promise<CopyResult> {
  const { handle: src, stats } = await openRegularFile(source);
  try {
    if (stats.size !== size) return { kind: "size-mismatch", actualSize: stats.size };
    const dst = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o400);
    try {
      const hash = createHash("sha256");
      // Three buffers: one being read into, one being written from, one waiting for its write.
      const writes: (Promise<void> | undefined)[] = [undefined, undefined, undefined];
      let chunks = 0;
      const bufferFor = async (i: number, _at: number, length: number): Promise<Buffer> => {
        await writes[i % 3];
        return buffers[i % 3]!.subarray(0, length);
      };
      const read = await readChunks(src, { end: size, bufferFor }, (chunk, at) => {
        writes[chunks++ % 3] = writeAll(dst, chunk, at);
        hash.update(chunk);
      });
      await Promise.all(writes);
      const extra = read === size ? (await src.read(Buffer.alloc(1), 0, 1, size)).bytesRead : 0;
      if (read !== size || extra !== 0) return { kind: "size-mismatch", actualSize: read + extra };
      const s = await dst.stat({ bigint: true });
      const identity = { dev: s.dev, ino: s.ino, size: s.size, mode: s.mode, nlink: s.nlink, mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
      return { kind: "copied", size, sha256: hash.digest("hex"), identity };
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

parentPort?.on("message", async (job: HashJob & { id: number }) => {
  try {
    const result = job.op === "copy" ? await copy(job) : await digest(job);
    parentPort!.postMessage({ id: job.id, result });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: { message: (err as Error).message, code: (err as NodeJS.ErrnoException).code } });
  }
});
