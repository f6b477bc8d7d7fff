import type { VerifiedBytes } from "./runtime-adapter.js";

/**
 * Verified bytes read on first use: `size` (the locked size) is known before any byte is read, so
 * an adapter can refuse a file by its size without reading it. `load` must return the whole file,
 * verified (the guard's read-and-hash), and is called at most once.
 */
export function lazyVerifiedBytes(file: string, size: number, load: () => Promise<Buffer>): VerifiedBytes & { readonly loaded: boolean } {
  let bytes: Promise<Buffer> | undefined;
  return {
    file,
    size,
    get loaded() {
      return bytes !== undefined;
    },
    async read(position: number, length: number): Promise<Uint8Array> {
      bytes ??= load();
      return (await bytes).subarray(position, position + length);
    },
  };
}

/** Verified bytes already in memory. */
export function verifiedBytesOf(file: string, bytes: Buffer): VerifiedBytes {
  return { file, size: bytes.length, read: async (position, length) => bytes.subarray(position, position + length) };
}
