/**
 * `npm run bench:load`: load time of a model through the guard against onnxruntime on its own, in
 * one process, paired runs (every method once per run, in a rotating order), page cache warm:
 *
 *   - `guard.createSession(name)` (guard opened before the clock starts: trust check, read, hash,
 *     external-data check and onnxruntime's work are timed);
 *   - `InferenceSession.create(path)` (unguarded, by path);
 *   - `readFile` + `InferenceSession.create(buffer)` (unguarded, from memory);
 *
 * on a generated single-file model (one float32 MatMul weight inline) and on a model with external
 * data (`model.onnx` + `model.onnx_data`). Every session is released after it is measured. Also
 * timed on their own, for where the time goes: reading the files and SHA-256 of the bytes in memory.
 * Target: guarded / create(path) <= 1.0 (median of the paired ratios) on the single-file model.
 *
 *   BENCH_MODEL_BYTES (default 400e6)   BENCH_RUNS (default 5)
 *   node --expose-gc --import tsx bench/load.ts   (after npm run build)
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ModelGuard } from "modelguard";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { collectGarbage, envNumber, makeLoadModels, rotated, shapeFor, weight, bias, type LoadCase } from "./fixtures.js";
import { gb, heading, median, seconds, spread, table, verdict, writeReadmeSection, hr, since } from "./report.js";

const DEFAULT_BYTES = 400e6;
const bytes = envNumber("BENCH_MODEL_BYTES", DEFAULT_BYTES);
const runs = Math.round(envNumber("BENCH_RUNS", 5));
const TARGET = 1.0;

interface Sample {
  wall: number;
  /** CPU time of the whole process (every thread) during the measurement, in seconds. */
  cpu: number;
  /** For read + create(buffer): the two parts. */
  read?: number;
  create?: number;
}


async function timed(load: () => Promise<InferenceSession>): Promise<Sample> {
  collectGarbage();
  const cpu = process.cpuUsage();
  const start = hr();
  const session = await load();
  const wall = since(start);
  const used = process.cpuUsage(cpu);
  await session.release();
  collectGarbage();
  return { wall, cpu: (used.user + used.system) / 1e6 };
}

async function readAll(c: LoadCase): Promise<{ model: Buffer; externalData: { path: string; data: Buffer }[] }> {
  const [model, ...data] = await Promise.all([readFile(c.onnxPath), ...c.external.map((e) => readFile(e.path))]);
  return { model: model!, externalData: c.external.map((e, i) => ({ path: e.location, data: data[i]! })) };
}

/** The onnxruntime session computes X·W + B with the generated W: a one-hot X picks row r of W. */
async function checkInference(session: InferenceSession, c: LoadCase): Promise<void> {
  const { rows, columns } = shapeFor(bytes);
  const r = rows - 1;
  const x = new Float32Array(rows);
  x[r] = 1;
  const { Y } = await session.run({ X: new Tensor("float32", x, [1, rows]) });
  const y = Y!.data as Float32Array;
  for (const j of [0, 1, columns - 1]) {
    const expected = Math.fround(weight(r * columns + j)) + Math.fround(bias(j));
    if (Math.abs(y[j]! - expected) > 1e-5) throw new Error(`${c.label}: Y[${j}] = ${y[j]}, expected ${expected}: the generated model is wrong`);
  }
}

type Method = (c: LoadCase) => Promise<Sample>;

const { cache, lockfilePath, publicKeyPath, cases } = await (async () => {
  console.error(`generating two ${gb(bytes)} models…`);
  return makeLoadModels(bytes, "modelguard-bench-load-");
})();
const openGuard = () => ModelGuard.open({ lockfile: lockfilePath, cacheDir: cache.cacheDir, trust: { keys: [publicKeyPath] } });

const GUARDED = "guarded `guard.createSession(name)`";
const PATH = "`InferenceSession.create(path)`";
const BUFFER = "`readFile` + `InferenceSession.create(buffer)`";
const methods: Record<string, Method> = {
  [GUARDED]: async (c) => {
    const guard = await openGuard();
    return timed(() => guard.createSession(c.model));
  },
  [PATH]: (c) => timed(() => InferenceSession.create(c.onnxPath)),
  [BUFFER]: async (c) => {
    let read = 0;
    const sample = await timed(async () => {
      const start = hr();
      const { model, externalData } = await readAll(c);
      read = since(start);
      return InferenceSession.create(model, externalData.length ? { externalData } : {});
    });
    return { ...sample, read, create: sample.wall - read };
  },
};

/** Reading the files, then SHA-256 of the bytes in memory on this thread: what a guarded load adds. */
async function components(c: LoadCase): Promise<{ read: number; sha256: number }> {
  collectGarbage();
  let start = hr();
  const { model, externalData } = await readAll(c);
  const read = since(start);
  start = hr();
  for (const b of [model, ...externalData.map((e) => e.data)]) createHash("sha256").update(b).digest();
  const sha256 = since(start);
  return { read, sha256 };
}

