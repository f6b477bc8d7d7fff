import type { InferenceSession } from "onnxruntime-node";
import { ModelGuardError } from "../../errors.js";
import type { LockedModel } from "../../lockfile/types.js";
import { checkExternalDataRefs } from "../../onnx/check-external-data.js";
import { readExternalDataRefs } from "../../onnx/external-data.js";
import type { LoadPlan, Loaded, RuntimeAdapter, VerifiedBytes, VerifiedModel } from "../runtime-adapter.js";
import { verifiedBytesOf } from "../verified-bytes.js";
import { pickOnnxFile } from "./pick-onnx-file.js";

/**
 * onnxruntime-node as a runtime adapter: the entry is a `.onnx` graph; its companions are the
 * locked files its external-data references name (see `onnx/check-external-data.ts` for the
 * measured onnxruntime behaviour behind the rules). onnxruntime-node is imported only when a
 * session is created, so checking a model never loads the native runtime.
 */

export interface OnnxLoadOptions {
  /** Passed to onnxruntime, except `externalData`, which the guard alone fills from verified files. */
  sessionOptions?: Omit<InferenceSession.SessionOptions, "externalData">;
}

// protobuf's hard limit on one message, which onnxruntime enforces when parsing a model.
const ONNX_PROTOBUF_LIMIT = 2 ** 31 - 1;

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

async function planLoad(model: string, entry: Readonly<LockedModel>, bytes: VerifiedBytes): Promise<LoadPlan> {
  refuseTooLarge(model, entry, bytes.file);
  const graph = await bytes.read(0, bytes.size);
  const sizes = Object.fromEntries(Object.entries(entry.files).map(([p, f]) => [p, f.size]));
  try {
    const files = checkExternalDataRefs(readExternalDataRefs(graph), { modelPath: bytes.file, lockedFiles: sizes });
    return { entryFile: bytes.file, companions: files.map((f) => ({ file: f.lockedPath, as: f.location })) };
  } catch (err) {
    if (err instanceof ModelGuardError) {
      throw new ModelGuardError(err.code, `model ${model}: ${bytes.file}: ${err.message}`, { model, file: bytes.file, cause: err });
    }
    throw err;
  }
}

export const onnxruntime: RuntimeAdapter<InferenceSession, OnnxLoadOptions> = {
  runtime: "onnxruntime",
  takes: "bytes",

  isEntry: (path) => path.endsWith(".onnx"),

  entryFile: pickOnnxFile,

  async referencedFiles(entry, available) {
    const folder = folderOf(entry.file);
    const refs = readExternalDataRefs(await entry.read(0, entry.size));
    return [...new Set(refs.map((r) => folder + r.location))].filter((p) => available.has(p));
  },

  check: planLoad,

  async create(model: VerifiedModel, entryFile: string, options: OnnxLoadOptions): Promise<Loaded<InferenceSession>> {
    if (options.sessionOptions && "externalData" in options.sessionOptions) {
      throw new ModelGuardError("USAGE", "externalData is filled by the guard from verified files; do not pass it", { model: model.name });
    }
    refuseTooLarge(model.name, model.entry, entryFile);
    const graph = await model.readFile(entryFile);
    const plan = await planLoad(model.name, model.entry, verifiedBytesOf(entryFile, graph));
    const externalData = await Promise.all(plan.companions.map(async (c) => ({ path: c.as, data: await model.readFile(c.file) })));
    const ort = await import("onnxruntime-node");
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(graph, { ...options.sessionOptions, externalData });
    } catch (err) {
      // Verified bytes onnxruntime cannot use: not tampering, but no session either.
      throw new ModelGuardError("ONNX_INVALID", `model ${model.name}: onnxruntime could not load ${entryFile}: ${(err as Error).message}`, {
        model: model.name,
        file: entryFile,
        cause: err,
      });
    }
    return { session, files: [entryFile, ...plan.companions.map((c) => c.file)] };
  },

  release: (session) => session.release(),
};
