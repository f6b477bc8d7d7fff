/**
 * `modelguard/node-llama-cpp`: GGUF models for node-llama-cpp (3.x, an optional peer dependency),
 * loaded only from private verified copies of the locked files.
 *
 *   import { getLlama } from "node-llama-cpp";
 *   import { loadLlamaModel, llamaLoraAdapters } from "modelguard/node-llama-cpp";
 *   const llama = await getLlama({ gpu: false });
 *   const model = await loadLlamaModel(guard, llama, "tinyllama", { gpuLayers: 0 });
 *   const context = await model.createContext({ lora: { adapters: await llamaLoraAdapters(guard, model, "tinyllama") } });
 */
import type { Llama, LlamaModel } from "node-llama-cpp";
import { ModelGuardError } from "./errors.js";
import type { ModelGuard } from "./guard/guard.js";
import { checkLoraAdapter, nodeLlamaCpp, type LlamaModelLoadOptions } from "./runtimes/node-llama-cpp/node-llama-cpp-adapter.js";

export { nodeLlamaCpp, type LlamaModelLoadOptions };

export interface LoadLlamaModelOptions extends LlamaModelLoadOptions {
  /** Which locked GGUF file (part 1 of a split model); default the one `add` recorded, or the model's only one. */
  file?: string;
}

/**
 * A node-llama-cpp model from the locked GGUF file(s) of `name`, once the model's signatures
 * satisfy the guard's trust policy: llama.cpp maps private verified copies (every part of a split
 * model), never the cache. `model.dispose()` releases it.
 */
export async function loadLlamaModel(guard: ModelGuard, llama: Llama, name: string, options: LoadLlamaModelOptions = {}): Promise<LlamaModel> {
  const { file, ...modelOptions } = options;
  if ("modelPath" in modelOptions) throw new ModelGuardError("USAGE", "modelPath is set by the guard to a verified copy; do not pass it", { model: name });
  return (await guard.load(nodeLlamaCpp(llama), name, { ...(file === undefined ? {} : { file }), options: modelOptions })).session;
}

export interface LlamaLoraAdapter {
  /** A locked LoRA adapter GGUF of the model. */
  file: string;
  /** node-llama-cpp's scale (default 1). */
  scale?: number;
}

/**
 * The value for node-llama-cpp's `model.createContext({ lora: { adapters } })`: LoRA adapters
 * locked in model `name`'s entry (default: those `add` recorded, `gguf.loras`) as private verified
 * copies. llama.cpp reads an adapter into memory when the first context uses it, and node-llama-cpp
 * keeps it for the model's life; the copies are removed when `model` is disposed.
 */
export async function llamaLoraAdapters(
  guard: ModelGuard,
  model: LlamaModel,
  name: string,
  adapters: readonly (string | LlamaLoraAdapter)[] = guard.lockedModel(name).gguf?.loras ?? [],
): Promise<{ filePath: string; scale?: number }[]> {
  const wanted = adapters.map((a) => (typeof a === "string" ? { file: a } : a));
  if (wanted.length === 0) return [];
  // One audit event for the adapters, runtime node-llama-cpp (the copies' reads join it).
  return guard.auditLoad("node-llama-cpp", name, async () => {
    const entry = guard.lockedModel(name);
    if (model.disposed) throw new ModelGuardError("USAGE", `model ${name}: the model is disposed`, { model: name });
    const files = await guard.verifiedFiles(
      name,
      wanted.map((a) => a.file),
    );
    try {
      for (const a of wanted) await checkLoraAdapter(name, entry, files.bytes(a.file));
      await files.check();
    } catch (err) {
      await files.release();
      throw err;
    }
    model.onDispose.createListener(() => void files.release());
    return wanted.map((a) => ({ filePath: files.paths[a.file]!, ...(a.scale === undefined ? {} : { scale: a.scale }) }));
  });
}
