/**
 * The few protobuf writing primitives the model builder needs. Each returns the encoded bytes of
 * one field; a message is the concatenation of its fields, so output is a pure function of the
 * input (deterministic, no maps, no field reordering).
 */

export function encodeVarint(value: number | bigint): Uint8Array {
  // int64 fields encode negative values as their 64-bit two's complement (10 bytes).
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

function key(fieldNumber: number, wireType: number): Uint8Array {
  return encodeVarint(fieldNumber * 8 + wireType);
}

export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

export function varintField(fieldNumber: number, value: number | bigint): Uint8Array {
  return concatBytes([key(fieldNumber, 0), encodeVarint(value)]);
}

export function bytesField(fieldNumber: number, bytes: Uint8Array): Uint8Array {
  return concatBytes([key(fieldNumber, 2), encodeVarint(bytes.length), bytes]);
}

export function stringField(fieldNumber: number, text: string): Uint8Array {
  return bytesField(fieldNumber, new TextEncoder().encode(text));
}

export function messageField(fieldNumber: number, fields: readonly Uint8Array[]): Uint8Array {
  return bytesField(fieldNumber, concatBytes(fields));
}

export function fixed32Field(fieldNumber: number, bytes4: Uint8Array): Uint8Array {
  return concatBytes([key(fieldNumber, 5), bytes4]);
}
