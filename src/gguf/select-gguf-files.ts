import { ModelGuardError } from "../errors.js";
import { ggufModelsIn, hasQuantizationTag, splitPartOf, splitPartPath, type GgufModelFiles } from "./gguf-files.js";

/**
 * What `add` takes from a repo's GGUF files:
 * - with a quantization tag (`org/repo:Q4_K_M`, as node-llama-cpp names models): the one GGUF
 *   model whose file or folder name carries the tag, every part of it;
 * - with neither a tag nor `--include`, in a repo without an ONNX graph: the repo's only GGUF
 *   model. A repo with several (one per quantization, as most have) is refused, listing them,
 *   where node-llama-cpp would quietly take Q4_K_M: the lockfile pins what you chose;
 * - and whatever the selection took, every part of each split model it touched.
 * Multimodal projectors (`mmproj-*.gguf`) are never a model; take them with --include.
 */

function describe(model: GgufModelFiles): string {
  return model.files.length > 1 || model.missingParts.length > 0 ? `${model.entry} (${model.files.length + model.missingParts.length} parts)` : model.entry;
}

function listing(models: readonly GgufModelFiles[]): string {
  return models.map((m) => `  ${describe(m)}`).join("\n");
}

/** The files of the one GGUF model of `paths` that carries `tag`; refuses none or several. */
export function ggufFilesForTag(repo: string, paths: readonly string[], tag: string): string[] {
  const all = ggufModelsIn(paths);
  const tagged = all.filter((m) => hasQuantizationTag(m.entry, tag));
  if (tagged.length === 0) {
    const others = all.length > 0 ? `; its GGUF models:\n${listing(all)}` : "; it has no GGUF file";
    throw new ModelGuardError("USAGE", `no GGUF model of ${repo} has the quantization tag ${tag}${others}`);
  }
  if (tagged.length > 1) {
    throw new ModelGuardError("USAGE", `${tagged.length} GGUF models of ${repo} have the quantization tag ${tag}; choose one with --include:\n${listing(tagged)}`);
  }
  return completeSplitModels(repo, tagged[0]!.files, paths);
}

/**
 * The default for a repo whose default selection found no ONNX graph: its only GGUF model, or
 * undefined when it has none; several are refused, listing them.
 */
export function defaultGgufFiles(repo: string, paths: readonly string[]): string[] | undefined {
  const models = ggufModelsIn(paths);
  if (models.length === 0) return undefined;
  if (models.length > 1) {
    throw new ModelGuardError(
      "USAGE",
      `${repo} holds ${models.length} GGUF models; choose one with a quantization tag (${repo}:Q4_K_M) or --include:\n${listing(models)}`,
    );
  }
  return completeSplitModels(repo, models[0]!.files, paths);
}

/** `selected` plus every missing part of each split model it holds a part of; refuses a part the repo lacks. */
export function completeSplitModels(repo: string, selected: readonly string[], paths: readonly string[]): string[] {
  const available = new Set(paths);
  const out = new Set(selected);
  for (const path of selected) {
    const split = splitPartOf(path);
    if (!split) continue;
    for (let part = 1; part <= split.parts; part++) {
      const partPath = splitPartPath(split.prefix, part, split.parts);
      if (!available.has(partPath)) {
        throw new ModelGuardError("USAGE", `${repo} lacks part ${part} of ${split.parts} of the split model ${splitPartPath(split.prefix, 1, split.parts)} (${partPath})`, {
          file: partPath,
        });
      }
      out.add(partPath);
    }
  }
  return [...out].sort();
}
