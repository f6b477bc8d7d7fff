import type { Llama, LlamaModel, LlamaModelOptions } from "node-llama-cpp";
import { ModelGuardError } from "../../errors.js";
import type { LockedModel } from "../../lockfile/types.js";
import { isGgufFile, splitPartOf, splitPartPath } from "../../gguf/gguf-files.js";
import type { Loaded, RuntimeAdapter, VerifiedBytes, VerifiedFiles, VerifiedModel } from "../runtime-adapter.js";
import { pickGgufFile } from "./pick-gguf-file.js";
import { checkGgufLayout, readGgufFacts, splitCompanions, type GgufFacts } from "./plan-gguf-load.js";

/**
 * node-llama-cpp as a runtime adapter. node-llama-cpp loads GGUF by path only and maps the file
 * (mmap on by default), so a write to the file after the load changes the running model
 * (measured with 3.21.1; see the README's node-llama-cpp section). Here llama.cpp
 * is given private verified copies (guard.verifiedFiles: each locked file hashed as it is copied
 * into a folder only this process can write, laid out by locked path), so the parts of a split
 * model sit side by side under the names llama.cpp derives from the first part, and nothing done
 * to the cache before, during or after the load reaches the model. Once llama.cpp has mapped them
 * the copies are checked unchanged and removed (the mapping stays valid); with `lazyMode`, which
 * reads tensors from the file later, they stay until the model is disposed.
 *
 * A factory: the adapter needs the caller's `Llama` (from `getLlama()`) to create a model; without
 * one it can still check and lock GGUF files (`add`, `verify`). node-llama-cpp itself is never
 * imported here.
 */

export type LlamaModelLoadOptions = Omit<LlamaModelOptions, "modelPath">;

async function factsOf(model: string, bytes: VerifiedBytes): Promise<GgufFacts> {
  return readGgufFacts((position, length) => bytes.read(position, length), bytes.size, `model ${model}: ${bytes.file}`);
}

/** The files a load of `entryFile` copies: the entry and, for part 1 of a split model, every other part that is locked. */
function filesToCopy(model: VerifiedModel, entryFile: string): string[] {
  const split = splitPartOf(entryFile);
  if (!split || split.part !== 1) return [entryFile];
  const parts = Array.from({ length: split.parts }, (_, i) => splitPartPath(split.prefix, i + 1, split.parts));
  // An unlocked part is refused by splitCompanions once the header has confirmed the split.
  return parts.filter((p) => Object.hasOwn(model.entry.files, p));
}

/** Loads the copies into llama.cpp after checking the headers; the caller releases `files` on failure. */
async function loadCopies(llama: Llama, model: VerifiedModel, entryFile: string, files: VerifiedFiles, options: LlamaModelLoadOptions): Promise<Loaded<LlamaModel>> {
  const facts = await factsOf(model.name, files.bytes(entryFile));
  const plan = splitCompanions(model.name, model.entry, entryFile, facts);
  checkGgufLayout(model.name, model.entry, entryFile, facts, plan);
  if (facts.type === "adapter") {
    throw new ModelGuardError("USAGE", `model ${model.name}: ${entryFile} is a LoRA adapter; load its base model and pass the adapter with llamaLoraAdapters()`, {
      model: model.name,
      file: entryFile,
    });
  }
  // Each other part's header must say it is that part, as llama.cpp checks halfway through a load.
  for (const c of plan.companions) splitCompanions(model.name, model.entry, c.file, await factsOf(model.name, files.bytes(c.file)));
  let loaded: LlamaModel;
  try {
    // mmap on unless the caller says otherwise: llama.cpp maps the private copy, which nobody else can reach.
    loaded = await llama.loadModel({ ...options, useMmap: options.useMmap ?? true, modelPath: files.paths[entryFile]! });
  } catch (err) {
    // Verified bytes llama.cpp cannot use: not tampering, but no model either.
    throw new ModelGuardError("GGUF_INVALID", `model ${model.name}: llama.cpp could not load ${entryFile}: ${(err as Error).message}`, {
      model: model.name,
      file: entryFile,
      cause: err,
    });
  }
  try {
    await files.check();
  } catch (err) {
    await loaded.dispose();
    throw err;
  }
  return { session: loaded, files: [entryFile, ...plan.companions.map((c) => c.file)] };
}

export function nodeLlamaCpp(llama?: Llama): RuntimeAdapter<LlamaModel, LlamaModelLoadOptions> {
  return {
    runtime: "node-llama-cpp",
    takes: "paths",

    isEntry: isGgufFile,

    entryFile: pickGgufFile,

    async referencedFiles(entry, available) {
      const facts = await readGgufFacts((p, l) => entry.read(p, l), entry.size, entry.file);
      const split = splitPartOf(entry.file);
      if (facts.splitCount === 1 || !split || split.part !== 1) return [];
      return Array.from({ length: split.parts - 1 }, (_, i) => splitPartPath(split.prefix, i + 2, split.parts)).filter((p) => available.has(p));
    },

    async check(model, entry, bytes) {
      const facts = await factsOf(model, bytes);
      const plan = splitCompanions(model, entry, bytes.file, facts);
      checkGgufLayout(model, entry, bytes.file, facts, plan);
      return plan;
    },

    async create(model, entryFile, options = {}) {
      if (!llama) throw new ModelGuardError("USAGE", "the node-llama-cpp adapter needs a Llama to load a model: nodeLlamaCpp(await getLlama())", { model: model.name });
      if ("modelPath" in options) {
        throw new ModelGuardError("USAGE", "modelPath is set by the guard to a verified copy; do not pass it", { model: model.name });
      }
      const files = await model.verifiedFiles(filesToCopy(model, entryFile));
      let loaded: Loaded<LlamaModel>;
      try {
        loaded = await loadCopies(llama, model, entryFile, files, options);
      } catch (err) {
        await files.release();
        throw err;
      }
      const lazy = options.lazyMode !== undefined && options.lazyMode !== false;
      if (lazy) loaded.session.onDispose.createListener(() => void files.release());
      else await files.release();
      return loaded;
    },

    release: (model) => model.dispose(),
  };
}

/** Checks that a verified copy is a LoRA adapter GGUF (`general.type` = `adapter`), as the lockfile's `gguf` field says. */
export async function checkLoraAdapter(model: string, entry: Readonly<LockedModel>, bytes: VerifiedBytes): Promise<void> {
  const facts = await factsOf(model, bytes);
  checkGgufLayout(model, entry, bytes.file, facts, { entryFile: bytes.file, companions: [] });
  if (facts.type !== "adapter") {
    throw new ModelGuardError("USAGE", `model ${model}: ${bytes.file} is not a LoRA adapter (its general.type is ${JSON.stringify(facts.type ?? null)})`, { model, file: bytes.file });
  }
}
