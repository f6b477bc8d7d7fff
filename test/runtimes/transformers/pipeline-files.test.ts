import { afterEach, describe, expect, it } from "vitest";
import { env } from "@huggingface/transformers";
import { parsePipelinePreset, transformersPipelineFiles } from "../../../src/runtimes/transformers/pipeline-files.js";
import { tinyBertFiles } from "../../../examples/tiny-bert.js";
import { messageOf, rejection } from "../../helpers/errors.js";

const REPO = "modelguard-tests/tiny-bert-preset";
const fetchBefore = globalThis.fetch;
const envBefore = { ...env };

afterEach(() => {
  globalThis.fetch = fetchBefore;
});

/** The repo as `add` sees it at the commit: its file list, and reads of its files (counted). */
function repoAt(files: Record<string, Uint8Array>) {
  const reads: string[] = [];
  return { available: new Set(Object.keys(files)), reads, read: async (p: string) => (reads.push(p), files[p]!) };
}

describe("transformersPipelineFiles", () => {
  it("asks transformers.js which files a pipeline needs, per task and dtype, reading only config.json", async () => {
    globalThis.fetch = (() => Promise.reject(new Error("network"))) as typeof fetch;
    const repo = repoAt(tinyBertFiles({ externalData: true }));
    expect(await transformersPipelineFiles({ task: "feature-extraction" }, REPO, repo.available, repo.read)).toEqual({
      files: ["config.json", "onnx/model.onnx", "onnx/model.onnx_data", "tokenizer.json", "tokenizer_config.json"],
      missing: [],
    });
    expect((await transformersPipelineFiles({ task: "feature-extraction", dtype: "q8" }, REPO, repo.available, repo.read)).files).toEqual([
      "config.json",
      "onnx/model_quantized.onnx",
      "onnx/model_quantized.onnx_data",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    expect(new Set(repo.reads)).toEqual(new Set(["config.json"]));
    expect({ ...env }).toEqual(envBefore);
  });

  it("lists what the commit lacks, and refuses an unknown task or dtype", async () => {
    const { "onnx/model_quantized.onnx": _q, ...files } = tinyBertFiles();
    const repo = repoAt(files);
    expect(await transformersPipelineFiles({ task: "feature-extraction", dtype: "q8" }, `${REPO}-3`, repo.available, repo.read)).toMatchObject({
      missing: ["onnx/model_quantized.onnx"],
    });
    const err = await rejection(transformersPipelineFiles({ task: "no-such-task" }, `${REPO}-4`, repo.available, repo.read));
    expect((err as { code?: string }).code).toBe("USAGE");
    expect((err as Error).message).toMatch(/Unsupported pipeline task: no-such-task/);
    expect(messageOf("USAGE", () => parsePipelinePreset("feature-extraction:q9"))).toMatch(/"q9" is not a transformers.js dtype/);
    expect(parsePipelinePreset("text-generation:q4f16")).toEqual({ task: "text-generation", dtype: "q4f16" });
    expect({ ...env }).toEqual(envBefore);
  });
});
