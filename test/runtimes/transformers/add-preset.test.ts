import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { env, pipeline } from "@huggingface/transformers";
import { ModelGuard } from "../../../src/guard/guard.js";
import { isModelGuardError } from "../../../src/errors.js";
import { guardTransformers } from "../../../src/transformers.js";
import { tinyBertFiles } from "../../../examples/tiny-bert.js";
import { runCli } from "../../helpers/run-cli.js";
import { rejection } from "../../helpers/errors.js";
import { startHubEnv, type HubTestEnv } from "../../hub/hub-fixture.js";

const REPO = "org/tiny-bert";
let hubEnv: HubTestEnv;
afterEach(async () => {
  await hubEnv?.hub.close();
});

const lockedFiles = async () => Object.keys(JSON.parse(await readFile(hubEnv.lockfilePath, "utf8")).models["tiny-bert"].files).sort();

async function embed(dtype: "fp32" | "q8") {
  const guard = await ModelGuard.open({ lockfile: hubEnv.lockfilePath, cacheDir: hubEnv.cacheDir, allowUnsigned: true, offline: true, env: {} });
  const handle = guardTransformers(env, guard);
  try {
    const extractor = await pipeline("feature-extraction", REPO, { dtype });
    const out = await extractor("the cat sat on the mat");
    await extractor.dispose();
    return out;
  } finally {
    handle.dispose();
  }
}

describe("modelguard add --preset (transformers.js pipelines)", () => {
  it("locks exactly what a pipeline asks for; a missing dtype is refused naming the add command, which then locks it", async () => {
    hubEnv = await startHubEnv();
    const sha = await hubEnv.hub.createRepo(REPO, { files: { ...tinyBertFiles({ externalData: true }), "README.md": "a model card", "onnx/model_fp16.onnx": "unused" } });
    const added = await runCli([...hubEnv.g, "add", REPO, "--preset", "feature-extraction:q8"], { env: hubEnv.env });
    expect(added.stderr).toMatch(/locked tiny-bert/);
    expect(added.code).toBe(0);
    expect(await lockedFiles()).toEqual(["config.json", "onnx/model_quantized.onnx", "onnx/model_quantized.onnx_data", "tokenizer.json", "tokenizer_config.json"]);
    expect((await embed("q8")).dims).toEqual([1, 8, 16]);

    const err = await rejection(embed("fp32"));
    expect(isModelGuardError(err, "FILE_NOT_LOCKED")).toBe(true);
    const command = /lock what the pipeline needs with: modelguard (add .*)$/.exec((err as Error).message)![1]!;
    expect(command).toBe(`add ${REPO}@${sha} --name tiny-bert --preset <task> --update`);
    const again = await runCli([...hubEnv.g, ...command.replace("<task>", "feature-extraction").split(" "), "--preset", "feature-extraction:q8"], { env: hubEnv.env });
    expect(again.code).toBe(0);
    expect(await lockedFiles()).toEqual([
      "config.json",
      "onnx/model.onnx",
      "onnx/model.onnx_data",
      "onnx/model_quantized.onnx",
      "onnx/model_quantized.onnx_data",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    expect((await embed("fp32")).dims).toEqual([1, 8, 16]);
  });

  it("refuses an unknown task or dtype with exit 2, locking nothing", async () => {
    hubEnv = await startHubEnv();
    await hubEnv.hub.createRepo(REPO, { files: tinyBertFiles() });
    for (const preset of ["no-such-task", "feature-extraction:q9"]) {
      const res = await runCli([...hubEnv.g, "add", REPO, "--preset", preset], { env: hubEnv.env });
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/no-such-task|"q9" is not a transformers\.js dtype/);
      expect(res.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
