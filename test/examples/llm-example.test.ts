import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runNode } from "../helpers/run-cli.js";

const script = join(import.meta.dirname, "../../examples/run-llm-example.ts");

describe("npm run example:llm", () => {
  it("locks by quantization tag and signs the tiny llama from the local Hub, generates through node-llama-cpp, and refuses it after one byte changed", async () => {
    const res = await runNode(["--import", "tsx", script], { env: { HF_ENDPOINT: "", HF_HUB_OFFLINE: "", HF_TOKEN: "" } });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^\$ modelguard add modelguard-examples\/tiny-llama-GGUF:F32 --name tiny-llama$/m);
    expect(res.stdout).toMatch(/^locked tiny-llama: modelguard-examples\/tiny-llama-GGUF@[0-9a-f]{12}, tiny-llama-F32\.gguf; gguf \{"entry":"tiny-llama-F32\.gguf"\}$/m);
    expect(res.stdout).toMatch(/^generated from verified copies: "only verified" -> "bytes reach the model\."$/m);
    expect(res.stdout).toMatch(/^after one byte of tiny-llama-F32\.gguf changed: refused \[DIGEST_MISMATCH\] model tiny-llama: tiny-llama-F32\.gguf has sha256/m);
  }, 180_000);
});
