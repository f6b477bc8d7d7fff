/**
 * What the benchmarks load and verify, generated on the spot into a temp dir and removed after:
 * a Hugging Face cache (`models--org--name/blobs/{sha256}` + relative snapshot symlinks), a
 * lockfile pinning every file's size and sha256, signed with a fresh key by `modelguard sign`.
 * Large files are written in chunks while they are hashed, so no file is ever whole in memory.
 */
import { spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { endianness, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serializeLockfile, type LockedModel, type Lockfile } from "modelguard";
import { DimensionField, ModelField, NodeField, OperatorSetIdField, ShapeField, StringStringEntryField, TensorDataType, TensorField, TypeField, TypeTensorField, ValueInfoField, GraphField, DATA_LOCATION_EXTERNAL } from "../src/onnx/onnx-fields.js";
import { bytesField, concatBytes, encodeVarint, messageField, stringField, varintField } from "../src/onnx/protobuf-write.js";
import { repoFolderName } from "../src/hub/cache-layout.js";
import { placeVerifiedFile, writeRef } from "../src/hub/store-in-cache.js";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const cli = join(root, "bin/modelguard.js");
export const REVISION = "be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4";

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
  return value;
}

/** Frees what the last measurement dropped, when node runs with --expose-gc. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The methods in a different order each run, so no method always goes first or after the same one. */
export function rotated<T>(items: readonly T[], run: number): T[] {
  const k = run % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export type Sink = (bytes: Uint8Array) => Promise<void>;

/** A Hugging Face hub cache plus the lockfile entries of what was put in it. */
export class BenchCache {
  readonly cacheDir: string;
  readonly lockfile: Lockfile = { lockfileVersion: 1, models: {} };
  readonly #dir: string;

  // Interrupted (Ctrl-C), the generated files (up to a few GB) are still removed.
  readonly #onSignal = (signal: NodeJS.Signals) => {
    rmSync(this.#dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };

  private constructor(dir: string) {
    this.#dir = dir;
    this.cacheDir = join(dir, "hub");
    process.once("SIGINT", this.#onSignal).once("SIGTERM", this.#onSignal);
  }

  static async create(prefix: string): Promise<BenchCache> {
    return new BenchCache(await mkdtemp(join(tmpdir(), prefix)));
  }

  get dir(): string {
    return this.#dir;
  }

  /**
   * Writes one file of model `name` (repo `repo`) through `produce`, hashing as it goes, then puts
   * it at `blobs/{sha256}` with `snapshots/{REVISION}/{path}` linking to it. Returns the snapshot path.
   */
  async addFile(name: string, repo: string, path: string, produce: (sink: Sink) => Promise<void>): Promise<string> {
    const repoDir = join(this.cacheDir, repoFolderName(repo));
    await mkdir(join(repoDir, "blobs"), { recursive: true });
    const temp = join(repoDir, "blobs", `.bench-${randomBytes(6).toString("hex")}.part`);
    const handle = await open(temp, "wx");
    const hash = createHash("sha256");
    let size = 0;
    try {
      await produce(async (bytes) => {
        hash.update(bytes);
        size += bytes.length;
        await handle.write(bytes);
      });
      await handle.datasync(); // no writeback of our own files during the measurements
    } finally {
      await handle.close();
    }
    const sha256 = hash.digest("hex");
    const target = await placeVerifiedFile(this.cacheDir, repo, REVISION, path, temp, sha256);
    await writeRef(this.cacheDir, repo, "main", REVISION);
    const entry: LockedModel = (this.lockfile.models[name] ??= { repo, revision: REVISION, files: {} });
    entry.files[path] = { size, sha256 };
    return target;
  }

  /** Writes the lockfile, makes a key pair and signs every model with `modelguard sign` (the built CLI). */
  async lockAndSign(): Promise<{ lockfilePath: string; publicKeyPath: string }> {
    const lockfilePath = join(this.#dir, "models.lock.json");
    await writeFile(lockfilePath, serializeLockfile(this.lockfile));
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const publicKeyPath = join(this.#dir, "bench.pub");
    const privateKeyPath = join(this.#dir, "bench.key");
    await writeFile(publicKeyPath, publicKey.export({ type: "spki", format: "pem" }));
    await writeFile(privateKeyPath, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const signed = spawnSync(process.execPath, [cli, "--lockfile", lockfilePath, "--quiet", "sign", "--key", privateKeyPath], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (signed.status !== 0) throw new Error(`modelguard sign exited ${signed.status}`);
    return { lockfilePath, publicKeyPath };
  }

  async remove(): Promise<void> {
    process.off("SIGINT", this.#onSignal).off("SIGTERM", this.#onSignal);
    await rm(this.#dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The models: one big float32 initializer W, in one of two kinds of graph.
//   - matmul:      Y = X·W + B, X [1, K], W [K, M], B [M], Y [1, M]. A real MatMul, so onnxruntime
//                  does with W what it does with a transformer's weights (pre-packs it).
//   - elementwise: Y = X + W, X [1] (broadcast), W [N], Y [N]. W is only added elementwise, so
//                  onnxruntime has nothing to pre-pack.
// Both are written the same way (W's bytes streamed into the hole of the serialized model).

/** W's columns in the MatMul model; K (rows) follows from the requested size. */
export const COLUMNS = 1000;

/** The value of W's i-th float (row-major): cheap, deterministic, so a test inference can check it. */
export function weight(i: number): number {
  return ((i * 7919) % 2003) / 2003 - 0.5;
}
export function bias(j: number): number {
  return j / COLUMNS;
}

export interface MatMulShape {
  kind: "matmul";
  rows: number;
  columns: number;
}
export interface ElementwiseShape {
  kind: "elementwise";
  length: number;
}
export type ModelShape = MatMulShape | ElementwiseShape;
export type ModelKind = ModelShape["kind"];

/** The shape of a model of `kind` whose W takes about `bytes`. */
export function shapeFor(bytes: number, kind: "matmul"): MatMulShape;
export function shapeFor(bytes: number, kind: "elementwise"): ElementwiseShape;
export function shapeFor(bytes: number, kind: ModelKind): ModelShape;
export function shapeFor(bytes: number, kind: ModelKind): ModelShape {
  return kind === "matmul"
    ? { kind, rows: Math.max(1, Math.round(bytes / 4 / COLUMNS)), columns: COLUMNS }
    : { kind, length: Math.max(1, Math.round(bytes / 4)) };
}

/** W's dimensions. */
export function weightDims(shape: ModelShape): number[] {
  return shape.kind === "matmul" ? [shape.rows, shape.columns] : [shape.length];
}

/** The number of floats in W. */
export function weightCount(shape: ModelShape): number {
  return weightDims(shape).reduce((n, d) => n * d, 1);
}

/** A message whose bytes are `prefix`, then `hole` bytes written separately, then `suffix`. */
interface Holey {
  prefix: Uint8Array;
  hole: number;
  suffix: Uint8Array;
}

const LEN = 2; // protobuf wire type of length-delimited fields

function wrap(field: number, before: Uint8Array[], inner: Holey, after: Uint8Array[]): Holey {
  const innerLength = inner.prefix.length + inner.hole + inner.suffix.length;
  return {
    prefix: concatBytes([...before, encodeVarint(field * 8 + LEN), encodeVarint(innerLength), inner.prefix]),
    hole: inner.hole,
    suffix: concatBytes([inner.suffix, ...after]),
  };
}

function valueInfo(field: number, name: string, dims: number[]): Uint8Array {
  const shape = dims.map((d) => messageField(ShapeField.dim, [varintField(DimensionField.dimValue, d)]));
  const tensorType = [varintField(TypeTensorField.elemType, TensorDataType.FLOAT), messageField(TypeTensorField.shape, shape)];
  return messageField(field, [stringField(ValueInfoField.name, name), messageField(ValueInfoField.type, [messageField(TypeField.tensorType, tensorType)])]);
}

function node(opType: string, inputs: string[], output: string): Uint8Array {
  return messageField(GraphField.node, [
    ...inputs.map((i) => stringField(NodeField.input, i)),
    stringField(NodeField.output, output),
    stringField(NodeField.name, opType.toLowerCase()),
    stringField(NodeField.opType, opType),
  ]);
}

function tensorHead(name: string, dims: number[]): Uint8Array[] {
  return [...dims.map((d) => varintField(TensorField.dims, d)), varintField(TensorField.dataType, TensorDataType.FLOAT), stringField(TensorField.name, name)];
}

function floatBytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** What the graph holds besides W: its nodes (before W), and other initializers, input and output (after). */
function graphAround(shape: ModelShape): { nodes: Uint8Array[]; after: Uint8Array[] } {
  if (shape.kind === "elementwise") {
    return {
      nodes: [node("Add", ["X", "W"], "Y")],
      after: [valueInfo(GraphField.input, "X", [1]), valueInfo(GraphField.output, "Y", [shape.length])],
    };
  }
  const { rows, columns } = shape;
  const b = messageField(GraphField.initializer, [...tensorHead("B", [columns]), bytesField(TensorField.rawData, floatBytes(Float32Array.from({ length: columns }, (_, j) => bias(j))))]);
  return {
    nodes: [node("MatMul", ["X", "W"], "XW"), node("Add", ["XW", "B"], "Y")],
    after: [b, valueInfo(GraphField.input, "X", [1, rows]), valueInfo(GraphField.output, "Y", [1, columns])],
  };
}

/**
 * The model's bytes around W's data: with `externalLocation`, the whole `.onnx` (W stored at offset
 * 0 of that file, hole 0); without, the `.onnx` with W's raw_data as the hole.
 */
function modelAround(shape: ModelShape, externalLocation?: string): Holey {
  const dims = weightDims(shape);
  const wBytes = weightCount(shape) * 4;
  const w: Holey = externalLocation
    ? {
        prefix: concatBytes([
          ...tensorHead("W", dims),
          ...[["location", externalLocation], ["offset", "0"], ["length", String(wBytes)]].map(([k, v]) =>
            messageField(TensorField.externalData, [stringField(StringStringEntryField.key, k!), stringField(StringStringEntryField.value, v!)]),
          ),
          varintField(TensorField.dataLocation, DATA_LOCATION_EXTERNAL),
        ]),
        hole: 0,
        suffix: new Uint8Array(0),
      }
    : { prefix: concatBytes([...tensorHead("W", dims), encodeVarint(TensorField.rawData * 8 + LEN), encodeVarint(wBytes)]), hole: wBytes, suffix: new Uint8Array(0) };
  const { nodes, after } = graphAround(shape);
  const graph = wrap(GraphField.initializer, [...nodes, stringField(GraphField.name, "bench")], w, after);
  return wrap(ModelField.graph, [varintField(ModelField.irVersion, 8), stringField(ModelField.producerName, "modelguard-bench")], graph, [
    messageField(ModelField.opsetImport, [stringField(OperatorSetIdField.domain, ""), varintField(OperatorSetIdField.version, 17)]),
  ]);
}

const CHUNK_FLOATS = 4 * 2 ** 20; // 16 MiB per write

/** W's bytes, row-major little-endian float32, in 16 MiB chunks through one reused buffer. */
async function writeWeights(sink: Sink, count: number): Promise<void> {
  if (endianness() !== "LE") throw new Error("the bench writes float32 in host order and expects a little-endian host");
  const chunk = new Float32Array(Math.min(CHUNK_FLOATS, count));
  for (let start = 0; start < count; start += chunk.length) {
    const n = Math.min(chunk.length, count - start);
    for (let i = 0; i < n; i++) chunk[i] = weight(start + i);
    await sink(floatBytes(chunk.subarray(0, n)));
  }
}

/** One `.onnx` holding W inline (raw_data): about `weightCount(shape) × 4` bytes. */
export async function writeSingleFileModel(sink: Sink, shape: ModelShape): Promise<void> {
  const model = modelAround(shape);
  await sink(model.prefix);
  await writeWeights(sink, weightCount(shape));
  await sink(model.suffix);
}

/** A small `.onnx` whose W is at offset 0 of `location`; write that file with `writeExternalData`. */
export function externalDataModel(shape: ModelShape, location: string): Uint8Array {
  const model = modelAround(shape, location);
  return concatBytes([model.prefix, model.suffix]);
}

export function writeExternalData(sink: Sink, shape: ModelShape): Promise<void> {
  return writeWeights(sink, weightCount(shape));
}

/** Files of `bytes` pseudo-random bytes: one random 16 MiB block, each copy stamped with its index. */
export async function writeRandomFile(sink: Sink, bytes: number): Promise<void> {
  const block = randomBytes(16 * 2 ** 20);
  for (let written = 0, i = 0; written < bytes; written += block.length, i++) {
    block.writeUInt32LE(i, 0);
    await sink(block.subarray(0, Math.min(block.length, bytes - written)));
  }
}

/** One way the benchmarks load a model: the lock name, the `.onnx` path, its external-data files. */
export interface LoadCase {
  label: string;
  model: string;
  onnxPath: string;
  external: { location: string; path: string }[];
  bytes: number;
  /** The generated graph and W's shape, for a test inference. */
  shape: ModelShape;
}

export const EXTERNAL_LOCATION = "model.onnx_data";

/**
 * The models of the load benchmarks, each about `bytes`, cached, locked and signed: the MatMul
 * model single-file (`single`: W inline in model.onnx) and with external data (`external`: a small
 * model.onnx, W in model.onnx_data); with `elementwise`, also the elementwise (Add) model both ways
 * (`elementwise`, `external-elementwise`).
 */
export async function makeLoadModels(
  bytes: number,
  prefix: string,
  { elementwise = false }: { elementwise?: boolean } = {},
): Promise<{ cache: BenchCache; lockfilePath: string; publicKeyPath: string; cases: LoadCase[] }> {
  const cache = await BenchCache.create(prefix);
  try {
    const size = (model: string) => Object.values(cache.lockfile.models[model]!.files).reduce((n, f) => n + f.size, 0);
    const singleFile = async (model: string, repo: string, kind: string, shape: ModelShape): Promise<LoadCase> => {
      const onnxPath = await cache.addFile(model, repo, "onnx/model.onnx", (sink) => writeSingleFileModel(sink, shape));
      return { label: `single-file ${kind} model (model.onnx)`, model, onnxPath, external: [], bytes: size(model), shape };
    };
    const externalData = async (model: string, repo: string, kind: string, shape: ModelShape): Promise<LoadCase> => {
      const onnxPath = await cache.addFile(model, repo, "onnx/model.onnx", (sink) => sink(externalDataModel(shape, EXTERNAL_LOCATION)));
      const data = await cache.addFile(model, repo, `onnx/${EXTERNAL_LOCATION}`, (sink) => writeExternalData(sink, shape));
      return { label: `external-data ${kind} model (model.onnx + ${EXTERNAL_LOCATION})`, model, onnxPath, external: [{ location: EXTERNAL_LOCATION, path: data }], bytes: size(model), shape };
    };
    const matmul = shapeFor(bytes, "matmul");
    const add = shapeFor(bytes, "elementwise");
    const cases = [await singleFile("single", "bench/single-file", "MatMul", matmul)];
    if (elementwise) cases.push(await singleFile("elementwise", "bench/elementwise", "elementwise", add));
    cases.push(await externalData("external", "bench/external-data", "MatMul", matmul));
    if (elementwise) cases.push(await externalData("external-elementwise", "bench/external-elementwise", "elementwise", add));
    const { lockfilePath, publicKeyPath } = await cache.lockAndSign();
    return { cache, lockfilePath, publicKeyPath, cases };
  } catch (err) {
    await cache.remove();
    throw err;
  }
}
