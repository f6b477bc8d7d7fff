import type { FileHandle } from "node:fs/promises";

/** How much one read asks for: large enough that the per-read cost vanishes, small enough to stay in cache. */
export const CHUNK = 8 * 1024 * 1024;

export interface ReadChunksOptions {
  /** Where to start reading. Default 0. */
  start?: number;
  /** Where to stop (exclusive); reading also stops at the end of the file. Default: the end of the file. */
  end?: number;
  /**
   * The memory read `index` goes to (`length` bytes, at most CHUNK), which must not be in use by
   * the chunk being handled: two buffers taken in turn, one region per chunk of a whole-file
   * buffer, or a buffer whose earlier write has finished. May wait (for that write).
   */
  bufferFor: (index: number, position: number, length: number) => Buffer | Promise<Buffer>;
}

/**
 * The one read loop of every hash in modelguard (on this thread and on the hash pool's workers):
 * reads [start, end) of an open file and hands each chunk to `onChunk` in order, having already
 * asked for the next one, so the disk (libuv's thread pool) reads while this thread hashes. A
 * short read is a shorter chunk; a read of nothing is the end of the file. Returns the bytes read.
 */
export async function readChunks(
  handle: FileHandle,
  options: ReadChunksOptions,
  onChunk: (chunk: Buffer, position: number) => void,
): Promise<number> {
  const start = options.start ?? 0;
  const end = options.end ?? Infinity;
  let index = 0;
  const readAt = async (position: number): Promise<Buffer> => {
    const buffer = await options.bufferFor(index++, position, Math.min(CHUNK, end - position));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    return buffer.subarray(0, bytesRead);
  };
  let position = start;
  let next = position < end ? readAt(position) : undefined;
  while (next) {
    const chunk = await next;
    if (chunk.length === 0) break;
    const at = position;
    position += chunk.length;
    next = position < end ? readAt(position) : undefined;
    onChunk(chunk, at);
  }
  return position - start;
}

/** Two buffers taken in turn, each `size` bytes: for a loop that is done with a chunk when `onChunk` returns. */
export function alternatingBuffers(size: number): (index: number, position: number, length: number) => Buffer {
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  return (index, _position, length) => buffers[index % 2]!.subarray(0, length);
}
