import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TINY_LLAMA_SENTENCE, tinyLlamaGguf, tinyLlamaLora, tinyLlamaSplitGguf } from "../helpers/tiny-llama.js";
import { tempDir } from "../helpers/fixtures.js";
import { complete, cpuLlama } from "../helpers/llama.js";

let dir: string;
let llama: Llama;
beforeAll(async () => {
  dir = await tempDir("mg-tiny-llama-");
  await writeFile(join(dir, "tiny.gguf"), tinyLlamaGguf());
  await writeFile(join(dir, "lora.gguf"), tinyLlamaLora());
  for (const [name, bytes] of Object.entries(tinyLlamaSplitGguf("tiny"))) await writeFile(join(dir, name), bytes);
  llama = await cpuLlama();
});
afterAll(async () => {
  await llama?.dispose();
  await rm(dir, { recursive: true, force: true });
});

// Greedy decoding recites the sentence; SentencePiece drops the leading space of the first piece.
const sentence = TINY_LLAMA_SENTENCE.trimStart();

describe("the tiny llama in llama.cpp (node-llama-cpp, unguarded, by path)", () => {
  it("loads and recites its sentence, the same every time", async () => {
    const model = await llama.loadModel({ modelPath: join(dir, "tiny.gguf") });
    try {
      expect(model.getWarnings()).toEqual([]);
      expect(await complete(model, "hello", { maxTokens: 7 })).toBe(sentence);
      expect(await complete(model, "hello", { maxTokens: 7 })).toBe(sentence);
      // The prompt matters: a prompt ending in a word continues the sentence from there.
      expect(await complete(model, "only verified", { maxTokens: 2 })).toBe("bytes reach");
    } finally {
      await model.dispose();
    }
  });

  it("loads a split model from its first part, finding the others by name", async () => {
    const model = await llama.loadModel({ modelPath: join(dir, "tiny-00001-of-00003.gguf") });
    try {
      expect(await complete(model, "hello", { maxTokens: 7 })).toBe(sentence);
    } finally {
      await model.dispose();
    }
  });

  it("takes the LoRA adapter, which drops the period", async () => {
    const model = await llama.loadModel({ modelPath: join(dir, "tiny.gguf") });
    try {
      expect(await complete(model, "hello", { maxTokens: 8, lora: join(dir, "lora.gguf") })).toBe("only verified bytes reach the model only verified");
    } finally {
      await model.dispose();
    }
  });
});
