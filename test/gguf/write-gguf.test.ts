import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rm } from "node:fs/promises";
import { sha256Hex } from "../../src/digest/sha256.js";
import { gguf, splitPartName, writeGguf, writeSplitGguf, type GgufSpec } from "../helpers/write-gguf.js";
import { tinyLlamaGguf, tinyLlamaLora, tinyLlamaSpec, tinyLlamaSplitGguf } from "../helpers/tiny-llama.js";
import { tempDir } from "../helpers/fixtures.js";

// node-llama-cpp's own GGUF reader (pure JavaScript) checks what the writer wrote.
let dir: string;
beforeAll(async () => {
  dir = await tempDir("mg-gguf-");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function read(name: string, bytes: Uint8Array, options: { spliceSplitFiles?: boolean } = {}) {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return readGgufFileInfo(path, { logWarnings: false, ...options });
}

const small: GgufSpec = {
  metadata: [
    ["general.architecture", gguf.str("llama")],
    ["test.u32", gguf.u32(7)],
    ["test.f32", gguf.f32(0.5)],
    ["test.bool", gguf.bool(true)],
    ["test.words", gguf.array("string", ["a", "bé"])],
    ["test.ints", gguf.array("int32", [-1, 2])],
  ],
  tensors: [
    { name: "a", dims: [3], data: Float32Array.from([1, 2, 3]) },
    { name: "b", dims: [2, 2], data: Float32Array.from([4, 5, 6, 7]) },
  ],
};

describe("writeGguf", () => {
  it("writes a GGUF v3 file that node-llama-cpp's reader parses: metadata, tensor infos, aligned data", async () => {
    const bytes = writeGguf(small);
    const info = await read("small.gguf", bytes);
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe("llama");
    expect(info.metadata).toMatchObject({ test: { u32: 7, f32: 0.5, bool: true, words: ["a", "bé"], ints: [-1, 2] } });
    expect(info.fullTensorInfo!.map((t) => [t.name, t.dimensions.map(Number), Number(t.offset)])).toEqual([
      ["a", [3], 0],
      ["b", [2, 2], 32],
    ]);
    // Tensor data starts at an aligned offset right after the header, each tensor's floats in place.
    const dataStart = bytes.length - 64;
    expect(dataStart % 32).toBe(0);
    const view = Buffer.from(bytes);
    expect([0, 4, 8].map((o) => view.readFloatLE(dataStart + o))).toEqual([1, 2, 3]);
    expect([0, 4, 8, 12].map((o) => view.readFloatLE(dataStart + 32 + o))).toEqual([4, 5, 6, 7]);
  });

  it("is deterministic", () => {
    expect(sha256Hex(tinyLlamaGguf())).toBe(sha256Hex(tinyLlamaGguf()));
    expect(sha256Hex(tinyLlamaGguf({ seed: 2 }))).not.toBe(sha256Hex(tinyLlamaGguf()));
  });

  it("refuses data that does not fill the dims, and a key given twice", () => {
    expect(() => writeGguf({ metadata: [], tensors: [{ name: "x", dims: [2, 2], data: new Float32Array(3) }] })).toThrow(/hold 4 values, data has 3/);
    expect(() => writeGguf({ metadata: [["k", gguf.u32(1)], ["k", gguf.u32(2)]], tensors: [] })).toThrow(/given twice/);
  });
});

describe("writeSplitGguf", () => {
  it("names parts as llama.cpp does and writes the split keys in every part, all metadata in the first", async () => {
    expect(splitPartName("model-Q4_K_M", 1, 3)).toBe("model-Q4_K_M-00002-of-00003.gguf");
    const parts = writeSplitGguf(small, "small", [1, 1]);
    expect(Object.keys(parts)).toEqual(["small-00001-of-00002.gguf", "small-00002-of-00002.gguf"]);
    for (const [name, bytes] of Object.entries(parts)) await writeFile(join(dir, name), bytes);
    const first = await readGgufFileInfo(join(dir, "small-00001-of-00002.gguf"), { logWarnings: false, spliceSplitFiles: false });
    const second = await readGgufFileInfo(join(dir, "small-00002-of-00002.gguf"), { logWarnings: false, spliceSplitFiles: false });
    expect(first.metadata).toMatchObject({ test: { u32: 7 }, split: { no: 0, count: 2, tensors: { count: 2 } } });
    expect(second.metadata).toEqual({ split: { no: 1, count: 2, tensors: { count: 2 } } });
    expect(first.fullTensorInfo!.map((t) => t.name)).toEqual(["a"]);
    expect(second.fullTensorInfo!.map((t) => t.name)).toEqual(["b"]);
    // node-llama-cpp finds the other parts from the first part's name, as llama.cpp does.
    const spliced = await readGgufFileInfo(join(dir, "small-00001-of-00002.gguf"), { logWarnings: false });
    expect(spliced.splicedParts).toBe(2);
    expect(spliced.fullTensorInfo!.map((t) => t.name)).toEqual(["a", "b"]);
  });

  it("refuses part sizes that do not add up to the tensors", () => {
    expect(() => writeSplitGguf(small, "s", [1, 2])).toThrow(/1 \+ 2 tensors; the model has 2/);
    expect(() => writeSplitGguf(small, "s", [2])).toThrow(/2 to 65535 parts/);
  });
});

describe("the tiny llama", () => {
  it("is a ~55 KB llama model with a 291-token SentencePiece vocabulary, its split parts and a LoRA adapter", async () => {
    const info = await read("tiny.gguf", tinyLlamaGguf());
    expect(info.metadata.general.architecture).toBe("llama");
    expect(info.metadata.tokenizer.ggml.model).toBe("llama");
    expect(info.metadata.tokenizer.ggml.tokens).toHaveLength(291);
    expect(info.fullTensorInfo).toHaveLength(12);
    expect(tinyLlamaGguf().length).toBeGreaterThan(45_000);
    expect(tinyLlamaGguf().length).toBeLessThan(60_000);

    const parts = tinyLlamaSplitGguf("tiny");
    expect(Object.keys(parts)).toEqual(["tiny-00001-of-00003.gguf", "tiny-00002-of-00003.gguf", "tiny-00003-of-00003.gguf"]);
    for (const [name, bytes] of Object.entries(parts)) await writeFile(join(dir, name), bytes);
    const spliced = await readGgufFileInfo(join(dir, "tiny-00001-of-00003.gguf"), { logWarnings: false });
    expect(spliced.fullTensorInfo!.map((t) => t.name)).toEqual(tinyLlamaSpec().tensors.map((t) => t.name));

    const lora = await read("lora.gguf", tinyLlamaLora());
    expect(lora.metadata).toMatchObject({ general: { type: "adapter" }, adapter: { type: "lora", lora: { alpha: 1 } } });
  });
});
