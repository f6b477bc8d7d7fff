import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runNode } from "../helpers/run-cli.js";

const script = join(import.meta.dirname, "../../examples/run-transformers-example.ts");

describe("npm run example:transformers", () => {
  it("locks and signs the tiny BERT from the local Hub, prints its embeddings, and refuses it after one byte changed", async () => {
    const res = await runNode(["--import", "tsx", script], { env: { HF_ENDPOINT: "", HF_HUB_OFFLINE: "", HF_TOKEN: "" } });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^\$ modelguard add modelguard-examples\/tiny-bert/m);
    expect(res.stdout).toMatch(/^locked tiny-bert: modelguard-examples\/tiny-bert@[0-9a-f]{12}, config\.json, onnx\/model\.onnx, onnx\/model\.onnx_data, tokenizer\.json, tokenizer_config\.json$/m);
    expect(res.stdout).toMatch(/^ {2}"the cat sat on the mat" +\[-0\.5358, -0\.4844, 0\.2610, -0\.2439, \.\.\.\]$/m);
    expect(res.stdout).toMatch(/similarity: cat\/dog 0\.6066, cat\/bytes 0\.5086/);
    expect(res.stdout).toMatch(/after one byte of onnx\/model\.onnx_data changed: refused \[DIGEST_MISMATCH\] model tiny-bert: onnx\/model\.onnx_data has sha256/);
  }, 180_000);
});
