/**
 * JSON <-> onnxruntime tensors. JSON carries numbers as doubles, so every element is checked
 * against the tensor type before it is stored: a value a typed array would silently wrap, round
 * or turn into Infinity is a 400, not a different input than the client sent.
 */
import ort, { type Tensor } from "onnxruntime-node";

/** A value whose problem the client caused; the caller turns it into a 400. */
export class TensorInputError extends Error {
  constructor(readonly code: "INVALID_TYPE" | "INVALID_DATA", message: string) {
    super(message);
  }
}

type Converter = (data: readonly unknown[], where: string) => Tensor["data"];

const FLOAT32_MAX = 3.4028234663852886e38;

function numbers<A extends { [i: number]: number }>(
  make: (n: number) => A,
  ok: (v: number) => boolean,
  what: string,
): (data: readonly unknown[], where: string) => A {
  return (data, where) => {
    const out = make(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== "number" || !ok(v)) throw new TensorInputError("INVALID_DATA", `${where}[${i}] is ${describe(v)}, not ${what}`);
      out[i] = v;
    }
    return out;
  };
}

function integers(min: number, max: number) {
  return (v: number) => Number.isInteger(v) && v >= min && v <= max;
}

/** 64-bit integers: a safe-integer number, or a decimal string for the values beyond 2^53. */
function bigints<A extends BigInt64Array | BigUint64Array>(make: (n: number) => A, min: bigint, max: bigint, what: string): Converter {
  return (data, where) => {
    const out = make(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      let b: bigint | undefined;
      if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
      else if (typeof v === "string" && /^-?\d{1,20}$/.test(v)) b = BigInt(v);
      if (b === undefined || b < min || b > max) {
        throw new TensorInputError("INVALID_DATA", `${where}[${i}] is ${describe(v)}, not ${what} (use a decimal string beyond 2^53)`);
      }
      out[i] = b;
    }
    return out;
  };
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  return Array.isArray(v) ? "an array (data is flat, row-major)" : `a ${typeof v}`;
}

const CONVERTERS = {
  float32: numbers((n) => new Float32Array(n), (v) => Number.isFinite(v) && Math.abs(v) <= FLOAT32_MAX, "a finite float32"),
  float64: numbers((n) => new Float64Array(n), Number.isFinite, "a finite number"),
  int8: numbers((n) => new Int8Array(n), integers(-128, 127), "an int8"),
  uint8: numbers((n) => new Uint8Array(n), integers(0, 255), "a uint8"),
  int16: numbers((n) => new Int16Array(n), integers(-32768, 32767), "an int16"),
  uint16: numbers((n) => new Uint16Array(n), integers(0, 65535), "a uint16"),
  int32: numbers((n) => new Int32Array(n), integers(-2147483648, 2147483647), "an int32"),
  uint32: numbers((n) => new Uint32Array(n), integers(0, 4294967295), "a uint32"),
  int64: bigints((n) => new BigInt64Array(n), -(2n ** 63n), 2n ** 63n - 1n, "an int64"),
  uint64: bigints((n) => new BigUint64Array(n), 0n, 2n ** 64n - 1n, "a uint64"),
  bool: (data, where) =>
    Uint8Array.from(data, (v, i) => {
      if (typeof v !== "boolean") throw new TensorInputError("INVALID_DATA", `${where}[${i}] is ${describe(v)}, not a boolean`);
      return v ? 1 : 0;
    }),
  string: (data, where) =>
    data.map((v, i) => {
      if (typeof v !== "string") throw new TensorInputError("INVALID_DATA", `${where}[${i}] is ${describe(v)}, not a string`);
      return v;
    }),
} satisfies Record<string, Converter>;

export type SupportedType = keyof typeof CONVERTERS;
export const SUPPORTED_TYPES = Object.keys(CONVERTERS) as SupportedType[];

export function isSupportedType(type: unknown): type is SupportedType {
  return typeof type === "string" && Object.hasOwn(CONVERTERS, type);
}

/** An onnxruntime tensor from checked JSON data; `dims` must already match `data.length`. */
export function toTensor(type: SupportedType, dims: readonly number[], data: readonly unknown[], where: string): Tensor {
  const converted = CONVERTERS[type](data, where);
  // The constructor's overloads are keyed on the literal type; the table above pairs them.
  return new ort.Tensor(type, converted as never, dims);
}

export interface JsonTensor {
  type: string;
  dims: number[];
  data: unknown[];
}

/**
 * JSON has no NaN, Infinity or 64-bit integers: non-finite floats become the strings "NaN",
 * "Infinity", "-Infinity", and 64-bit integers beyond 2^53 decimal strings.
 */
export function fromTensor(tensor: Tensor): JsonTensor {
  const data: unknown[] = [];
  for (const v of tensor.data as Iterable<unknown>) {
    if (typeof v === "bigint") data.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
    else if (typeof v === "number" && !Number.isFinite(v)) data.push(String(v));
    else if (tensor.type === "bool") data.push(v === 1 || v === true);
    else data.push(v);
  }
  return { type: tensor.type, dims: [...tensor.dims], data };
}
