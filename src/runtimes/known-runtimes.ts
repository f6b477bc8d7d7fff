import { nodeLlamaCpp } from "./node-llama-cpp/node-llama-cpp-adapter.js";
import { onnxruntime } from "./onnxruntime/onnxruntime-adapter.js";
import type { RuntimeAdapter } from "./runtime-adapter.js";

/**
 * The runtimes whose entry files `add` locks companions for and `verify` checks as a load would.
 * Adapters import their runtime only when they create a session, so listing one here costs nothing
 * for a model that does not use it. A new runtime's adapter is added here.
 */
// node-llama-cpp without a Llama: it checks and locks GGUF files; loading needs `nodeLlamaCpp(llama)`.
export const KNOWN_RUNTIMES: readonly RuntimeAdapter[] = [onnxruntime as RuntimeAdapter, nodeLlamaCpp() as RuntimeAdapter];

/** Every locked path of a model that some known runtime starts a load from, with that runtime. */
export function entryFilesOf(paths: Iterable<string>): { file: string; adapter: RuntimeAdapter }[] {
  const out: { file: string; adapter: RuntimeAdapter }[] = [];
  for (const file of paths) {
    const adapter = KNOWN_RUNTIMES.find((a) => a.isEntry(file));
    if (adapter) out.push({ file, adapter });
  }
  return out;
}
