import { basename } from "node:path";
import { ModelGuardError } from "../../errors.js";
import { splitPartOf, splitPartPath } from "../../gguf/gguf-files.js";
import { readGgufMetadata, type ReadAt } from "../../gguf/read-gguf-metadata.js";
import type { LockedModel } from "../../lockfile/types.js";
import type { LoadPlan } from "../runtime-adapter.js";

/**
 * What llama.cpp will open when given a GGUF file, decided from the file's name and its verified
 * header: a split model (`split.count` > 1) is found by name, `{prefix}-0000i-of-0000N.gguf` beside
 * the first part, so every part must be a locked file of the same model, named as llama.cpp will
 * look for it, and the header must agree with the name. Anything else is refused before llama.cpp
 * sees it: a part that is not locked would be a file nobody verified.
 */

export interface GgufFacts {
  /** `general.type`: `model`, `adapter` (LoRA), `mmproj`, or undefined. */
  type?: string;
  /** 1 for a file that is not split. */
  splitCount: number;
  /** 0-based. */
  splitNo: number;
}

export async function readGgufFacts(readAt: ReadAt, size: number, what: string): Promise<GgufFacts> {
  const { values } = await readGgufMetadata(readAt, size, ["general.type", "split.count", "split.no"], what);
  const type = values.get("general.type");
  const count = values.get("split.count") ?? 1;
  const no = values.get("split.no") ?? 0;
  if (typeof count !== "number" || typeof no !== "number" || !Number.isInteger(count) || !Number.isInteger(no) || count < 1 || no < 0 || no >= count) {
    throw new ModelGuardError("GGUF_INVALID", `${what}: split.no ${String(no)} / split.count ${String(count)} are not a part number and a part count`);
  }
  return { ...(typeof type === "string" ? { type } : {}), splitCount: count, splitNo: no };
}

/** The other parts a file's header and name say it has (none for a file that is not split), with the checks above. */
export function splitCompanions(model: string, entry: Readonly<LockedModel>, file: string, facts: GgufFacts): LoadPlan {
  const where = { model, file };
  const split = splitPartOf(file);
  if (facts.splitCount === 1) {
    // A name that says "part 1 of 3" on a file that is whole: llama.cpp loads it alone, which is fine.
    return { entryFile: file, companions: [] };
  }
  if (!split || split.parts !== facts.splitCount || split.part !== facts.splitNo + 1) {
    const should = split ? splitPartPath(split.prefix, facts.splitNo + 1, facts.splitCount) : `a name ending in -${String(facts.splitNo + 1).padStart(5, "0")}-of-${String(facts.splitCount).padStart(5, "0")}.gguf`;
    throw new ModelGuardError(
      "GGUF_INVALID",
      `model ${model}: ${file} is part ${facts.splitNo + 1} of ${facts.splitCount} of a split model by its header, so llama.cpp would look for its parts by a name it does not have (${should})`,
      where,
    );
  }
  if (split.part !== 1) return { entryFile: file, companions: [] };
  const companions = [];
  for (let part = 2; part <= split.parts; part++) {
    const path = splitPartPath(split.prefix, part, split.parts);
    if (!Object.hasOwn(entry.files, path)) {
      throw new ModelGuardError(
        "EXTERNAL_DATA_UNVERIFIED",
        `model ${model}: ${file} is split in ${split.parts} parts and part ${part}, ${path}, is not locked: llama.cpp would open a file nobody verified`,
        where,
      );
    }
    companions.push({ file: path, as: basename(path) });
  }
  return { entryFile: file, companions };
}

/**
 * What the lockfile's `gguf` field says of `file`, held to its verified header: a file recorded as
 * the model (its entry or a part) must not be a LoRA adapter, one recorded as a LoRA adapter must
 * be one, and the parts recorded for the entry must be the parts its header and name say it has.
 * The field is also signed by lockfile signatures (`signing/locked-model-statement.ts`); this check
 * is what holds it where a weaker signature (a publisher's, per-file ones) cannot cover it, and it
 * is what `verify` runs, so a model whose layout contradicts its bytes fails the gate as its load would.
 */
export function checkGgufLayout(model: string, entry: Readonly<LockedModel>, file: string, facts: GgufFacts, plan: LoadPlan): void {
  const layout = entry.gguf;
  if (!layout) return;
  const where = { model, file };
  const asModel = layout.entry === file || (layout.parts ?? []).includes(file);
  if (asModel && facts.type === "adapter") {
    throw new ModelGuardError("GGUF_INVALID", `model ${model}: the lockfile's gguf field names ${file} as the model, but its header says it is a LoRA adapter (general.type "adapter")`, where);
  }
  if ((layout.loras ?? []).includes(file) && facts.type !== "adapter") {
    throw new ModelGuardError(
      "GGUF_INVALID",
      `model ${model}: the lockfile's gguf field names ${file} as a LoRA adapter, but its header's general.type is ${JSON.stringify(facts.type ?? null)}`,
      where,
    );
  }
  if (layout.entry === file) {
    const parts = plan.companions.length > 0 ? [file, ...plan.companions.map((c) => c.file)] : undefined;
    if (JSON.stringify(layout.parts ?? null) !== JSON.stringify(parts ?? null) && !(parts === undefined && layout.parts?.length === 1 && layout.parts[0] === file)) {
      throw new ModelGuardError(
        "GGUF_INVALID",
        `model ${model}: the lockfile's gguf field lists the parts of ${file} as ${JSON.stringify(layout.parts ?? [])}, but its header and name say ${JSON.stringify(parts ?? [file])}`,
        where,
      );
    }
  }
}
