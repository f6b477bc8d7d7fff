import { describe, it, expect } from "vitest";
import { decodeString, forEachField, readVarint, toSafeNumber, type WireField } from "../../src/onnx/protobuf-wire.js";
import { bytesField, concatBytes, encodeVarint, varintField } from "../../src/onnx/protobuf-write.js";
import { messageOf } from "../helpers/errors.js";

const onnxInvalid = (fn: () => unknown): string => messageOf("ONNX_INVALID", fn);

function fields(bytes: Uint8Array): WireField[] {
  const out: WireField[] = [];
  forEachField(bytes, (f) => out.push(f));
  return out;
}


describe("readVarint", () => {
  it("decodes 1-byte, multi-byte and full 64-bit values exactly", () => {
    expect(readVarint(Uint8Array.of(0x01), 0)).toEqual({ value: 1n, next: 1 });
    expect(readVarint(Uint8Array.of(0xac, 0x02), 0)).toEqual({ value: 300n, next: 2 });
    for (const v of [2n ** 49n - 1n, 2n ** 49n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      const enc = encodeVarint(v);
      expect(readVarint(enc, 0)).toEqual({ value: v, next: enc.length });
    }
  });

  it("reads a negative int64 as its 64-bit two's complement", () => {
    const enc = encodeVarint(-1);
    expect(enc.length).toBe(10);
    expect(readVarint(enc, 0).value).toBe(2n ** 64n - 1n);
  });

  it("refuses truncated and over-long varints", () => {
    expect(onnxInvalid(() => readVarint(Uint8Array.of(0x80), 0))).toMatch(/truncated varint/);
    expect(onnxInvalid(() => readVarint(new Uint8Array(9).fill(0x80), 0))).toMatch(/truncated varint/);
    expect(onnxInvalid(() => readVarint(Uint8Array.of(...new Array(10).fill(0xff), 0x01), 0))).toMatch(/longer than 10 bytes/);
  });
});

describe("forEachField", () => {
  it("reports every field in wire order, length-delimited ones as views into the input", () => {
    const bytes = concatBytes([varintField(1, 8), bytesField(2, Uint8Array.of(9, 9, 9)), varintField(1, 9)]);
    const got = fields(bytes);
    expect(got.map((f) => [f.fieldNumber, f.wireType])).toEqual([[1, 0], [2, 2], [1, 0]]);
    const view = got[1]!.value as Uint8Array;
    expect(Array.from(view)).toEqual([9, 9, 9]);
    expect(view.buffer).toBe(bytes.buffer);
  });

  it("reports fixed32 and fixed64 fields as their raw bytes", () => {
    const bytes = Uint8Array.of((3 << 3) | 5, 1, 2, 3, 4, (4 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8);
    const got = fields(bytes);
    expect(got.map((f) => [f.fieldNumber, f.wireType, Array.from(f.value as Uint8Array).length])).toEqual([
      [3, 5, 4],
      [4, 1, 8],
    ]);
  });

  it("refuses a length past the end of the message", () => {
    const bytes = Uint8Array.of((2 << 3) | 2, 5, 1, 2);
    expect(onnxInvalid(() => fields(bytes))).toMatch(/length 5 past the end/);
  });

  it("refuses a huge length without overflowing", () => {
    const bytes = concatBytes([Uint8Array.of((2 << 3) | 2), encodeVarint(2n ** 63n)]);
    expect(onnxInvalid(() => fields(bytes))).toMatch(/past the end/);
  });

  it("refuses truncated keys, values and fixed fields", () => {
    expect(onnxInvalid(() => fields(Uint8Array.of(0x88)))).toMatch(/truncated varint/);
    expect(onnxInvalid(() => fields(Uint8Array.of(1 << 3)))).toMatch(/truncated varint/);
    expect(onnxInvalid(() => fields(Uint8Array.of((1 << 3) | 5, 0, 0)))).toMatch(/truncated fixed32/);
    expect(onnxInvalid(() => fields(Uint8Array.of((1 << 3) | 1, 0, 0, 0, 0)))).toMatch(/truncated fixed64/);
  });

  it("refuses groups, unknown wire types and field number 0", () => {
    expect(onnxInvalid(() => fields(Uint8Array.of((1 << 3) | 3)))).toMatch(/group/);
    expect(onnxInvalid(() => fields(Uint8Array.of((1 << 3) | 4)))).toMatch(/group/);
    expect(onnxInvalid(() => fields(Uint8Array.of((1 << 3) | 6)))).toMatch(/wire type 6/);
    expect(onnxInvalid(() => fields(Uint8Array.of((1 << 3) | 7)))).toMatch(/wire type 7/);
    expect(onnxInvalid(() => fields(Uint8Array.of(0x00, 0x01)))).toMatch(/field number 0/);
  });

  it("refuses a key that does not fit in 32 bits", () => {
    expect(onnxInvalid(() => fields(concatBytes([encodeVarint(2n ** 32n), Uint8Array.of(0)])))).toMatch(/key too large/);
  });

  it("accepts an empty message", () => {
    expect(fields(new Uint8Array(0))).toEqual([]);
  });
});

describe("toSafeNumber and decodeString", () => {
  it("refuses values a double cannot hold exactly", () => {
    expect(toSafeNumber(2n ** 53n - 1n, "x")).toBe(Number.MAX_SAFE_INTEGER);
    expect(onnxInvalid(() => toSafeNumber(2n ** 53n, "dim"))).toMatch(/dim 9007199254740992 is too large/);
  });

  it("refuses invalid UTF-8 instead of replacing it", () => {
    expect(decodeString(new TextEncoder().encode("wé.bin"), "x")).toBe("wé.bin");
    expect(onnxInvalid(() => decodeString(Uint8Array.of(0x77, 0xff, 0x2e), "location"))).toMatch(/location is not valid UTF-8/);
  });
});
