import { getLlama, LlamaCompletion, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";

/** One llama.cpp binding per test file: CPU only, never built, never downloaded. */
export function cpuLlama(): Promise<Llama> {
  return getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
}

/**
 * Greedy completion of `prompt`: temperature 0, a fixed seed, one thread (ggml's spinning
 * threads make a tiny model thousands of times slower on a busy machine).
 */
export async function complete(model: LlamaModel, prompt: string, options: { maxTokens?: number; lora?: string } = {}): Promise<string> {
  const context = await model.createContext({
    contextSize: 128,
    threads: 1,
    ...(options.lora ? { lora: { adapters: [{ filePath: options.lora }] } } : {}),
  });
  try {
    const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
    return await completion.generateCompletion(prompt, { maxTokens: options.maxTokens ?? 8, temperature: 0, seed: 1 });
  } finally {
    await context.dispose();
  }
}