const ratio = (a: Sample[], b: Sample[]) => median(a.map((s, i) => s.wall / b[i]!.wall));

const sections: string[] = [];
let singleRatio = NaN;
try {
  for (const c of cases) {
    // Page cache: read every file once before anything is timed.
    await components(c);
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
    const parts: { read: number; sha256: number }[] = [];
    for (let run = 0; run <= runs; run++) {
      for (const name of rotated(Object.keys(methods), run)) {
        const s = await methods[name]!(c);
        if (run > 0) samples[name]!.push(s);
        console.error(`${c.model} ${run === 0 ? "warm-up" : `run ${run}`}: ${name}: ${seconds(s.wall)} s (CPU ${seconds(s.cpu)} s)`);
      }
      const p = await components(c);
      if (run > 0) parts.push(p);
      if (run === 0) {
        const guard = await openGuard();
        const session = await guard.createSession(c.model);
        await checkInference(session, c);
        await session.release();
      }
    }
    const pathSamples = samples[PATH]!;
    const rows = Object.entries(samples).map(([name, ss]) => [
      name,
      `${seconds(median(ss.map((s) => s.wall)))} s`,
      `${spread(ss.map((s) => s.wall), seconds)} s`,
      median(ss.map((s) => s.cpu / s.wall)).toFixed(2),
      `${ratio(ss, pathSamples).toFixed(2)}x`,
    ]);
    const buffer = samples[BUFFER]!;
    const createOnly = buffer.map((s) => s.create!);
    const reads = parts.map((p) => p.read);
    const hashes = parts.map((p) => p.sha256);
    rows.push(
      ["&nbsp;&nbsp;of which `create(buffer)` alone", `${seconds(median(createOnly))} s`, `${spread(createOnly, seconds)} s`, "", ""],
      ["`readFile` of the file(s) alone", `${seconds(median(reads))} s`, `${spread(reads, seconds)} s`, "", ""],
      ["SHA-256 of those bytes in memory (one core)", `${seconds(median(hashes))} s`, `${spread(hashes, seconds)} s`, "", ""],
    );
    const guarded = samples[GUARDED]!;
    const vsPath = ratio(guarded, pathSamples);
    const vsBuffer = ratio(guarded, buffer);
    const g = median(guarded.map((s) => s.wall));
    const single = c.external.length === 0;
    if (single) singleRatio = vsPath;
    const lines = [
      `**${c.label}, ${gb(c.bytes)}**`,
      "",
      table(["method", "median", "range", "CPU / wall", "vs create(path) (median of paired ratios)"], rows),
      "",
      `**guarded / create(path) = ${vsPath.toFixed(2)}x**${single ? ` (target <= ${TARGET.toFixed(1)}x: ${verdict(vsPath <= TARGET)})` : " (the target is for the single-file model)"}; guarded / (readFile + create(buffer)) = ${vsBuffer.toFixed(2)}x.`,
    ];
    if (!single || vsPath > TARGET) {
      const r = median(reads);
      const cb = median(createOnly);
      const p = median(pathSamples.map((s) => s.wall));
      const added = g - r - cb;
      lines.push(
        "",
        `Where the guarded load's ${seconds(g)} s go (medians): reading the bytes ${seconds(r)} s, SHA-256 of them on one core ${seconds(median(hashes))} s, onnxruntime's create(buffer) ${seconds(cb)} s; ${
          added > 0.1 * g ? `the guard adds ${seconds(added)} s to read + create(buffer)` : "the guard adds no measurable time to read + create(buffer)"
        }. ${p < cb ? `onnxruntime alone is faster by path than from memory here (create(path) ${seconds(p)} s, create(buffer) ${seconds(cb)} s without the read)${c.external.length ? ": by path it can map the external-data file instead of copying it" : ""}.` : `create(path) takes ${seconds(p)} s.`}`,
      );
    }
    sections.push(lines.join("\n"));
  }
  const small = bytes < DEFAULT_BYTES || runs < 5 ? `BENCH_MODEL_BYTES=${bytes}, BENCH_RUNS=${runs}` : undefined;
  const markdown = [
    heading(`${runs} paired runs after a warm-up (methods in rotating order, page cache warm, each session released), median; one process.`, small, cache.dir),
    "",
    ...sections.flatMap((s) => [s, ""]),
    `Model: Y = X·W + B with one float32 weight W [${shapeFor(bytes).rows} × ${shapeFor(bytes).columns}] (a MatMul, so onnxruntime pre-packs W as it does a transformer's weights). CPU / wall: CPU time of all of the process's threads over wall time.`,
  ].join("\n");
  console.log(markdown);
  await writeReadmeSection("load", markdown);
  if (!(singleRatio <= TARGET)) console.error(`target missed: guarded / create(path) = ${singleRatio.toFixed(2)}x`);
} finally {
  await cache.remove();
}
