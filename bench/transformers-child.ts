// One transformers.js pipeline load in a fresh process for `npm run bench:transformers`, so each
// way of loading has its own peak RSS. argv[2]: JSON { method: "bytes" | "copies" | "unguarded",
// repo, lockfile, cacheDir, publicKey, localDir }. Prints JSON: load seconds, peak RSS before and
// after, RSS and private-copy bytes held while the pipeline lives, whether onnxruntime maps a
// model file, and the first embedding values (every method must compute the same).
import { existsSync } from "node:fs";
import { readFile, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { env, pipeline } from "@huggingface/transformers";
import { ModelGuard } from "modelguard";
import { guardTransformers } from "modelguard/transformers";

const spec = JSON.parse(process.argv[2]!) as { method: string; repo: string; lockfile: string; cacheDir: string; publicKey: string; localDir: string };
const peak = () => process.resourceUsage().maxRSS * 1024;
const copyRoot = process.env.MODELGUARD_COPY_DIR || (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
const used = async () => {
  const fs = await statfs(copyRoot);
  return (fs.blocks - fs.bfree) * fs.bsize;
};

let guard: ModelGuard | undefined;
let handle: { dispose(): Promise<void> } | undefined;
if (spec.method === "unguarded") {
  Object.assign(env, { localModelPath: `${spec.localDir}/`, allowLocalModels: true, allowRemoteModels: false, useFSCache: false, useBrowserCache: false });
} else {
  guard = await ModelGuard.open({ lockfile: spec.lockfile, cacheDir: spec.cacheDir, trust: { keys: [spec.publicKey] }, offline: true });
  handle = guardTransformers(env, guard, { serve: spec.method === "copies" ? "copies" : "bytes" });
}
(globalThis as { gc?: () => void }).gc?.();
const usedBefore = await used();
const peakBefore = peak();
const start = process.hrtime.bigint();
const extractor = await pipeline("feature-extraction", spec.repo, { dtype: "fp32" });
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const peakAfter = peak();
(globalThis as { gc?: () => void }).gc?.();
const rssHeld = process.memoryUsage.rss();
const copyHeld = Math.max(0, (await used()) - usedBefore);
const maps = await readFile("/proc/self/maps", "utf8").catch(() => "");
const mapped = maps.split("\n").some((l) => /\.onnx(_data)?$/.test(l.trim()));
const output = await extractor(["the cat sat on the mat"], { pooling: "mean", normalize: true });
const first = Array.from(output.data as Float32Array).slice(0, 4);
await extractor.dispose();
await handle?.dispose();
await guard?.close();
process.stdout.write(JSON.stringify({ seconds, peakBefore, peakAfter, rssHeld, copyHeld, mapped, first }));
