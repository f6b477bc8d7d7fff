/**
 * `npm run bench:load`: load time of a model through the guard against onnxruntime on its own, in
 * one process, paired runs (every method once per run, in a rotating order), page cache warm:
 *
 *   - `guard.createSession(name)` (guard opened before the clock starts: trust check, copy + hash
 *     into a private verified copy, external-data check and onnxruntime's work are timed);
 *   - `InferenceSession.create(path)` (unguarded, by path: nothing is verified);
 *   - SHA-256 of the model's files in memory on one core (no I/O): what verifying alone costs at
 *     the least, for the external-data target;
 *
 * on four generated models of about the same size, each one big float32 weight W: a MatMul model
 * (onnxruntime pre-packs W) and an elementwise Add model (nothing to pre-pack), each single-file
 * and with external data. Every session is released after it is measured.
 * Targets (median of the paired ratios): single-file, guarded / create(path) <= 0.6; external data,
 * guarded / (one-core SHA-256 of its files + create(path)) <= 1.2.
 *
 *   BENCH_MODEL_BYTES (default 400e6)   BENCH_RUNS (default 5)
 *   node --expose-gc --import tsx bench/load.ts   (after npm run build)
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ModelGuard } from "modelguard";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { collectGarbage, envNumber, makeLoadModels, rotated, shapeFor, weight, weightCount, bias, type LoadCase } from "./fixtures.js";
import { copyRootNote, gb, heading, median, seconds, spread, table, verdict, writeReadmeSection, hr, since } from "./report.js";

const DEFAULT_BYTES = 400e6;
const bytes = envNumber("BENCH_MODEL_BYTES", DEFAULT_BYTES);
const runs = Math.round(envNumber("BENCH_RUNS", 5));
const SINGLE_TARGET = 0.6;
const EXTERNAL_TARGET = 1.2;

interface Sample {
  wall: number;
  /** CPU time of the whole process (every thread) during the measurement, in seconds. */
  cpu: number;
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

/**
 * The onnxruntime session computes the model with the generated W. MatMul: X·W + B, a one-hot X
 * picks row r of W. Elementwise: X + W, X one number added to every float of W.
 */
async function checkInference(session: InferenceSession, c: LoadCase): Promise<void> {
  const check = (y: Float32Array, j: number, expected: number) => {
    if (Math.abs(y[j]! - expected) > 1e-5) throw new Error(`${c.label}: Y[${j}] = ${y[j]}, expected ${expected}: the generated model is wrong`);
  };
  if (c.shape.kind === "elementwise") {
    const x = 0.25;
    const { Y } = await session.run({ X: new Tensor("float32", Float32Array.of(x), [1]) });
    const y = Y!.data as Float32Array;
    const n = weightCount(c.shape);
    if (y.length !== n) throw new Error(`${c.label}: Y has ${y.length} floats, expected ${n}: the generated model is wrong`);
    for (const j of [0, 1, n - 1]) check(y, j, Math.fround(weight(j)) + x);
    return;
  }
  const { rows, columns } = c.shape;
  const r = rows - 1;
  const x = new Float32Array(rows);
  x[r] = 1;
  const { Y } = await session.run({ X: new Tensor("float32", x, [1, rows]) });
  const y = Y!.data as Float32Array;
  for (const j of [0, 1, columns - 1]) check(y, j, Math.fround(weight(r * columns + j)) + Math.fround(bias(j)));
}

const { cache, lockfilePath, publicKeyPath, cases } = await (async () => {
  console.error(`generating four ${gb(bytes)} models…`);
  return makeLoadModels(bytes, "modelguard-bench-load-", { elementwise: true });
})();
const openGuard = () => ModelGuard.open({ lockfile: lockfilePath, cacheDir: cache.cacheDir, trust: { keys: [publicKeyPath] } });

const GUARDED = "guarded `guard.createSession(name)`";
const PATH = "`InferenceSession.create(path)`";
const SHA = "SHA-256 of the files in memory, one core";
const ratio = (a: number[], b: number[]) => median(a.map((s, i) => s / b[i]!));

