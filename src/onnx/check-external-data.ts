import { ModelGuardError } from "../errors.js";
import { unsafePathReason } from "../lockfile/safe-path.js";
import type { ExternalDataRef } from "./external-data.js";

/**
 * Decides which external-data references of a model may be served to onnxruntime, and from
 * which locked file. The guard then hands exactly those files, verified, to
 * `InferenceSession.create(modelBytes, { externalData: [{ path: location, data }] })`.
 *
 * Measured with onnxruntime-node 1.30.0 (Linux x64, model created from bytes), which is why
 * only main-graph dense initializers are accepted:
 *
 * - Without `externalData`, a main-graph initializer's relative location is resolved against
 *   process.cwd(). With graphOptimizationLevel "disabled" the file IS read from the working
 *   directory (so are Constant-node tensors); with the default level, session creation fails in
 *   the optimizer ("model_path must not be empty"). Absolute locations and locations escaping
 *   the working directory ("../x") are refused by onnxruntime 1.30 itself.
 * - With `externalData`, main-graph initializers (and Constant-node tensors, which onnxruntime
 *   turns into initializers) are read from memory, never from disk, even when a file of that
 *   name exists in the working directory; a location missing from the table is an error, not a
 *   fallback to disk. Absolute and "../" locations are served from memory too.
 * - The table is matched against the location string verbatim: "w.bin" and "sub/w.bin" work;
 *   a model location "./w.bin" is never found (whatever path is given), while a table path
 *   "./w.bin" does match a model location "w.bin". Locations are therefore required to be plain
 *   relative paths, so the string we check is the string onnxruntime looks up.
 * - Sparse initializers (values or indices external) ignore `externalData`: their data is read
 *   from process.cwd() even when the table has the location (a file there wins; without one,
 *   creation fails). Likewise initializers of subgraphs (If/Loop bodies). Both would load
 *   unverified bytes from wherever the service runs, so they are refused.
 * - The location "*\/_ORT_MEM_ADDR_/*" (offset = a raw pointer in older versions) is refused by
 *   onnxruntime 1.30 when it appears in a model; it is refused here anyway, so an older runtime
 *   is never handed a pointer chosen by the model's author.
 */

/** One external data file to hand to onnxruntime: `location` as the model names it, read from `lockedPath`. */
export interface ExternalDataFile {
  location: string;
  lockedPath: string;
}

export interface CheckExternalDataOptions {
  /** The model's path among the locked files, e.g. `onnx/model.onnx`; locations resolve against its folder. */
  modelPath: string;
  /** The model's locked files: path to size in bytes. */
  lockedFiles: Readonly<Record<string, number>>;
}

const ORT_MEMORY_ADDRESS_LOCATION = "*/_ORT_MEM_ADDR_/*";

/**
 * Returns the distinct external files the model needs, or throws EXTERNAL_DATA_UNVERIFIED naming
 * the first reference that cannot be served from a verified locked file.
 */
export function checkExternalDataRefs(
  refs: readonly ExternalDataRef[],
  options: CheckExternalDataOptions,
): ExternalDataFile[] {
  const folder = options.modelPath.includes("/") ? options.modelPath.slice(0, options.modelPath.lastIndexOf("/") + 1) : "";
  const files = new Map<string, ExternalDataFile>();
  for (const ref of refs) {
    const refuse = (why: string): never => {
      const part = ref.part ? ` (${ref.part})` : "";
      throw new ModelGuardError(
        "EXTERNAL_DATA_UNVERIFIED",
        `tensor "${ref.tensorName}"${part} in ${describePlace(ref)} has external data at location ${JSON.stringify(ref.location)}: ${why}`,
        { file: options.modelPath },
      );
    };
    if (ref.where !== "initializer") {
      refuse(`only initializers of the main graph can be loaded from verified files (${whyPlaceRefused(ref)})`);
    }
    const reason = unsafeLocationReason(ref.location);
    if (reason !== undefined) refuse(`the location ${reason}`);
    const lockedPath = folder + ref.location;
    // hasOwn: a bare "constructor" or "__proto__" must not find Object.prototype's members.
    if (!Object.hasOwn(options.lockedFiles, lockedPath)) refuse(`${lockedPath} is not a locked file of the model`);
    const size = options.lockedFiles[lockedPath]!;
    const offset = ref.offset ?? 0;
    if (offset > size) refuse(`offset ${offset} is past the end of ${lockedPath} (${size} bytes)`);
    if (ref.length !== undefined && offset + ref.length > size) {
      refuse(`offset ${offset} + length ${ref.length} is past the end of ${lockedPath} (${size} bytes)`);
    }
    if (!files.has(ref.location)) files.set(ref.location, { location: ref.location, lockedPath });
  }
  return [...files.values()];
}

/** Why a location cannot be used as-is, or undefined when it is a plain relative path. */
export function unsafeLocationReason(location: string): string | undefined {
  if (location === "") return "is missing";
  if (location === ORT_MEMORY_ADDRESS_LOCATION) return "is onnxruntime's in-memory address marker";
  return unsafePathReason(location);
}

function describePlace(ref: ExternalDataRef): string {
  switch (ref.where) {
    case "initializer":
      return "an initializer";
    case "sparse_initializer":
      return "a sparse initializer";
    case "attribute":
      return "a node attribute";
    case "subgraph":
      return "a subgraph";
    case "training":
      return "training_info";
    case "function":
      return "a function";
  }
}

function whyPlaceRefused(ref: ExternalDataRef): string {
  switch (ref.where) {
    case "sparse_initializer":
    case "subgraph":
      return "onnxruntime reads this tensor from the working directory, not from the files handed to it";
    default:
      return "this place is not served from verified memory";
  }
}
