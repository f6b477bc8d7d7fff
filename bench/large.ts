/**
 * `npm run bench:large`: a model no in-memory load can take, loaded through the guard: 4.5 GB of
 * external data in 9 float32 tensors of 500 MB (one data file over Node's 4 GiB Buffer limit,
 * each tensor far over the 2 GiB protobuf limit's tenth), each load in a fresh process
 * (`bench/load-child.mjs`): guarded `createSession` against `InferenceSession.create(path)`, time,
 * peak RSS and what the private verified copy holds in tmpfs while the session lives. Then one
 * guarded session runs: each tensor is gathered at its first and last index and checked.
 *
 *   BENCH_LARGE_TENSORS (default 9)   BENCH_LARGE_TENSOR_BYTES (default 500e6)   BENCH_LARGE_RUNS (default 3)
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ModelGuard } from "modelguard";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { DATA_LOCATION_EXTERNAL, GraphField, ModelField, NodeField, OperatorSetIdField, StringStringEntryField, TensorDataType, TensorField, TypeField, TypeTensorField, ValueInfoField, ShapeField, DimensionField } from "../src/onnx/onnx-fields.js";
import { concatBytes, messageField, stringField, varintField } from "../src/onnx/protobuf-write.js";
import { BenchCache, envNumber, root, weight, writeExternalData, type Sink } from "./fixtures.js";
import { copyRootNote, gb, heading, median, mib, seconds, spread, table, writeReadmeSection } from "./report.js";

const DEFAULT_TENSORS = 9;
const DEFAULT_TENSOR_BYTES = 500e6;
const tensors = Math.round(envNumber("BENCH_LARGE_TENSORS", DEFAULT_TENSORS));
const tensorBytes = Math.round(envNumber("BENCH_LARGE_TENSOR_BYTES", DEFAULT_TENSOR_BYTES) / 4) * 4;
const runs = Math.round(envNumber("BENCH_LARGE_RUNS", 3));
const count = tensorBytes / 4;
const LOCATION = "model.onnx_data";

function valueInfo(field: number, name: string, elemType: number, dims: number[]): Uint8Array {
  const shape = dims.map((d) => messageField(ShapeField.dim, [varintField(DimensionField.dimValue, d)]));
  return messageField(field, [stringField(ValueInfoField.name, name), messageField(ValueInfoField.type, [messageField(TypeField.tensorType, [varintField(TypeTensorField.elemType, elemType), messageField(TypeTensorField.shape, shape)])])]);
}

/** Y_t = Gather(W_t, I) for each tensor W_t, stored at offset t × tensorBytes of one data file. */
function graph(): Uint8Array {
  const g: Uint8Array[] = [];
  for (let t = 0; t < tensors; t++) {
    g.push(messageField(GraphField.node, [stringField(NodeField.input, `W${t}`), stringField(NodeField.input, "I"), stringField(NodeField.output, `Y${t}`), stringField(NodeField.opType, "Gather")]));
  }
  g.push(stringField(GraphField.name, "large"));
  for (let t = 0; t < tensors; t++) {
    const entry = (k: string, v: string) => messageField(TensorField.externalData, [stringField(StringStringEntryField.key, k), stringField(StringStringEntryField.value, v)]);
    g.push(
      messageField(GraphField.initializer, [
        varintField(TensorField.dims, count),
        varintField(TensorField.dataType, TensorDataType.FLOAT),
        stringField(TensorField.name, `W${t}`),
        entry("location", LOCATION),
        entry("offset", String(t * tensorBytes)),
        entry("length", String(tensorBytes)),
        varintField(TensorField.dataLocation, DATA_LOCATION_EXTERNAL),
      ]),
    );
  }
  g.push(valueInfo(GraphField.input, "I", TensorDataType.INT64, [2]));
  for (let t = 0; t < tensors; t++) g.push(valueInfo(GraphField.output, `Y${t}`, TensorDataType.FLOAT, [2]));
  return concatBytes([
    varintField(ModelField.irVersion, 8),
    messageField(ModelField.graph, g),
    messageField(ModelField.opsetImport, [stringField(OperatorSetIdField.domain, ""), varintField(OperatorSetIdField.version, 17)]),
  ]);
}

interface ChildResult {
  rssBefore: number;
  peakAfter: number;
  rssHeld: number;
  copyHeld: number;
  seconds: number;
}

