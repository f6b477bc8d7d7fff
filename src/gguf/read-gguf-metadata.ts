/**
 * Reads chosen scalar metadata values from a GGUF header (`split.count`, `general.type`, ...)
 * through random-access reads of verified bytes, skipping everything else (a real model's
 * vocabulary is 100,000+ strings) without holding the file or even the whole header in memory.
 * Hand-written: `@huggingface/gguf` and node-llama-cpp's reader both read by path or URL, and the
 * guard reads only bytes it has verified. Every count and length is bounded by the file size
 * before it is used, so a hostile header fails with GGUF_INVALID instead of allocating or looping.
 * Format: see test/helpers/write-gguf.ts (the test-only writer).
 */
import { open } from "node:fs/promises";
import { ModelGuardError } from "../errors.js";

export type ReadAt = (position: number, length: number) => Promise<Uint8Array>;
export type GgufScalar = number | bigint | boolean | string;

const CHUNK = 1 << 20;
// Sizes of the fixed-width value types by GGUF type id (8 = string and 9 = array are variable).
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;
const MAX_KEY_LENGTH = 65_535;

class Cursor {
  #chunk: Uint8Array = new Uint8Array(0);
  #chunkStart = 0;
  position = 0;

  constructor(
    readonly readAt: ReadAt,
    readonly size: number,
    readonly what: string,
  ) {}

  fail(message: string): never {
    throw new ModelGuardError("GGUF_INVALID", `${this.what}: ${message} (at byte ${this.position})`);
  }

  async bytes(length: number): Promise<Uint8Array> {
    if (length > this.size - this.position) this.fail(`the header runs past the end of the file (${this.size} bytes)`);
    const offset = this.position - this.#chunkStart;
    if (offset < 0 || offset + length > this.#chunk.length) {
      this.#chunkStart = this.position;
      this.#chunk = await this.readAt(this.position, Math.min(Math.max(length, CHUNK), this.size - this.position));
      if (this.#chunk.length < length) this.fail("the file ended early");
    }
    const start = this.position - this.#chunkStart;
    this.position += length;
    return this.#chunk.subarray(start, start + length);
  }

  skip(length: number | bigint): void {
    if (BigInt(length) > BigInt(this.size - this.position)) this.fail(`the header runs past the end of the file (${this.size} bytes)`);
    this.position += Number(length);
  }

  async u32(): Promise<number> {
    const b = await this.bytes(4);
    return Buffer.from(b.buffer, b.byteOffset, 4).readUInt32LE(0);
  }

  async u64(): Promise<bigint> {
    const b = await this.bytes(8);
    return Buffer.from(b.buffer, b.byteOffset, 8).readBigUInt64LE(0);
  }

  /** A u64 count or length that must fit in what is left of the file (each item at least `minItem` bytes). */
  async count(minItem: number): Promise<number> {
    const n = await this.u64();
    if (n * BigInt(minItem) > BigInt(this.size - this.position)) this.fail(`a count of ${n} does not fit in the file`);
    return Number(n);
  }

  async string(maxLength = Number.MAX_SAFE_INTEGER): Promise<string> {
    const length = await this.count(1);
    if (length > maxLength) this.fail(`a key of ${length} bytes`);
    return Buffer.from(await this.bytes(length)).toString("utf8");
  }
}

async function readScalar(c: Cursor, type: number): Promise<GgufScalar> {
  if (type === STRING) return c.string();
  const size = FIXED_SIZE[type];
  if (size === undefined) c.fail(`unknown value type ${type}`);
  const b = Buffer.from(await c.bytes(size));
  switch (type) {
    case 0: return b.readUInt8(0);
    case 1: return b.readInt8(0);
    case 2: return b.readUInt16LE(0);
    case 3: return b.readInt16LE(0);
    case 4: return b.readUInt32LE(0);
    case 5: return b.readInt32LE(0);
    case 6: return b.readFloatLE(0);
    case 7: return b.readUInt8(0) !== 0;
    case 10: return b.readBigUInt64LE(0);
    case 11: return b.readBigInt64LE(0);
    default: return b.readDoubleLE(0);
  }
}

async function skipValue(c: Cursor, type: number): Promise<void> {
  if (type === STRING) return c.skip(await c.count(1));
  if (type === ARRAY) {
    const itemType = await c.u32();
    if (itemType === ARRAY) c.fail("an array of arrays");
    if (itemType === STRING) {
      const n = await c.count(8);
      for (let i = 0; i < n; i++) c.skip(await c.count(1));
      return;
    }
    const size = FIXED_SIZE[itemType];
    if (size === undefined) c.fail(`unknown array item type ${itemType}`);
    return c.skip((await c.count(size)) * size);
  }
  const size = FIXED_SIZE[type];
  if (size === undefined) c.fail(`unknown value type ${type}`);
  c.skip(size);
}

export interface GgufHeader {
  version: number;
  tensorCount: bigint;
  /** The scalar values of the asked-for keys that the file has; arrays are not returned. */
  values: Map<string, GgufScalar>;
}

/**
 * The GGUF version, tensor count and the scalar values of `keys` (those present). `what` names the
 * file in errors. Throws GGUF_INVALID for anything that is not a well-formed GGUF v2/v3 header.
 */
export async function readGgufMetadata(readAt: ReadAt, size: number, keys: readonly string[], what: string): Promise<GgufHeader> {
  const c = new Cursor(readAt, size, what);
  if (size < 24 || Buffer.from(await c.bytes(4)).toString("latin1") !== "GGUF") c.fail("not a GGUF file (no GGUF magic)");
  const version = await c.u32();
  if (version !== 2 && version !== 3) c.fail(`GGUF version ${version} (2 and 3 are known)`);
  const tensorCount = await c.u64();
  const kvCount = await c.count(12);
  const wanted = new Set(keys);
  const values = new Map<string, GgufScalar>();
  for (let i = 0; i < kvCount; i++) {
    const key = await c.string(MAX_KEY_LENGTH);
    const type = await c.u32();
    if (wanted.has(key) && type !== ARRAY) {
      if (values.has(key)) c.fail(`the key ${key} appears twice`);
      values.set(key, await readScalar(c, type));
    } else {
      await skipValue(c, type);
    }
  }
  return { version, tensorCount, values };
}

/** readGgufMetadata of a local file, read through one open handle. */
export async function readGgufFileMetadata(path: string, keys: readonly string[], what: string): Promise<GgufHeader> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const readAt: ReadAt = async (position, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      return buffer.subarray(0, bytesRead);
    };
    return await readGgufMetadata(readAt, size, keys, what);
  } finally {
    await handle.close();
  }
}
