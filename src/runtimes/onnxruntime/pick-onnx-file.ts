import { ModelGuardError } from "../../errors.js";
import type { LockedModel } from "../../lockfile/types.js";

// The places Hugging Face ONNX exports put the main graph, most common first.
const PREFERRED = ["onnx/model.onnx", "model.onnx"];

/** The locked file a session is made from: the one asked for, or the model's only/usual `.onnx`. */
export function pickOnnxFile(modelName: string, entry: Readonly<LockedModel>, requested?: string): string {
  if (requested !== undefined) {
    if (!Object.hasOwn(entry.files, requested)) {
      throw new ModelGuardError("FILE_NOT_LOCKED", `model ${modelName}: ${requested} is not a locked file`, { model: modelName, file: requested });
    }
    return requested;
  }
  const onnx = Object.keys(entry.files).filter((p) => p.endsWith(".onnx"));
  if (onnx.length === 1) return onnx[0]!;
  const preferred = PREFERRED.find((p) => onnx.includes(p));
  if (preferred) return preferred;
  throw new ModelGuardError(
    "FILE_NOT_LOCKED",
    onnx.length === 0
      ? `model ${modelName} locks no .onnx file`
      : `model ${modelName} locks several .onnx files (${onnx.join(", ")}); name one with { file }`,
    { model: modelName },
  );
}
