import { ModelGuardError } from "../../errors.js";
import { ggufModelsIn, isGgufFile, splitPartOf, splitPartPath } from "../../gguf/gguf-files.js";
import type { LockedModel } from "../../lockfile/types.js";

/**
 * The GGUF file a load starts from: `requested`; else the model `add` recorded (`gguf.entry`);
 * else the entry's only GGUF model by file names (a split model by its first part).
 */
export function pickGgufFile(model: string, entry: Readonly<LockedModel>, requested?: string): string {
  const locked = (p: string) => Object.hasOwn(entry.files, p);
  if (requested !== undefined) {
    if (!locked(requested)) throw new ModelGuardError("FILE_NOT_LOCKED", `model ${model}: ${requested} is not a locked file`, { model, file: requested });
    if (!isGgufFile(requested)) throw new ModelGuardError("USAGE", `model ${model}: ${requested} is not a .gguf file`, { model, file: requested });
    const split = splitPartOf(requested);
    if (split && split.part !== 1) {
      throw new ModelGuardError("USAGE", `model ${model}: ${requested} is part ${split.part} of a split model; load its first part, ${splitPartPath(split.prefix, 1, split.parts)}`, {
        model,
        file: requested,
      });
    }
    return requested;
  }
  if (entry.gguf?.entry !== undefined) return entry.gguf.entry;
  const loras = new Set(entry.gguf?.loras ?? []);
  const models = ggufModelsIn(Object.keys(entry.files).filter((p) => !loras.has(p)));
  if (models.length === 1) return models[0]!.entry;
  if (models.length === 0) throw new ModelGuardError("FILE_NOT_LOCKED", `model ${model} locks no GGUF model file`, { model });
  throw new ModelGuardError("USAGE", `model ${model} locks ${models.length} GGUF models (${models.map((m) => m.entry).join(", ")}); say which with { file }`, { model });
}
