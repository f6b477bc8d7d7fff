import { basename, dirname, join } from "node:path";
import type { InferenceSession } from "onnxruntime-node";
import { ModelGuardError, withErrorContext } from "../../errors.js";
import type { LockedModel } from "../../lockfile/types.js";
import { checkExternalDataRefs } from "../../onnx/check-external-data.js";
import { readExternalDataRefs } from "../../onnx/external-data.js";
import { externalizeInitializers } from "../../onnx/externalize-initializers.js";
import type { LoadPlan, Loaded, RuntimeAdapter, VerifiedBytes, VerifiedFiles, VerifiedModel } from "../runtime-adapter.js";
import { pickOnnxFile } from "./pick-onnx-file.js";

/**
 * onnxruntime-node as a runtime adapter: the entry is a `.onnx` graph; its companions are the
 * locked files its external-data references name (see `onnx/check-external-data.ts` for the
 * measured onnxruntime behaviour behind the rules). onnxruntime-node is imported only when a
 * session is created, so checking a model never loads the native runtime.
 *
 * How a session is made (measured with onnxruntime-node 1.30, see the README's load benchmark):
 * - Tiny models (graph and external data together at most IN_MEMORY_LIMIT, 1 MiB): verified bytes
 *   in memory, `create(bytes, { externalData })`: nothing touches the file system.
 * - External-data models: the graph verified in memory, its data files as private verified copies,
 *   and `create(graph, { extra: { session: { model_external_initializers_file_folder_path } } })`:
 *   onnxruntime maps the copies (MAP_PRIVATE) instead of copying them twice.
 * - Single-file models over GRAPH_IN_MEMORY_LIMIT (1 MiB): the model as a private verified copy, walked by
 *   positioned reads; a small graph is built whose large initializers are external data at their
 *   own offsets in that copy (`onnx/externalize-initializers.ts`), loaded with the folder option.
 *   The tensors keep the offsets they have in the file, so they are not 64-byte aligned: tested
 *   equal to `create(path)` for Add, Conv, MatMul, Gemm, float16 and int8 (MatMulInteger,
 *   DequantizeLinear) weights at every offset mod 64 (test/runtimes/onnxruntime-copies.test.ts).
 * Once `create` has returned, onnxruntime holds its mappings; the copies are checked (any change
 * since they were made fails closed, COPY_CHANGED) and unlinked, so no name is left to reach them.
 */

export interface OnnxLoadOptions {
  /** Passed to onnxruntime, except `externalData`, which the guard alone fills from verified files. */
  sessionOptions?: Omit<InferenceSession.SessionOptions, "externalData">;
}

// protobuf's hard limit on one message, which onnxruntime enforces when parsing a model.
const ONNX_PROTOBUF_LIMIT = 2 ** 31 - 1;
/**
 * At most this many bytes (graph + external data) load from memory. Measured (Add models, guarded
 * loads from memory against from copies): at 256 KiB memory is faster (4.0 against 4.7 ms single-file,
 * 3.9 against 8.3 ms with external data); from 1 MiB up the copies win (5.6 against 10.5 ms, and
 * 2.5x at 64 MiB), as onnxruntime maps instead of copying twice.
 */
export const IN_MEMORY_LIMIT = 2 ** 20;
/** A graph up to this size is read into memory; a larger single-file model is loaded from a copy (same measurement). */
export const GRAPH_IN_MEMORY_LIMIT = 2 ** 20;
const FOLDER_OPTION = "model_external_initializers_file_folder_path";

function refuseTooLarge(model: string, entry: Readonly<LockedModel>, file: string): void {
  const size = entry.files[file]?.size ?? 0;
  if (size > ONNX_PROTOBUF_LIMIT) {
    throw new ModelGuardError(
      "FILE_TOO_LARGE",
      `model ${model}: ${file} is ${size} bytes; an ONNX protobuf is limited to 2 GiB (${ONNX_PROTOBUF_LIMIT} bytes): keep the weights in external data files`,
      { model, file },
    );
  }
}

function folderOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
}

/** The plan for a graph already in memory (or its skeleton: the large raw_data left out). */
function planFromGraph(model: string, entry: Readonly<LockedModel>, file: string, graph: Uint8Array): LoadPlan {
  const sizes = Object.fromEntries(Object.entries(entry.files).map(([p, f]) => [p, f.size]));
  try {
    const files = checkExternalDataRefs(readExternalDataRefs(graph), { modelPath: file, lockedFiles: sizes });
    return { entryFile: file, companions: files.map((f) => ({ file: f.lockedPath, as: f.location })) };
  } catch (err) {
    throw withErrorContext(err, { prefix: `model ${model}: ${file}`, model, file });
  }
}

/** The graph to check: the whole graph when it is small, else its skeleton read by positioned reads. */
async function graphToCheck(bytes: VerifiedBytes, graphInMemoryLimit: number): Promise<Uint8Array> {
  if (bytes.size <= graphInMemoryLimit) return bytes.read(0, bytes.size);
  return (await externalizeInitializers(bytes)).skeleton;
}

function checkOptions(name: string, options: OnnxLoadOptions): void {
  const so = options.sessionOptions as (InferenceSession.SessionOptions & { extra?: Record<string, unknown> }) | undefined;
  if (so && "externalData" in so) {
    throw new ModelGuardError("USAGE", "externalData is filled by the guard from verified files; do not pass it", { model: name });
  }
  const session = so?.extra?.session as Record<string, unknown> | undefined;
  if (so?.extra && (`session.${FOLDER_OPTION}` in so.extra || (session && FOLDER_OPTION in session))) {
    throw new ModelGuardError("USAGE", `${FOLDER_OPTION} is set by the guard to its verified copies; do not pass it`, { model: name });
  }
}

