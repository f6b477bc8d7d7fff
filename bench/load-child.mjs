// One load in a fresh process for `npm run bench:memory`, so each load path's peak RSS is its own.
// argv[2]: JSON { method: "guarded" | "path" | "buffer", lockfile, cacheDir, publicKey, model, onnxPath, external: [{ location, path }] }.
// Prints JSON: the process's RSS and peak RSS (bytes) before and after the load, the bytes its
// verified copies still hold in their file system while the session lives, and the load time.
import { existsSync } from "node:fs";
import { readFile, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { InferenceSession } from "onnxruntime-node";
import { ModelGuard } from "modelguard";

const spec = JSON.parse(process.argv[2]);
const peak = () => process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB
const rss = () => process.memoryUsage.rss();

let load;
if (spec.method === "guarded") {
  const guard = await ModelGuard.open({ lockfile: spec.lockfile, cacheDir: spec.cacheDir, trust: { keys: [spec.publicKey] } });
  load = () => guard.createSession(spec.model);
} else if (spec.method === "path") {
  load = () => InferenceSession.create(spec.onnxPath);
} else if (spec.method === "buffer") {
  // The baseline of the target: the bytes are already in memory when onnxruntime is called.
  const model = await readFile(spec.onnxPath);
  const externalData = await Promise.all(spec.external.map(async (e) => ({ path: e.location, data: await readFile(e.path) })));
  load = () => InferenceSession.create(model, externalData.length ? { externalData } : {});
} else {
  throw new Error(`unknown method ${spec.method}`);
}
// What the guard's private copies hold in their file system (a tmpfs is memory too).
const copyRoot = process.env.MODELGUARD_COPY_DIR || (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
const used = async () => {
  const fs = await statfs(copyRoot);
  return (fs.blocks - fs.bfree) * fs.bsize;
};
globalThis.gc?.();
const usedBefore = await used();
const before = { rss: rss(), peak: peak() };
const start = process.hrtime.bigint();
const session = await load();
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const peakAfter = peak();
globalThis.gc?.();
const rssHeld = rss(); // what stays resident while the session lives
const copyHeld = Math.max(0, (await used()) - usedBefore); // copies onnxruntime still maps (unlinked, so only it holds them)
process.stdout.write(JSON.stringify({ rssBefore: before.rss, peakBefore: before.peak, peakAfter, rssHeld, copyHeld, seconds }));
await session.release();
