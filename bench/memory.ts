/**
 * `npm run bench:memory`: peak RSS of each load path, each load in a fresh process
 * (`bench/load-child.mjs`) so peaks do not mix, reporting `process.resourceUsage().maxRSS` after the
 * load: guarded `createSession`, `InferenceSession.create(path)`, and `InferenceSession.create(buffer)`
 * with the buffer already read (the baseline of the target), on bench:load's two MatMul models
 * (single-file and external-data; not its elementwise model).
 * Every child imports onnxruntime-node and modelguard before loading, so module memory is the same.
 * Target: guarded peak <= 1.1x the create(buffer) peak, single-file model.
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
const TARGET = 1.1;

interface ChildResult {
  rssBefore: number;
  peakBefore: number;
  peakAfter: number;
  rssHeld: number;
  seconds: number;
}

const METHODS = {
  guarded: "guarded `guard.createSession(name)`",
  path: "`InferenceSession.create(path)`",
  buffer: "`InferenceSession.create(buffer)`, buffer already read",
} as const;
type Method = keyof typeof METHODS;

console.error(`generating two ${gb(bytes)} models…`);
const { cache, lockfilePath, publicKeyPath, cases } = await makeLoadModels(bytes, "modelguard-bench-memory-");

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
let singleRatio = NaN;
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
        `${(peakOf(m) / peakOf("buffer")).toFixed(2)}x`,
      ];
    });
    const ratio = peakOf("guarded") / peakOf("buffer");
    const single = c.external.length === 0;
    if (single) singleRatio = ratio;
    const lines = [
      `**${c.label}, ${gb(c.bytes)}**`,
      "",
      table(["load path", "peak RSS (maxRSS)", "range", "RSS before the load", "peak − RSS before", "RSS after load + GC, session alive", "vs create(buffer)"], rows),
      "",
      `**guarded / create(buffer) peak RSS = ${ratio.toFixed(2)}x**${single ? ` (target <= ${TARGET}x: ${verdict(ratio <= TARGET)})` : " (the target is for the single-file model)"}.`,
    ];
    if (ratio > TARGET) {
      const extra = peakOf("guarded") - peakOf("buffer");
      lines.push(
        "",
        `The guarded load peaks ${MiB(extra)} higher than onnxruntime given the same bytes (${(extra / c.bytes).toFixed(2)}x the model's ${MiB(c.bytes)}): more than one copy of the bytes is alive in the process while onnxruntime builds the session.`,
      );
    }
    sections.push(lines.join("\n"));
  }
  const small = bytes < DEFAULT_BYTES ? `BENCH_MODEL_BYTES=${bytes}, BENCH_MEMORY_RUNS=${runs}` : undefined;
  const markdown = [
    heading(`each load in a fresh Node process (onnxruntime-node and modelguard imported first), ${runs} runs per path after a warm-up, median of \`process.resourceUsage().maxRSS\` after the load.`, small, cache.dir),
    "",
    ...sections.flatMap((s) => [s, ""]),
    "The create(buffer) process read the file(s) before the load, so its RSS before the load holds the bytes; the guarded one reads them inside `createSession`.",
  ].join("\n");
  console.log(markdown);
  await writeReadmeSection("memory", markdown);
  if (!(singleRatio <= TARGET)) console.error(`target missed: guarded / create(buffer) peak RSS = ${singleRatio.toFixed(2)}x`);
} finally {
  await cache.remove();
}
