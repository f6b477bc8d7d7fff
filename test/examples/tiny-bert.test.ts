import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { env, pipeline, AutoTokenizer, type Tensor } from "@huggingface/transformers";
import { readExternalDataRefs } from "../../src/onnx/external-data.js";
import { sha256Hex } from "../../src/digest/sha256.js";
import { TINY_BERT, TINY_BERT_VOCAB, tinyBertFiles, tinyBertWeights } from "../../examples/tiny-bert.js";
import { tempDir } from "../helpers/fixtures.js";

const REPO = "modelguard-tests/tiny-bert";

/** The model folder as a transformers.js `localModelPath` tree: {root}/{repo}/{files}. */
async function writeModelFolder(files: Record<string, Uint8Array>): Promise<string> {
  const root = await tempDir("mg-tiny-bert-");
  for (const [path, bytes] of Object.entries(files)) {
    const target = join(root, REPO, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, bytes);
  }
  return root;
}

/** Counts every call to globalThis.fetch and env.fetch, failing any that happens. */
function countFetches(): { calls: string[]; restore: () => void } {
  const calls: string[] = [];
  const saved = { global: globalThis.fetch, env: env.fetch };
  const refuse = (input: unknown) => {
    calls.push(String(input));
    return Promise.reject(new Error(`network access in a test: ${String(input)}`));
  };
  globalThis.fetch = refuse as typeof fetch;
  env.fetch = refuse;
  return {
    calls,
    restore: () => {
      globalThis.fetch = saved.global;
      env.fetch = saved.env;
    },
  };
}

/** The encoder computed in plain JS from the same weights (float64): what the graph must output. */
function referenceHiddenState(ids: readonly number[], mask: readonly number[]): number[][] {
  const { hidden, layerNormEpsilon } = TINY_BERT;
  const w = tinyBertWeights();
  return ids.map((id, pos) => {
    const x = Array.from({ length: hidden }, (_, h) => w.word[id * hidden + h]! + w.tokenType[h]! + w.position[pos * hidden + h]!);
    const mean = x.reduce((a, v) => a + v, 0) / hidden;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / hidden;
    const normed = x.map((v, h) => ((v - mean) / Math.sqrt(variance + layerNormEpsilon)) * w.lnGamma[h]! + w.lnBeta[h]!);
    return Array.from({ length: hidden }, (_, o) => {
      let sum = w.denseBias[o]!;
      for (let h = 0; h < hidden; h++) sum += normed[h]! * w.denseWeight[h * hidden + o]!;
      return Math.tanh(sum) * mask[pos]!;
    });
  });
}

function rows(t: Tensor): number[][] {
  const [, seq, hidden] = t.dims as [number, number, number];
  const data = Array.from(t.data as Float32Array);
  return Array.from({ length: seq }, (_, i) => data.slice(i * hidden, (i + 1) * hidden));
}

function expectClose(actual: number[][], expected: number[][], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - expected[i]![j]!)).toBeLessThan(tolerance)));
}

const saved = { ...env };
afterEach(() => {
  Object.assign(env, saved);
});

describe("the tiny BERT test model", () => {
  it("is deterministic and small", () => {
    const a = tinyBertFiles({ externalData: true });
    const b = tinyBertFiles({ externalData: true });
    expect(Object.keys(a).sort()).toEqual([
      "config.json",
      "onnx/model.onnx",
      "onnx/model.onnx_data",
      "onnx/model_quantized.onnx",
      "onnx/model_quantized.onnx_data",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    for (const path of Object.keys(a)) expect(sha256Hex(a[path]!)).toBe(sha256Hex(b[path]!));
    const total = Object.values(a).reduce((n, f) => n + f.length, 0);
    expect(total).toBeLessThan(64 * 1024);
  });

  it("keeps its weights in external data when asked, and declares it in the config", () => {
    const inline = tinyBertFiles();
    expect(readExternalDataRefs(inline["onnx/model.onnx"]!)).toEqual([]);
    expect(JSON.parse(Buffer.from(inline["config.json"]!).toString())["transformers.js_config"]).toBeUndefined();
    const external = tinyBertFiles({ externalData: true });
    const refs = readExternalDataRefs(external["onnx/model.onnx"]!);
    expect(new Set(refs.map((r) => r.location))).toEqual(new Set(["model.onnx_data"]));
    expect(refs.map((r) => r.tensorName).sort()).toEqual(["dense_weight", "position_embeddings", "token_type_embeddings", "word_embeddings"]);
    expect(new Set(readExternalDataRefs(external["onnx/model_quantized.onnx"]!).map((r) => r.location))).toEqual(new Set(["model_quantized.onnx_data"]));
    expect(JSON.parse(Buffer.from(external["config.json"]!).toString())["transformers.js_config"]).toEqual({ use_external_data_format: true });
  });
});

describe("transformers.js, unguarded, on the tiny BERT from a local folder", () => {
  for (const externalData of [false, true]) {
    it(`runs a feature-extraction pipeline with no network access (${externalData ? "external data" : "single file"})`, async () => {
      const root = await writeModelFolder(tinyBertFiles({ externalData }));
      const fetches = countFetches();
      try {
        env.localModelPath = `${root}/`;
        env.allowLocalModels = true;
        env.allowRemoteModels = false;
        env.useFSCache = false;
        const tokenizer = await AutoTokenizer.from_pretrained(REPO);
        const encoded = tokenizer("Hello world, the cat sat!");
        const ids = Array.from(encoded.input_ids.data as BigInt64Array, Number);
        const word = (t: string) => TINY_BERT_VOCAB.indexOf(t as never);
        expect(ids).toEqual(["[CLS]", "hello", "world", ",", "the", "cat", "sat", "!", "[SEP]"].map(word));

        const embed = await pipeline("feature-extraction", REPO);
        const out = await embed("Hello world, the cat sat!");
        expect(out.dims).toEqual([1, ids.length, TINY_BERT.hidden]);
        expectClose(rows(out), referenceHiddenState(ids, ids.map(() => 1)), 1e-5);

        // Padding: the masked positions come out as zeros.
        const batch = await embed(["tiny model", "the cat sat on the mat"]);
        const short = rows(batch).slice(0, batch.dims[1]);
        expect(short[4]!.map(Math.abs)).toEqual(new Array(TINY_BERT.hidden).fill(0));

        const quantized = await pipeline("feature-extraction", REPO, { dtype: "q8" });
        const q = await quantized("Hello world, the cat sat!");
        expectClose(rows(q), referenceHiddenState(ids, ids.map(() => 1)), 0.05);
        await Promise.all([embed.dispose(), quantized.dispose()]);
      } finally {
        fetches.restore();
        await rm(root, { recursive: true, force: true });
      }
      expect(fetches.calls).toEqual([]);
    });
  }
});
