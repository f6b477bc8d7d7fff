/**
 * `npm run bench:load`: load time of a model through the guard against onnxruntime on its own, in
 * one process, paired runs (every method once per run, in a rotating order), page cache warm:
 *
 *   - `guard.createSession(name)` (guard opened before the clock starts: trust check, read, hash,
 *     external-data check and onnxruntime's work are timed);
 *   - `InferenceSession.create(path)` (unguarded, by path);
 *   - `readFile` + `InferenceSession.create(buffer)` (unguarded, from memory);
 *
 * on three generated models of about the same size, each one big float32 weight W: a single-file
 * MatMul model (W inline; onnxruntime pre-packs it), a single-file elementwise model (Y = X + W, W
 * inline; nothing to pre-pack) and the MatMul model with external data (`model.onnx` +
 * `model.onnx_data`). Every session is released after it is measured. Also timed on their own, for
 * where the time goes: reading the files and SHA-256 of the bytes in memory.
 * Target: guarded / create(path) <= 1.0 (median of the paired ratios) on a single-file model; reported
 * for each of the two single-file kinds.
 *
 *   BENCH_MODEL_BYTES (default 400e6)   BENCH_RUNS (default 5)
 *   node --expose-gc --import tsx bench/load.ts   (after npm run build)
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ModelGuard } from "modelguard";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { collectGarbage, envNumber, makeLoadModels, rotated, shapeFor, weight, weightCount, bias, type LoadCase } from "./fixtures.js";
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

type Method = (c: LoadCase) => Promise<Sample>;

const { cache, lockfilePath, publicKeyPath, cases } = await (async () => {
  console.error(`generating three ${gb(bytes)} models…`);
  return makeLoadModels(bytes, "modelguard-bench-load-", { elementwise: true });
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

const KIND = { matmul: "MatMul", elementwise: "elementwise" } as const;
const sections: string[] = [];
/** guarded / create(path) of each single-file model: the target's figures. */
const targets: { kind: string; ratio: number }[] = [];
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
        collectGarbage();
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
    const single = c.external.length === 0;
    if (single) targets.push({ kind: KIND[c.shape.kind], ratio: vsPath });
    const g = median(guarded.map((s) => s.wall));
    const r = median(reads);
    const cb = median(createOnly);
    const p = median(pathSamples.map((s) => s.wall));
    const added = g - r - cb;
    const onnxruntimeAlone =
      p < cb
        ? `onnxruntime alone is faster by path than from memory here (create(path) ${seconds(p)} s, create(buffer) ${seconds(cb)} s without the read)${
            c.external.length ? ": by path it can map the external-data file instead of copying it" : ""
          }, so no load that reads the bytes and hands them to create(buffer) can match create(path).`
        : `onnxruntime alone is faster from memory than by path here (create(buffer) ${seconds(cb)} s without the read, create(path) ${seconds(p)} s), ${
            r + cb <= p ? "with room for the read" : "but not by enough to cover the read"
          }: read + create(buffer) ${seconds(r + cb)} s against create(path) ${seconds(p)} s.`;
    sections.push(
      [
        `**${c.label}, ${gb(c.bytes)}**`,
        "",
        table(["method", "median", "range", "CPU / wall", "vs create(path) (median of paired ratios)"], rows),
        "",
        `**guarded / create(path) = ${vsPath.toFixed(2)}x**${single ? ` (target <= ${TARGET.toFixed(1)}x: ${verdict(vsPath <= TARGET)})` : " (the target is for single-file models)"}; guarded / (readFile + create(buffer)) = ${vsBuffer.toFixed(2)}x.`,
        "",
        `Where the guarded load's ${seconds(g)} s go (medians): reading the bytes ${seconds(r)} s, SHA-256 of them on one core ${seconds(median(hashes))} s, onnxruntime's create(buffer) ${seconds(cb)} s; ${
          added > 0.1 * g ? `the guard adds ${seconds(added)} s to read + create(buffer)` : "the guard adds no measurable time to read + create(buffer)"
        }. ${onnxruntimeAlone}`,
      ].join("\n"),
    );
  }
  const small = bytes < DEFAULT_BYTES || runs < 5 ? `BENCH_MODEL_BYTES=${bytes}, BENCH_RUNS=${runs}` : undefined;
  const matmul = shapeFor(bytes, "matmul");
  const elementwise = shapeFor(bytes, "elementwise");
  const markdown = [
    heading(`${runs} paired runs after a warm-up (methods in rotating order, page cache warm, each session released), median; one process.`, small, cache.dir),
    "",
    `Target guarded / create(path) <= ${TARGET.toFixed(1)}x (median of paired ratios), single-file model: ${targets
      .map((t) => `**${t.kind} model ${t.ratio.toFixed(2)}x (${verdict(t.ratio <= TARGET)})**`)
      .join(", ")}.`,
    "",
    ...sections.flatMap((s) => [s, ""]),
    `Models, each one float32 weight W: MatMul, Y = X·W + B with W [${matmul.rows} × ${matmul.columns}] (onnxruntime pre-packs W for the MatMul, as it does a transformer's weights); elementwise, Y = X + W with W [${elementwise.length}] and X [1] broadcast (an Add only: nothing to pre-pack). CPU / wall: CPU time of all of the process's threads over wall time.`,
  ].join("\n");
  console.log(markdown);
  await writeReadmeSection("load", markdown);
  for (const t of targets) if (!(t.ratio <= TARGET)) console.error(`target missed on the ${t.kind} model: guarded / create(path) = ${t.ratio.toFixed(2)}x`);
} finally {
  await cache.remove();
}
