import { describe, expect, it } from "vitest";
import { ModelGuardError } from "../../src/errors.js";
import { readGgufMetadata, type ReadAt } from "../../src/gguf/read-gguf-metadata.js";
import { tinyLlamaGguf, tinyLlamaLora, tinyLlamaSplitGguf } from "../helpers/tiny-llama.js";
import { gguf, writeGguf } from "../helpers/write-gguf.js";

function reader(bytes: Uint8Array): { readAt: ReadAt; reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    readAt: async (position, length) => {
      reads.push(length);
      return bytes.subarray(position, position + length);
    },
  };
}

const KEYS = ["general.architecture", "general.type", "split.no", "split.count", "split.tensors.count", "tokenizer.ggml.tokens"];

async function read(bytes: Uint8Array) {
  return readGgufMetadata(reader(bytes).readAt, bytes.length, KEYS, "x.gguf");
}

async function refusal(bytes: Uint8Array): Promise<ModelGuardError> {
  const err = await read(bytes).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ModelGuardError);
  expect((err as ModelGuardError).code).toBe("GGUF_INVALID");
  return err as ModelGuardError;
}

describe("readGgufMetadata", () => {
  it("reads the asked-for scalars, skipping arrays and every other key", async () => {
    const model = await read(tinyLlamaGguf());
    expect(model.version).toBe(3);
    expect(model.tensorCount).toBe(12n);
    expect(Object.fromEntries(model.values)).toEqual({ "general.architecture": "llama" });

    const parts = Object.values(tinyLlamaSplitGguf("tiny"));
    expect(Object.fromEntries((await read(parts[0]!)).values)).toEqual({ "general.architecture": "llama", "split.no": 0, "split.count": 3, "split.tensors.count": 12 });
    expect(Object.fromEntries((await read(parts[2]!)).values)).toEqual({ "split.no": 2, "split.count": 3, "split.tensors.count": 12 });
    expect((await read(tinyLlamaLora())).values.get("general.type")).toBe("adapter");
  });

  it("reads in bounded chunks, not the whole file", async () => {
    const big = writeGguf({ metadata: [["a", gguf.u32(1)]], tensors: [{ name: "w", dims: [1 << 20], data: new Float32Array(1 << 20) }] });
    const { readAt, reads } = reader(big);
    await readGgufMetadata(readAt, big.length, ["a"], "big.gguf");
    expect(Math.max(...reads)).toBeLessThanOrEqual(1 << 20);
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThan(big.length);
  });

  it("refuses what is not a well-formed GGUF header, naming the file", async () => {
    expect((await refusal(Buffer.from("not a gguf file at all, no"))).message).toMatch(/^x\.gguf: not a GGUF file/);
    const v9 = Buffer.from(tinyLlamaGguf());
    v9.writeUInt32LE(9, 4);
    expect((await refusal(v9)).message).toMatch(/GGUF version 9/);
    const hugeCount = Buffer.from(tinyLlamaGguf());
    hugeCount.writeBigUInt64LE(2n ** 62n, 16);
    expect((await refusal(hugeCount)).message).toMatch(/does not fit in the file/);
    expect((await refusal(tinyLlamaGguf().subarray(0, 2000))).message).toMatch(/past the end|ended early|does not fit/);
    const badType = writeGguf({ metadata: [["a", gguf.u32(1)]], tensors: [] });
    Buffer.from(badType.buffer, badType.byteOffset).writeUInt32LE(99, 24 + 8 + 1);
    expect((await refusal(badType)).message).toMatch(/unknown value type 99/);
  });
});
