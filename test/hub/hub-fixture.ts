import { join } from "node:path";
import { startLocalHub, type LocalHub } from "../../local-hub/index.js";
import { buildAddModel } from "../helpers/build-model.js";
import { tempDir } from "../helpers/fixtures.js";

/** A repo shaped like a Hugging Face ONNX export: config, tokenizer, onnx/model.onnx + external data, and extras `add` should skip. */
export function onnxRepoFiles(weights = Float32Array.from([1, 2, 3, 4])): Record<string, Uint8Array> {
  const built = buildAddModel({ weights, dims: [4], external: { location: "model.onnx_data" } });
  return {
    "config.json": Buffer.from('{"model_type":"add"}\n'),
    "tokenizer.json": Buffer.from('{"version":"1.0"}\n'),
    "README.md": Buffer.from("# test repo\n"),
    "onnx/model.onnx": built.model,
    "onnx/model.onnx_data": built.externalFiles["model.onnx_data"]!,
    "onnx/model_quantized.onnx": built.model,
    // Big enough that the local Hub stores it in LFS and serves it through the CDN redirect.
    "weights/big.bin": Buffer.alloc(300 * 1024, 7),
  };
}

export interface HubTestEnv {
  hub: LocalHub;
  dir: string;
  cacheDir: string;
  lockfilePath: string;
  /** Environment for a CLI run against this hub and cache. */
  env: NodeJS.ProcessEnv;
  /** Global CLI flags for this lockfile and cache. */
  g: string[];
}

export async function startHubEnv(pageSize = 1000): Promise<HubTestEnv> {
  const hub = await startLocalHub({ pageSize });
  const dir = await tempDir("mg-hub-");
  const cacheDir = join(dir, "hub-cache");
  const lockfilePath = join(dir, "models.lock.json");
  return {
    hub,
    dir,
    cacheDir,
    lockfilePath,
    env: { HF_ENDPOINT: hub.url, HF_HUB_CACHE: cacheDir, HF_TOKEN: "", HF_HUB_OFFLINE: "" },
    g: ["--lockfile", lockfilePath],
  };
}
