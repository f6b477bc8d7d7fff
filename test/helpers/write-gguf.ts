/**
 * Test and example code, not shipped in the package (it lives outside src/ for that reason).
 * Writes GGUF files (version 3) for tests and examples: metadata key/values and F32 tensors, and
 * split models as llama.cpp's `gguf-split` lays them out. Hand-written because no library writes
 * whole GGUF files from JavaScript (`@huggingface/gguf` parses them and writes headers only).
 * Deterministic: the same spec always gives the same bytes, so the result can be pinned in a lockfile.
 *
 * Format (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md; all little-endian):
 *   "GGUF", u32 version, u64 tensor count, u64 key/value count,
 *   key/values: string key, u32 value type, value (arrays: u32 item type, u64 count, items),
 *   tensor infos: string name, u32 n_dims, u64 dims[n_dims] (innermost first), u32 ggml type, u64 offset,
 *   padding to `general.alignment` (default 32), then the tensor data, each tensor at an aligned offset.
 * Strings are a u64 byte length and UTF-8 bytes, no terminator.
 */

export type GgufScalarType = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "bool" | "string" | "uint64" | "int64" | "float64";
type Scalar = number | bigint | boolean | string;

export type GgufValue =
  | { type: GgufScalarType; value: Scalar }
  | { type: "array"; itemType: GgufScalarType; values: readonly Scalar[] };

export interface GgufTensor {
  name: string;
  /** ggml order: the innermost (contiguous) dimension first, as `ne` in llama.cpp. */
  dims: readonly number[];
  data: Float32Array;
}

export interface GgufSpec {
  /** Written in this order. */
  metadata: ReadonlyArray<readonly [key: string, value: GgufValue]>;
  tensors: readonly GgufTensor[];
}

const TYPE_IDS: Record<GgufScalarType | "array", number> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};
const GGML_TYPE_F32 = 0;
const DEFAULT_ALIGNMENT = 32;

/** Shorthands for metadata values. */
export const gguf = {
  u16: (value: number): GgufValue => ({ type: "uint16", value }),
  u32: (value: number): GgufValue => ({ type: "uint32", value }),
  i32: (value: number): GgufValue => ({ type: "int32", value }),
  f32: (value: number): GgufValue => ({ type: "float32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  array: (itemType: GgufScalarType, values: readonly Scalar[]): GgufValue => ({ type: "array", itemType, values }),
};

class ByteWriter {
  readonly #chunks: Buffer[] = [];
  length = 0;

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  fixed(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.#push(b);
  }

  u32(v: number): void {
    this.fixed(4, (b) => b.writeUInt32LE(v));
  }

  u64(v: number | bigint): void {
    this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }

  string(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.u64(bytes.length);
    this.#push(bytes);
  }

  bytes(data: Uint8Array): void {
    this.#push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad > 0) this.#push(Buffer.alloc(pad));
  }

  result(): Uint8Array {
    return Buffer.concat(this.#chunks, this.length);
  }
}

function writeScalar(w: ByteWriter, type: GgufScalarType, v: Scalar, key: string): void {
  const num = (): number => {
    if (typeof v !== "number") throw new TypeError(`GGUF ${key}: ${type} wants a number, got ${typeof v}`);
    return v;
  };
  switch (type) {
    case "uint8":
      return w.fixed(1, (b) => b.writeUInt8(num()));
    case "int8":
      return w.fixed(1, (b) => b.writeInt8(num()));
    case "uint16":
      return w.fixed(2, (b) => b.writeUInt16LE(num()));
    case "int16":
      return w.fixed(2, (b) => b.writeInt16LE(num()));
    case "uint32":
      return w.fixed(4, (b) => b.writeUInt32LE(num()));
    case "int32":
      return w.fixed(4, (b) => b.writeInt32LE(num()));
    case "float32":
      return w.fixed(4, (b) => b.writeFloatLE(num()));
    case "float64":
      return w.fixed(8, (b) => b.writeDoubleLE(num()));
    case "uint64":
      return w.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v as number | bigint)));
    case "int64":
      return w.fixed(8, (b) => b.writeBigInt64LE(BigInt(v as number | bigint)));
    case "bool":
      return w.fixed(1, (b) => b.writeUInt8(v ? 1 : 0));
    case "string":
      if (typeof v !== "string") throw new TypeError(`GGUF ${key}: string wants a string, got ${typeof v}`);
      return w.string(v);
  }
}

