/**
 * Completions for the GGUF models the service loaded (node-llama-cpp): one context per model,
 * one request at a time per model (queued), greedy decoding so that the same prompt always gives
 * the same text.
 */
import { LlamaCompletion, type LlamaContext, type LlamaModel } from "node-llama-cpp";

export interface Completer {
  complete(prompt: string, maxTokens: number): Promise<string>;
  dispose(): Promise<void>;
}

export async function createCompleter(model: LlamaModel, options: { threads?: number; contextSize?: number } = {}): Promise<Completer> {
  const context: LlamaContext = await model.createContext({
    ...(options.contextSize === undefined ? {} : { contextSize: options.contextSize }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
  });
  const sequence = context.getSequence();
  let queue: Promise<unknown> = Promise.resolve();
  return {
    complete(prompt, maxTokens) {
      const run = queue.then(async () => {
        await sequence.clearHistory();
        const completion = new LlamaCompletion({ contextSequence: sequence });
        return completion.generateCompletion(prompt, { maxTokens, temperature: 0 });
      });
      queue = run.catch(() => undefined);
      return run;
    },
    async dispose() {
      await queue;
      await context.dispose();
    },
  };
}
