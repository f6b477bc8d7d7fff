import { ModelGuardError } from "../errors.js";

/**
 * A minimal reader of the protobuf wire format. It never copies: length-delimited values are
 * `subarray` views into the caller's bytes, so a multi-gigabyte model can be scanned without
 * touching (or duplicating) its weights.
 */

export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;

export type WireField =
  | { readonly fieldNumber: number; readonly wireType: typeof WireType.Varint; readonly value: bigint }
  | {
      readonly fieldNumber: number;
      readonly wireType: typeof WireType.LengthDelimited | typeof WireType.Fixed32 | typeof WireType.Fixed64;
      /** A view into the input (for fixed32/fixed64: the 4 or 8 raw little-endian bytes). */
      readonly value: Uint8Array;
    };

// Protobuf field numbers are at most 2^29 - 1.
const MAX_FIELD_NUMBER = 0x1fffffff;

function invalid(message: string): ModelGuardError {
  return new ModelGuardError("ONNX_INVALID", `invalid protobuf: ${message}`);
}

/**
 * Decodes the varint at `pos`. Returns the value (exact, 64-bit, unsigned) and the position after it.
 * Varints longer than 10 bytes are refused rather than silently truncated; bits beyond 64 in the
 * tenth byte are dropped, as protobuf's own parsers do.
 */
export function readVarint(bytes: Uint8Array, pos: number): { value: bigint; next: number } {
  // Fast path: up to 7 bytes (49 bits) fit exactly in a double, which covers every key,
  // length and enum value in practice; only longer varints pay for BigInt arithmetic.
  let low = 0;
  let shift = 0;
  let i = pos;
  while (i < bytes.length && shift < 49) {
    const b = bytes[i++]!;
    low += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return { value: BigInt(low), next: i };
    shift += 7;
  }
  if (i >= bytes.length) throw invalid(`truncated varint at offset ${pos}`);
  let value = BigInt(low);
  let bigShift = 49n;
  for (let n = 7; n < 10; n++) {
    if (i >= bytes.length) throw invalid(`truncated varint at offset ${pos}`);
    const b = bytes[i++]!;
    value |= BigInt(b & 0x7f) << bigShift;
    if (b < 0x80) return { value: BigInt.asUintN(64, value), next: i };
    bigShift += 7n;
  }
  throw invalid(`varint longer than 10 bytes at offset ${pos}`);
}

/**
 * Calls `visit` for every top-level field of the message in `bytes`, in wire order. Repeated
 * and duplicated fields are reported once per occurrence: protobuf parsers merge repeated
 * occurrences of a singular message field, so a scanner that only looked at the last one could
 * be blinded by splitting a message in two.
 *
 * Throws ModelGuardError("ONNX_INVALID") on truncation, lengths past the end, field number 0,
 * wire types 6/7, and groups (deprecated, never used by ONNX, and a way to hide bytes from a
 * scanner that skips them differently than the real parser).
 */
export function forEachField(bytes: Uint8Array, visit: (field: WireField) => void): void {
  let pos = 0;
  while (pos < bytes.length) {
    const keyStart = pos;
    const key = readVarint(bytes, pos);
    pos = key.next;
    if (key.value > 0xffffffffn) throw invalid(`field key too large at offset ${keyStart}`);
    const k = Number(key.value);
    const fieldNumber = k >>> 3;
    const wireType = k & 7;
    if (fieldNumber === 0 || fieldNumber > MAX_FIELD_NUMBER) {
      throw invalid(`field number ${fieldNumber} at offset ${keyStart}`);
    }
    switch (wireType) {
      case WireType.Varint: {
        const v = readVarint(bytes, pos);
        pos = v.next;
        visit({ fieldNumber, wireType, value: v.value });
        break;
      }
      case WireType.LengthDelimited: {
        const len = readVarint(bytes, pos);
        pos = len.next;
        if (len.value > BigInt(bytes.length - pos)) {
          throw invalid(`field ${fieldNumber} at offset ${keyStart} has length ${len.value} past the end of its message`);
        }
        const end = pos + Number(len.value);
        const value = bytes.subarray(pos, end);
        pos = end;
        visit({ fieldNumber, wireType, value });
        break;
      }
      case WireType.Fixed32:
      case WireType.Fixed64: {
        const size = wireType === WireType.Fixed32 ? 4 : 8;
        if (bytes.length - pos < size) throw invalid(`truncated fixed${size * 8} field ${fieldNumber} at offset ${keyStart}`);
        const value = bytes.subarray(pos, pos + size);
        pos += size;
        visit({ fieldNumber, wireType, value });
        break;
      }
      case WireType.StartGroup:
      case WireType.EndGroup:
        throw invalid(`group wire type in field ${fieldNumber} at offset ${keyStart} (groups are not used by ONNX)`);
      default:
        throw invalid(`unknown wire type ${wireType} in field ${fieldNumber} at offset ${keyStart}`);
    }
  }
}

/** A varint value as a number, refusing values that a double cannot hold exactly. */
export function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} ${value} is too large`);
  return Number(value);
}

// Fatal: a lenient decoder would turn invalid bytes into U+FFFD, so the name we check and the
// bytes onnxruntime uses as a file path could differ.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes a protobuf `string` field; invalid UTF-8 is ONNX_INVALID. */
export function decodeString(view: Uint8Array, what: string): string {
  try {
    return utf8.decode(view);
  } catch (cause) {
    throw new ModelGuardError("ONNX_INVALID", `invalid protobuf: ${what} is not valid UTF-8`, { cause });
  }
}