console.error(`generating a ${gb(tensors * tensorBytes)} external-data model (${tensors} × ${gb(tensorBytes)})…`);
const cache = await BenchCache.create("modelguard-bench-large-");
try {
  const onnxPath = await cache.addFile("large", "bench/large", "onnx/model.onnx", (sink: Sink) => sink(graph()));
  const dataPath = await cache.addFile("large", "bench/large", `onnx/${LOCATION}`, (sink: Sink) => writeExternalData(sink, { kind: "elementwise", length: tensors * count }));
  const { lockfilePath, publicKeyPath } = await cache.lockAndSign();
  const child = (method: "guarded" | "path"): ChildResult => {
    const spec = { method, lockfile: lockfilePath, cacheDir: cache.cacheDir, publicKey: publicKeyPath, model: "large", onnxPath, external: [{ location: LOCATION, path: dataPath }] };
    const result = spawnSync(process.execPath, ["--expose-gc", join(root, "bench/load-child.mjs"), JSON.stringify(spec)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 20 });
    if (result.status !== 0) throw new Error(`load child (${method}) exited ${result.status}`);
    return JSON.parse(result.stdout) as ChildResult;
  };
  const results: Record<"guarded" | "path", ChildResult[]> = { guarded: [], path: [] };
  for (let run = 0; run <= runs; run++) {
    for (const m of run % 2 ? (["path", "guarded"] as const) : (["guarded", "path"] as const)) {
      const r = child(m);
      if (run > 0) results[m].push(r);
      console.error(`${run === 0 ? "warm-up" : `run ${run}`}: ${m}: ${seconds(r.seconds)} s, peak RSS ${mib(r.peakAfter)} MiB, copy held ${mib(r.copyHeld)} MiB`);
    }
  }
  // The guarded session computes with the verified weights: first and last float of each tensor.
  const guard = await ModelGuard.open({ lockfile: lockfilePath, cacheDir: cache.cacheDir, trust: { keys: [publicKeyPath] } });
  const session: InferenceSession = await guard.createSession("large");
  const out = await session.run({ I: new Tensor("int64", BigInt64Array.of(0n, BigInt(count - 1)), [2]) });
  for (let t = 0; t < tensors; t++) {
    const y = out[`Y${t}`]!.data as Float32Array;
    const expected = [Math.fround(weight(t * count)), Math.fround(weight(t * count + count - 1))];
    if (y[0] !== expected[0] || y[1] !== expected[1]) throw new Error(`Y${t} = ${Array.from(y)}, expected ${expected}`);
  }
  await session.release();
  const row = (label: string, rs: ChildResult[], copy: boolean) => [
    label,
    `${seconds(median(rs.map((r) => r.seconds)))} s`,
    `${spread(rs.map((r) => r.seconds), seconds)} s`,
    `${mib(median(rs.map((r) => r.peakAfter)))} MiB`,
    `${mib(median(rs.map((r) => r.rssHeld)))} MiB`,
    copy ? `${mib(median(rs.map((r) => r.copyHeld)))} MiB` : "",
  ];
  const small = tensors !== DEFAULT_TENSORS || tensorBytes !== DEFAULT_TENSOR_BYTES || runs < 3 ? `BENCH_LARGE_TENSORS=${tensors}, BENCH_LARGE_TENSOR_BYTES=${tensorBytes}, BENCH_LARGE_RUNS=${runs}` : undefined;
  const markdown = [
    heading(`an external-data model of ${gb(tensors * tensorBytes)} (${tensors} float32 tensors of ${gb(tensorBytes)} in one ${LOCATION}; graph: a Gather of each), each load in a fresh process, ${runs} runs after a warm-up, median. ${await copyRootNote()}`, small, cache.dir),
    "",
    table(["load path", "load time", "range", "peak RSS (maxRSS)", "RSS after load + GC, session alive", "verified copy held in tmpfs, session alive"], [row("guarded `guard.createSession(name)`", results.guarded, true), row("`InferenceSession.create(path)` (nothing verified)", results.path, false)]),
    "",
    `**Loads** (and computes: each tensor's first and last float checked through a guarded session). The guarded time is hashing ${gb(tensors * tensorBytes)} while copying it into the private copy, one file on one core; onnxruntime then maps the copy as it maps the file by path, touching nothing. Before issue 11 this model was refused: one Node Buffer holds at most 4 GiB.`,
  ].join("\n");
  console.log(markdown);
  await writeReadmeSection("large", markdown);
} finally {
  await cache.remove();
}
