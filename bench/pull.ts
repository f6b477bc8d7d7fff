/**
 * `npm run bench:pull`: `modelguard pull` of one large model file from the local Hub (a separate
 * process on loopback) against a plain download of the same bytes with no hashing (Node's fetch
 * to a file, and curl when installed), in the same run, alternating, each repeated. Writes the
 * table into README.md. Target: pull / plain <= 1.25 (hashing hidden behind the transfer).
 *
 *   BENCH_PULL_BYTES (default 1e9)   BENCH_RUNS (default 5)
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serializeLockfile } from "../src/lockfile/serialize.js";
import { heading, median, writeReadmeSection } from "./report.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const bytes = Number(process.env.BENCH_PULL_BYTES ?? 1e9);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const work = await mkdtemp(join(tmpdir(), "modelguard-bench-pull-"));

async function makeModel(dir: string): Promise<string> {
  await mkdir(join(dir, "onnx"), { recursive: true });
  const file = await open(join(dir, "onnx", "model.onnx"), "w");
  const hash = createHash("sha256");
  const chunk = randomBytes(16 * 2 ** 20);
  for (let written = 0; written < bytes; written += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, bytes - written));
    hash.update(piece);
    await file.write(piece);
  }
  await file.close();
  return hash.digest("hex");
}

function startHub(repoDir: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "local-hub/cli.ts"), "--root", join(work, "hub"), "--repo", `bench/model=${repoDir}`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => resolve({ url: d.toString().split("\n")[0]!.trim(), stop: () => child.kill() }));
    child.once("exit", (code) => reject(new Error(`local hub exited ${code}`)));
  });
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const hasCurl = spawnSync("curl", ["--version"]).status === 0;
const repoDir = join(work, "repo");
console.error(`generating a ${bytes / 1e9} GB model…`);
const sha256 = await makeModel(repoDir);
const hub = await startHub(repoDir);
try {
  const info = (await (await fetch(`${hub.url}/api/models/bench/model/revision/main`)).json()) as { sha: string };
  const lockfile = join(work, "models.lock.json");
  await writeFile(lockfile, serializeLockfile({ lockfileVersion: 1, models: { bench: { repo: "bench/model", revision: info.sha, files: { "onnx/model.onnx": { size: bytes, sha256 } } } } }));
  const url = `${hub.url}/bench/model/resolve/${info.sha}/onnx/model.onnx`;
  const out = join(work, "out.bin");
  const cache = join(work, "cache");
  const methods: Record<string, () => number> = {
    "modelguard pull (download + sha256 + verify + cache)": () => timed(process.execPath, [join(root, "bin/modelguard.js"), "--lockfile", lockfile, "--cache-dir", cache, "--quiet", "pull"], { HF_ENDPOINT: hub.url }),
    "Node fetch to a file (no hashing)": () => timed(process.execPath, [join(root, "bench/plain-download.mjs"), url, out]),
    ...(hasCurl ? { "curl -L -o file (no hashing)": () => timed("curl", ["-sSfL", "-o", out, url]) } : {}),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
  for (let i = 0; i <= runs; i++) {
    for (const [name, run] of Object.entries(methods)) {
      await rm(cache, { recursive: true, force: true });
      await rm(out, { force: true });
      const t = run();
      if (i > 0) times[name]!.push(t); // run 0 warms the page cache and the server
      console.error(`${i === 0 ? "warm-up" : `run ${i}`}: ${name}: ${t.toFixed(2)} s`);
    }
  }
  const pullMedian = median(times[Object.keys(methods)[0]!]!);
  const plainMedian = median(times["Node fetch to a file (no hashing)"]!);
  const rows = Object.entries(times).map(([name, ts]) => {
    const m = median(ts);
    return `| ${name} | ${m.toFixed(2)} s | ${Math.min(...ts).toFixed(2)}–${Math.max(...ts).toFixed(2)} s | ${(bytes / m / 2 ** 20).toFixed(0)} MiB/s | ${(m / plainMedian).toFixed(2)}x |`;
  });
  const ratio = pullMedian / plainMedian;
  const table = [
    heading(`one ${bytes / 1e9} GB file from the local Hub (another process, loopback), ${runs} runs after a warm-up, median.`, bytes < 1e9 || runs < 5 ? `BENCH_PULL_BYTES=${bytes}, BENCH_RUNS=${runs}` : undefined, work),
    "",
    "| method | median | range | throughput | vs Node fetch |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
    "",
    `**pull / plain download = ${ratio.toFixed(2)}x** (target <= 1.25x: ${ratio <= 1.25 ? "met" : "missed"}).`,
  ].join("\n");
  console.log(table);
  await writeReadmeSection("pull", table);
} finally {
  hub.stop();
  await rm(work, { recursive: true, force: true });
}