const KIND = { matmul: "MatMul", elementwise: "Add" } as const;
const sections: string[] = [];
const targets: string[] = [];
const missed: string[] = [];
try {
  for (const c of cases) {
    const single = c.external.length === 0;
    // The bytes for the in-memory hash, read once; the page cache warm for the loads.
    const files = await Promise.all([readFile(c.onnxPath), ...c.external.map((e) => readFile(e.path))]);
    const hashInMemory = async (): Promise<Sample> => {
      const start = hr();
      for (const b of files) createHash("sha256").update(b).digest();
      return { wall: since(start), cpu: since(start) };
    };
    const methods: Record<string, () => Promise<Sample>> = {
      [GUARDED]: async () => {
        const guard = await openGuard();
        return timed(() => guard.createSession(c.model));
      },
      [PATH]: () => timed(() => InferenceSession.create(c.onnxPath)),
      [SHA]: hashInMemory,
    };
    const samples: Record<string, Sample[]> = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
    for (let run = 0; run <= runs; run++) {
      for (const name of rotated(Object.keys(methods), run)) {
        const s = await methods[name]!();
        if (run > 0) samples[name]!.push(s);
        console.error(`${c.model} ${run === 0 ? "warm-up" : `run ${run}`}: ${name}: ${seconds(s.wall)} s (CPU ${seconds(s.cpu)} s)`);
      }
      if (run === 0) {
        const guard = await openGuard();
        const session = await guard.createSession(c.model);
        await checkInference(session, c);
        await session.release();
        collectGarbage();
      }
    }
    const wall = (m: string) => samples[m]!.map((s) => s.wall);
    const path = wall(PATH);
    const guarded = wall(GUARDED);
    const shaPlusPath = wall(SHA).map((h, i) => h + path[i]!);
    const rows = Object.keys(methods).map((name) => [
      name,
      `${seconds(median(wall(name)))} s`,
      `${spread(wall(name), seconds)} s`,
      name === SHA ? "1.00" : median(samples[name]!.map((s) => s.cpu / s.wall)).toFixed(2),
      name === SHA ? "" : `${ratio(wall(name), path).toFixed(2)}x`,
    ]);
    const label = `${single ? "single-file" : "external-data"} ${KIND[c.shape.kind]}`;
    let line: string;
    if (single) {
      const r = ratio(guarded, path);
      targets.push(`**${label} ${r.toFixed(2)}x (${verdict(r <= SINGLE_TARGET)})**`);
      if (!(r <= SINGLE_TARGET)) missed.push(`${label}: ${r.toFixed(2)}x`);
      line = `**guarded / create(path) = ${r.toFixed(2)}x** (target <= ${SINGLE_TARGET}: ${verdict(r <= SINGLE_TARGET)}).`;
    } else {
      const r = ratio(guarded, shaPlusPath);
      targets.push(`**${label} ${r.toFixed(2)}x (${verdict(r <= EXTERNAL_TARGET)})**`);
      if (!(r <= EXTERNAL_TARGET)) missed.push(`${label}: ${r.toFixed(2)}x`);
      line = `**guarded / (one-core SHA-256 + create(path)) = ${r.toFixed(2)}x** (target <= ${EXTERNAL_TARGET}: ${verdict(r <= EXTERNAL_TARGET)}); guarded / create(path) = ${ratio(guarded, path).toFixed(2)}x (create(path) reads nothing it does not touch, and checks nothing).`;
    }
    sections.push([`**${c.label}, ${gb(c.bytes)}**`, "", table(["method", "median", "range", "CPU / wall", "vs create(path) (median of paired ratios)"], rows), "", line].join("\n"));
  }
  const small = bytes < DEFAULT_BYTES || runs < 5 ? `BENCH_MODEL_BYTES=${bytes}, BENCH_RUNS=${runs}` : undefined;
  const matmul = shapeFor(bytes, "matmul");
  const elementwise = shapeFor(bytes, "elementwise");
  const markdown = [
    heading(`${runs} paired runs after a warm-up (methods in rotating order, page cache warm, each session released), median; one process. ${await copyRootNote()}`, small, cache.dir),
    "",
    `Targets (median of paired ratios): single-file, guarded / create(path) <= ${SINGLE_TARGET}; external data, guarded / (one-core SHA-256 of its files + create(path)) <= ${EXTERNAL_TARGET}. ${targets.join(", ")}.`,
    "",
    ...sections.flatMap((s) => [s, ""]),
    `Models, each one float32 weight W: MatMul, Y = X·W + B with W [${matmul.rows} × ${matmul.columns}] (onnxruntime pre-packs W for the MatMul, as it does a transformer's weights); Add, Y = X + W with W [${elementwise.length}] and X [1] broadcast (nothing to pre-pack: onnxruntime keeps the mapped copy). CPU / wall: CPU time of all of the process's threads over wall time. The guarded load hashes while it copies on the worker pool, so its CPU / wall can exceed 1.`,
  ].join("\n");
  console.log(markdown);
  await writeReadmeSection("load", markdown);
  for (const m of missed) console.error(`target missed: ${m}`);
} finally {
  await cache.remove();
}
