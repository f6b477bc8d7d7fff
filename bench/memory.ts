/**
 * `npm run bench:memory`: peak RSS of each load path, each load in a fresh process
 * (`bench/load-child.mjs`) so peaks do not mix, reporting `process.resourceUsage().maxRSS` after the
 * load: guarded `createSession`, `InferenceSession.create(path)` (the baseline of the target), and
 * `InferenceSession.create(buffer)` with the buffer already read, on bench:load's four models.
 * Every child imports onnxruntime-node and modelguard before loading, so module memory is the same.
 * The guarded load's private verified copy lives in a tmpfs (/dev/shm) where there is one: what it
 * still holds while the session lives (onnxruntime maps it) is reported beside the RSS.
 * Target: guarded peak <= 0.5x the create(path) peak, single-file models.
 *
 *   BENCH_MODEL_BYTES (default 400e6)   BENCH_MEMORY_RUNS (default 3)
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { envNumber, makeLoadModels, root, rotated, type LoadCase } from "./fixtures.js";
import { gb, heading, median, mib, spread, table, verdict, writeReadmeSection } from "./report.js";

const DEFAULT_BYTES = 400e6;
const bytes = envNumber("BENCH_MODEL_BYTES", DEFAULT_BYTES);
const runs = Math.round(envNumber("BENCH_MEMORY_RUNS", 3));
const TARGET = 0.5;

interface ChildResult {
  rssBefore: number;
  peakBefore: number;
  peakAfter: number;
  rssHeld: number;
  copyHeld: number;
  seconds: number;
}

const METHODS = {
  guarded: "guarded `guard.createSession(name)`",
  path: "`InferenceSession.create(path)`",
  buffer: "`InferenceSession.create(buffer)`, buffer already read",
} as const;
type Method = keyof typeof METHODS;

console.error(`generating four ${gb(bytes)} models…`);
const { cache, lockfilePath, publicKeyPath, cases } = await makeLoadModels(bytes, "modelguard-bench-memory-", { elementwise: true });

function child(method: Method, c: LoadCase): ChildResult {
  const spec = { method, lockfile: lockfilePath, cacheDir: cache.cacheDir, publicKey: publicKeyPath, model: c.model, onnxPath: c.onnxPath, external: c.external };
  const result = spawnSync(process.execPath, ["--expose-gc", join(root, "bench/load-child.mjs"), JSON.stringify(spec)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (result.status !== 0) throw new Error(`load child (${method}, ${c.model}) exited ${result.status}`);
  return JSON.parse(result.stdout) as ChildResult;
}

const MiB = (n: number) => `${mib(n)} MiB`;
const missed: string[] = [];
try {
  const sections: string[] = [];
  for (const c of cases) {
    for (const m of Object.keys(METHODS) as Method[]) child(m, c); // warm-up: page cache, code
    const results: Record<Method, ChildResult[]> = { guarded: [], path: [], buffer: [] };
    for (let run = 0; run < runs; run++) {
      for (const m of rotated(Object.keys(METHODS) as Method[], run)) {
        const r = child(m, c);
        results[m].push(r);
        console.error(`${c.model} run ${run + 1}: ${m}: peak ${MiB(r.peakAfter)} (before the load ${MiB(r.rssBefore)}), ${r.seconds.toFixed(2)} s`);
      }
    }
    const peakOf = (m: Method) => median(results[m].map((r) => r.peakAfter));
    const rows = (Object.keys(METHODS) as Method[]).map((m) => {
      const rs = results[m];
      return [
        METHODS[m],
        MiB(peakOf(m)),
        `${spread(rs.map((r) => r.peakAfter), mib)} MiB`,
        MiB(median(rs.map((r) => r.rssBefore))),
        MiB(median(rs.map((r) => r.peakAfter - r.rssBefore))),
        MiB(median(rs.map((r) => r.rssHeld))),
        m === "guarded" ? MiB(median(rs.map((r) => r.copyHeld))) : "",
        `${(peakOf(m) / peakOf("path")).toFixed(2)}x`,
      ];
    });
    const ratio = peakOf("guarded") / peakOf("path");
    const single = c.external.length === 0;
    if (single && !(ratio <= TARGET)) missed.push(`${c.label}: ${ratio.toFixed(2)}x`);
    const lines = [
      `**${c.label}, ${gb(c.bytes)}**`,
      "",
      table(["load path", "peak RSS (maxRSS)", "range", "RSS before the load", "peak − RSS before", "RSS after load + GC, session alive", "verified copy held in tmpfs, session alive", "vs create(path)"], rows),
      "",
      `**guarded / create(path) peak RSS = ${ratio.toFixed(2)}x**${single ? ` (target <= ${TARGET}x: ${verdict(ratio <= TARGET)})` : " (the target is for single-file models)"}.`,
    ];
    sections.push(lines.join("\n"));
  }
  const small = bytes < DEFAULT_BYTES ? `BENCH_MODEL_BYTES=${bytes}, BENCH_MEMORY_RUNS=${runs}` : undefined;
  const markdown = [
    heading(`each load in a fresh Node process (onnxruntime-node and modelguard imported first), ${runs} runs per path after a warm-up, median of \`process.resourceUsage().maxRSS\` after the load.`, small, cache.dir),
    "",
    ...sections.flatMap((s) => [s, ""]),
    "The create(buffer) process read the file(s) before the load, so its RSS before the load holds the bytes. The guarded load copies (and hashes) on a worker into a private tmpfs file that onnxruntime then maps: pages of it count in RSS only once touched (an Add's weights at the first run; a MatMul's are pre-packed into the process's own memory at load, after which onnxruntime drops the mapping and the tmpfs copy is freed).",
  ].join("\n");
  console.log(markdown);
  await writeReadmeSection("memory", markdown);
  for (const m of missed) console.error(`target missed: guarded / create(path) peak RSS, ${m}`);
} finally {
  await cache.remove();
}
