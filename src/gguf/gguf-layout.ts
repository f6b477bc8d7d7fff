import type { GgufLayout } from "../lockfile/types.js";
import { ggufModelsIn, isGgufFile } from "./gguf-files.js";

/**
 * The `gguf` layout `add` records for the files it locked: the LoRA adapters (by their header's
 * `general.type`), and, when the other GGUF files form exactly one model, its entry and parts in
 * order. Undefined when nothing is GGUF. `typeOf` reads a file's `general.type`.
 */
export async function ggufLayoutOf(files: readonly string[], typeOf: (path: string) => Promise<string | undefined>): Promise<GgufLayout | undefined> {
  const gguf = files.filter(isGgufFile);
  if (gguf.length === 0) return undefined;
  const loras: string[] = [];
  for (const path of gguf) if ((await typeOf(path)) === "adapter") loras.push(path);
  const models = ggufModelsIn(gguf.filter((p) => !loras.includes(p)));
  const layout: GgufLayout = {};
  if (models.length === 1 && models[0]!.missingParts.length === 0) {
    layout.entry = models[0]!.entry;
    if (models[0]!.files.length > 1) layout.parts = models[0]!.files;
  }
  if (loras.length > 0) layout.loras = loras.sort();
  return Object.keys(layout).length > 0 ? layout : undefined;
}
