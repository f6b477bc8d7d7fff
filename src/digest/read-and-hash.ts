import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";

const CHUNK = 8 * 1024 * 1024;

/** The bytes of one file as read, with the SHA-256 of exactly those bytes; or the length found. */
export type ReadAndHashResult =
  | { kind: "read"; bytes: Buffer; sha256: string }
  | { kind: "size-mismatch"; actualSize: number };

async function readInto(handle: FileHandle, target: Buffer): Promise<number> {
  let filled = 0;
  while (filled < target.length) {
    const { bytesRead } = await handle.read(target, filled, Math.min(CHUNK, target.length - filled), null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/**
 * Reads a file once into one preallocated buffer and hashes those same bytes: the buffer that is
 * hashed is the buffer handed on, so nothing is re-opened by path after the check. Reads at most
 * `expectedSize + 1` bytes through one open handle, so a longer file is caught without reading it
 * all, and a file that grows or shrinks while being read is caught too.
 */
export async function readAndHash(path: string, expectedSize: number): Promise<ReadAndHashResult> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size !== expectedSize) return { kind: "size-mismatch", actualSize: size };
    const bytes = Buffer.allocUnsafe(expectedSize);
    const filled = await readInto(handle, bytes);
    const extra = (await handle.read(Buffer.alloc(1), 0, 1, null)).bytesRead;
    if (filled !== expectedSize || extra !== 0) return { kind: "size-mismatch", actualSize: filled + extra };
    return { kind: "read", bytes, sha256: createHash("sha256").update(bytes).digest("hex") };
  } finally {
    await handle.close();
  }
}

/** Streams a file through SHA-256 with one reused chunk buffer: for checks that keep no bytes. */
export async function hashFile(path: string): Promise<{ size: number; sha256: string }> {
  const handle = await open(path, "r");
  try {
    const hash = createHash("sha256");
    const chunk = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, sha256: hash.digest("hex") };
  } finally {
    await handle.close();
  }
}
