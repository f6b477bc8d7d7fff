import { ModelGuardError } from "../errors.js";
import type { VerifiedBytes } from "./runtime-adapter.js";

/** Where lazily read verified bytes come from: positioned reads, and what to let go when done. */
export interface VerifiedBytesSource {
  read: VerifiedBytes["read"];
  /** Drops what `open` made (a private verified copy); not called if `open` failed. */
  release?(): Promise<void>;
}

/** Verified bytes opened on first read; `release()` lets go of what was opened. */
export interface LazyVerifiedBytes extends VerifiedBytes {
  /** Whether a read was asked for (the bytes were, or are being, read and verified). */
  readonly loaded: boolean;
  /**
   * Releases the source if it was opened, once the reads in flight have settled (idempotent);
   * never throws for a failed open. Every read after it fails closed (USAGE): a released copy is
   * neither read nor made again.
   */
  release(): Promise<void>;
}

/**
 * Verified bytes opened on first use: `size` (the locked size) is known before any byte is read,
 * so an adapter can refuse a file by its size without reading it. `open` yields the whole file,
 * verified (the guard's read-and-hash into memory, or a private verified copy), and is called at
 * most once, never after `release()`.
 */
export function lazyVerifiedBytes(file: string, size: number, open: () => Promise<VerifiedBytesSource>): LazyVerifiedBytes {
  let source: Promise<VerifiedBytesSource> | undefined;
  let released: Promise<void> | undefined;
  const reading = new Set<Promise<unknown>>();
  return {
    file,
    size,
    get loaded() {
      return source !== undefined;
    },
    async read(position: number, length: number): Promise<Uint8Array> {
      if (released) {
        throw new ModelGuardError("USAGE", `the verified bytes of ${file} were released; read them only while they are handed out (an adapter: inside its create)`, { file });
      }
      source ??= open();
      const read = source.then((s) => s.read(position, length));
      reading.add(read);
      try {
        return await read;
      } finally {
        reading.delete(read);
      }
    },
    release(): Promise<void> {
      released ??= (async () => {
        await Promise.allSettled([...reading]);
        await (await source?.catch(() => undefined))?.release?.();
      })();
      return released;
    },
  };
}

/** Verified bytes already in memory. */
export function verifiedBytesOf(file: string, bytes: Buffer): VerifiedBytes {
  return { file, size: bytes.length, read: async (position, length) => bytes.subarray(position, position + length) };
}