function alignmentOf(spec: GgufSpec): number {
  const entry = spec.metadata.find(([k]) => k === "general.alignment");
  if (!entry) return DEFAULT_ALIGNMENT;
  const value = entry[1];
  if (value.type !== "uint32" || typeof value.value !== "number" || value.value <= 0 || value.value % 8 !== 0) {
    throw new TypeError("GGUF general.alignment must be a uint32, a positive multiple of 8");
  }
  return value.value;
}

/** One GGUF file. */
export function writeGguf(spec: GgufSpec): Uint8Array {
  const alignment = alignmentOf(spec);
  const w = new ByteWriter();
  w.bytes(Buffer.from("GGUF", "latin1"));
  w.u32(3);
  w.u64(spec.tensors.length);
  w.u64(spec.metadata.length);
  const keys = new Set<string>();
  for (const [key, value] of spec.metadata) {
    if (keys.has(key)) throw new TypeError(`GGUF metadata key ${key} given twice`);
    keys.add(key);
    w.string(key);
    w.u32(TYPE_IDS[value.type]);
    if (value.type === "array") {
      w.u32(TYPE_IDS[value.itemType]);
      w.u64(value.values.length);
      for (const item of value.values) writeScalar(w, value.itemType, item, key);
    } else {
      writeScalar(w, value.type, value.value, key);
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of spec.tensors) {
    const elements = t.dims.reduce((n, d) => n * d, 1);
    if (elements !== t.data.length) throw new TypeError(`GGUF tensor ${t.name}: dims [${t.dims.join(", ")}] hold ${elements} values, data has ${t.data.length}`);
    offsets.push(offset);
    offset += Math.ceil(t.data.byteLength / alignment) * alignment;
  }
  spec.tensors.forEach((t, i) => {
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE_F32);
    w.u64(offsets[i]!);
  });
  w.padTo(alignment);
  for (const t of spec.tensors) {
    // Float32Array is in the platform's byte order; GGUF is little-endian, as is every platform Node runs on here.
    w.bytes(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    w.padTo(alignment);
  }
  return w.result();
}

/** `{prefix}-00002-of-00003.gguf`: the part names llama.cpp derives from the first part's name (`llama_split_path`). */
export function splitPartName(prefix: string, index: number, count: number): string {
  const five = (n: number) => String(n).padStart(5, "0");
  return `${prefix}-${five(index + 1)}-of-${five(count)}.gguf`;
}

/**
 * A split model as `gguf-split --split-max-tensors` writes it: the first part holds all the
 * metadata, every part holds `split.no` (uint16), `split.count` (uint16) and
 * `split.tensors.count` (int32) and its share of the tensors, in order. Keys are the part file
 * names (`splitPartName`), in part order.
 */
export function writeSplitGguf(spec: GgufSpec, prefix: string, tensorsPerPart: readonly number[]): Record<string, Uint8Array> {
  const count = tensorsPerPart.length;
  if (count < 2 || count > 65535) throw new TypeError("a split model has 2 to 65535 parts");
  if (tensorsPerPart.reduce((a, b) => a + b, 0) !== spec.tensors.length) {
    throw new TypeError(`the parts hold ${tensorsPerPart.join(" + ")} tensors; the model has ${spec.tensors.length}`);
  }
  const parts: Record<string, Uint8Array> = {};
  let next = 0;
  tensorsPerPart.forEach((n, index) => {
    const split: GgufSpec["metadata"] = [
      ["split.no", gguf.u16(index)],
      ["split.count", gguf.u16(count)],
      ["split.tensors.count", gguf.i32(spec.tensors.length)],
    ];
    const alignment = spec.metadata.filter(([k]) => k === "general.alignment");
    parts[splitPartName(prefix, index, count)] = writeGguf({
      metadata: index === 0 ? [...spec.metadata, ...split] : [...alignment, ...split],
      tensors: spec.tensors.slice(next, next + n),
    });
    next += n;
  });
  return parts;
}