/** Session options with the folder option pointing at the verified copies (the caller's other `extra` entries kept). */
function withFolder(options: OnnxLoadOptions, folder: string): InferenceSession.SessionOptions {
  const so = (options.sessionOptions ?? {}) as InferenceSession.SessionOptions & { extra?: Record<string, unknown> };
  const extra = so.extra ?? {};
  const session = (typeof extra.session === "object" && extra.session !== null ? extra.session : {}) as Record<string, unknown>;
  return { ...so, extra: { ...extra, session: { ...session, [FOLDER_OPTION]: folder } } } as InferenceSession.SessionOptions;
}

async function createSession(name: string, file: string, graph: Uint8Array, options: InferenceSession.SessionOptions): Promise<InferenceSession> {
  const ort = await import("onnxruntime-node");
  try {
    return await ort.InferenceSession.create(graph, options);
  } catch (err) {
    // Verified bytes onnxruntime cannot use: not tampering, but no session either.
    throw new ModelGuardError("ONNX_INVALID", `model ${name}: onnxruntime could not load ${file}: ${(err as Error).message}`, {
      model: name,
      file,
      cause: err,
    });
  }
}

/**
 * Creates the session from `graph` with the copies as its external-data folder, then makes sure
 * the copies are what was verified before handing the session out; the copies are released
 * (unlinked) either way: onnxruntime keeps what it mapped.
 */
async function createFromCopies(name: string, file: string, graph: Uint8Array, copies: VerifiedFiles, options: OnnxLoadOptions): Promise<InferenceSession> {
  try {
    const folder = join(copies.dir, dirname(file));
    const session = await createSession(name, file, graph, withFolder(options, folder));
    try {
      await copies.check();
    } catch (err) {
      await session.release();
      throw err;
    }
    return session;
  } finally {
    await copies.release();
  }
}

export interface OnnxLimits {
  /** Models (graph + external data) up to this many bytes load from memory. Default IN_MEMORY_LIMIT. */
  inMemoryLimit?: number;
  /** Single-file models over this many bytes load from a copy, walked in place. Default GRAPH_IN_MEMORY_LIMIT. */
  graphInMemoryLimit?: number;
}

/** The onnxruntime adapter; `limits` choose between the in-memory and the copy paths (tests force the copies). */
export function onnxruntimeAdapter(limits: OnnxLimits = {}): RuntimeAdapter<InferenceSession, OnnxLoadOptions> {
  const inMemoryLimit = limits.inMemoryLimit ?? IN_MEMORY_LIMIT;
  const graphInMemoryLimit = limits.graphInMemoryLimit ?? GRAPH_IN_MEMORY_LIMIT;
  return {
    runtime: "onnxruntime",
    takes: "bytes",

    isEntry: (path) => path.endsWith(".onnx"),

    entryFile: pickOnnxFile,

    async referencedFiles(entry, available) {
      const folder = folderOf(entry.file);
      const refs = readExternalDataRefs(await graphToCheck(entry, graphInMemoryLimit));
      return [...new Set(refs.map((r) => folder + r.location))].filter((p) => available.has(p));
    },

    async check(model, entry, bytes): Promise<LoadPlan> {
      refuseTooLarge(model, entry, bytes.file);
      return planFromGraph(model, entry, bytes.file, await graphToCheck(bytes, graphInMemoryLimit));
    },

    async create(model: VerifiedModel, entryFile: string, options: OnnxLoadOptions): Promise<Loaded<InferenceSession>> {
      checkOptions(model.name, options);
      refuseTooLarge(model.name, model.entry, entryFile);
      const sizeOf = (f: string) => model.entry.files[f]!.size;
      if (sizeOf(entryFile) > graphInMemoryLimit) return createSingleFileFromCopy(model, entryFile, options);
      const graph = await model.readFile(entryFile);
      const plan = planFromGraph(model.name, model.entry, entryFile, graph);
      const files = [entryFile, ...plan.companions.map((c) => c.file)];
      if (plan.companions.length > 0 && files.reduce((n, f) => n + sizeOf(f), 0) > inMemoryLimit) {
        const copies = await model.verifiedFiles(plan.companions.map((c) => c.file));
        return { session: await createFromCopies(model.name, entryFile, graph, copies, options), files };
      }
      const externalData = await Promise.all(plan.companions.map(async (c) => ({ path: c.as, data: await model.readFile(c.file) })));
      const session = await createSession(model.name, entryFile, graph, { ...options.sessionOptions, externalData } as InferenceSession.SessionOptions);
      return { session, files };
    },

    release: (session) => session.release(),
  };
}

/** The adapter `createSession` uses. */
export const onnxruntime = onnxruntimeAdapter();

/** A single-file model too large for memory: a verified copy, walked in place, weights referred to where they lie. */
async function createSingleFileFromCopy(model: VerifiedModel, entryFile: string, options: OnnxLoadOptions): Promise<Loaded<InferenceSession>> {
  let copies = await model.verifiedFiles([entryFile]);
  try {
    const walked = await externalizeInitializers(copies.bytes(entryFile));
    const plan = planFromGraph(model.name, model.entry, entryFile, walked.skeleton);
    const files = [entryFile, ...plan.companions.map((c) => c.file)];
    if (plan.companions.length > 0) {
      // A single-file model that also names external data (rare): every file in one folder tree.
      await copies.release();
      copies = await model.verifiedFiles(files);
    }
    const graph = walked.rewritten(basename(entryFile));
    return { session: await createFromCopies(model.name, entryFile, graph, copies, options), files };
  } finally {
    await copies.release();
  }
}

