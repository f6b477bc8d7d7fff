/**
 * A tiny llama-architecture GGUF model (about 55 KB: one layer, 16-wide, 12 F32 tensors, a
 * 291-token SentencePiece vocabulary with scores and token types) that llama.cpp loads and
 * generates from, for tests and examples (test-only code, not shipped in the package). Nothing is
 * downloaded; the bytes are the same every run.
 *
 * Built so that greedy decoding is predictable: each word's embedding is its own basis vector,
 * and the output matrix maps word k to word k+1, so the model recites TINY_LLAMA_SENTENCE in a
 * loop (" only verified bytes reach the model. only verified ..."); every other token (the
 * control and byte tokens) leads to the first word. Attention and feed-forward weights are small
 * seeded noise, so they matter to the bytes and the digest but not to the argmax. A change to the
 * output rows changes what it says, which the tamper tests rely on.
 *
 * `tinyLlamaLora()` is a LoRA adapter for it (rank 1, on `output.weight`) that drops the period:
 * with it the model says " only verified bytes reach the model only verified ...".
 */
import { gguf, writeGguf, writeSplitGguf, type GgufSpec, type GgufTensor } from "./write-gguf.js";

/** The words the model recites, in order, as SentencePiece pieces ("▁" is a leading space). */
export const TINY_LLAMA_WORDS = ["▁only", "▁verified", "▁bytes", "▁reach", "▁the", "▁model", "."] as const;
/** What greedy decoding produces after any prompt that ends outside the sentence, as text. */
export const TINY_LLAMA_SENTENCE = " only verified bytes reach the model.";

const N_EMBD = 16;
const N_HEAD = 2;
const N_FF = 32;
const CONTEXT = 256;
const N_BYTES = 256;
/**
 * The pieces before the words: "▁" alone (else a space falls back to the three bytes of "▁" and
 * does not read back as a space), and every prefix of every word, because llama.cpp's
 * SentencePiece tokenizer builds a word by merging adjacent pieces and so needs each step on the
 * way ("▁", "o" → "▁o" → "▁on" → ... → "▁only") in the vocabulary.
 */
function prefixPieces(): string[] {
  const pieces = new Set<string>(["▁"]);
  for (const word of TINY_LLAMA_WORDS) for (let n = 2; n < word.length; n++) pieces.add(word.slice(0, n));
  return [...pieces];
}
const PREFIXES = prefixPieces();
const FIRST_WORD = 3 + N_BYTES + PREFIXES.length;
/** The embedding dimension that every non-word token uses. */
const OTHER_DIM = N_EMBD - 1;

const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

function vocabulary(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TOKEN_TYPE.unknown, TOKEN_TYPE.control, TOKEN_TYPE.control];
  for (let b = 0; b < N_BYTES; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TOKEN_TYPE.byte);
  }
  for (const piece of [...PREFIXES, ...TINY_LLAMA_WORDS]) {
    tokens.push(piece);
    types.push(TOKEN_TYPE.normal);
  }
  // SentencePiece scores are log-probabilities; llama.cpp merges the pair whose result scores highest.
  const scores = tokens.map((t, i) => (i < 3 + N_BYTES ? 0 : -1 / t.length));
  return { tokens, scores, types };
}

/** mulberry32: a small seeded generator, so the noise is the same on every platform and run. */
function noise(seed: number, scale: number): (n: number) => Float32Array {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
}

function tensor(name: string, dims: number[], data: Float32Array): GgufTensor {
  return { name, dims, data };
}

export interface TinyLlamaOptions {
  /** Seed of the attention and feed-forward noise (default 1): another seed, other bytes, same sentence. */
  seed?: number;
}

/** The model as a GGUF spec: write it with `writeGguf`, or split it with `writeSplitGguf`. */
export function tinyLlamaSpec(options: TinyLlamaOptions = {}): GgufSpec {
  const { tokens, scores, types } = vocabulary();
  const nVocab = tokens.length;
  const words = TINY_LLAMA_WORDS.length;
  const rand = noise(options.seed ?? 1, 0.02);

  // token_embd: [n_embd, n_vocab], one row of n_embd per token.
  const embd = new Float32Array(N_EMBD * nVocab);
  for (let t = 0; t < nVocab; t++) {
    const word = t - FIRST_WORD;
    embd[t * N_EMBD + (word >= 0 ? word : OTHER_DIM)] = 1;
  }
  // output: [n_embd, n_vocab]; the row of word k+1 reads dimension k, so word k is followed by k+1.
  const output = new Float32Array(N_EMBD * nVocab);
  for (let k = 0; k < words; k++) output[(FIRST_WORD + ((k + 1) % words)) * N_EMBD + k] = 2;
  output[FIRST_WORD * N_EMBD + OTHER_DIM] = 2;
  const ones = (n: number) => new Float32Array(n).fill(1);

  return {
    metadata: [
      ["general.architecture", gguf.str("llama")],
      ["general.name", gguf.str("modelguard tiny llama")],
      ["general.alignment", gguf.u32(32)],
      ["llama.context_length", gguf.u32(CONTEXT)],
      ["llama.embedding_length", gguf.u32(N_EMBD)],
      ["llama.block_count", gguf.u32(1)],
      ["llama.feed_forward_length", gguf.u32(N_FF)],
      ["llama.rope.dimension_count", gguf.u32(N_EMBD / N_HEAD)],
      ["llama.attention.head_count", gguf.u32(N_HEAD)],
      ["llama.attention.head_count_kv", gguf.u32(N_HEAD)],
      ["llama.attention.layer_norm_rms_epsilon", gguf.f32(1e-5)],
      ["tokenizer.ggml.model", gguf.str("llama")],
      ["tokenizer.ggml.tokens", gguf.array("string", tokens)],
      ["tokenizer.ggml.scores", gguf.array("float32", scores)],
      ["tokenizer.ggml.token_type", gguf.array("int32", types)],
      ["tokenizer.ggml.unknown_token_id", gguf.u32(0)],
      ["tokenizer.ggml.bos_token_id", gguf.u32(1)],
      ["tokenizer.ggml.eos_token_id", gguf.u32(2)],
      ["tokenizer.ggml.add_bos_token", gguf.bool(true)],
      ["tokenizer.ggml.add_eos_token", gguf.bool(false)],
    ],
    tensors: [
      tensor("token_embd.weight", [N_EMBD, nVocab], embd),
      tensor("output_norm.weight", [N_EMBD], ones(N_EMBD)),
      tensor("output.weight", [N_EMBD, nVocab], output),
      tensor("blk.0.attn_norm.weight", [N_EMBD], ones(N_EMBD)),
      tensor("blk.0.attn_q.weight", [N_EMBD, N_EMBD], rand(N_EMBD * N_EMBD)),
      tensor("blk.0.attn_k.weight", [N_EMBD, N_EMBD], rand(N_EMBD * N_EMBD)),
      tensor("blk.0.attn_v.weight", [N_EMBD, N_EMBD], rand(N_EMBD * N_EMBD)),
      tensor("blk.0.attn_output.weight", [N_EMBD, N_EMBD], rand(N_EMBD * N_EMBD)),
      tensor("blk.0.ffn_norm.weight", [N_EMBD], ones(N_EMBD)),
      tensor("blk.0.ffn_gate.weight", [N_EMBD, N_FF], rand(N_EMBD * N_FF)),
      tensor("blk.0.ffn_down.weight", [N_FF, N_EMBD], rand(N_FF * N_EMBD)),
      tensor("blk.0.ffn_up.weight", [N_EMBD, N_FF], rand(N_EMBD * N_FF)),
    ],
  };
}

/** The tiny model as one GGUF file. */
export function tinyLlamaGguf(options: TinyLlamaOptions = {}): Uint8Array {
  return writeGguf(tinyLlamaSpec(options));
}

/**
 * The tiny model split in `parts` files named `{prefix}-0000i-of-0000N.gguf` (default 3: the
 * metadata and the embeddings; the output; the layer), keyed by file name in part order.
 */
export function tinyLlamaSplitGguf(prefix: string, parts = 3, options: TinyLlamaOptions = {}): Record<string, Uint8Array> {
  const spec = tinyLlamaSpec(options);
  const n = spec.tensors.length;
  const per = parts === 3 ? [2, 1, n - 3] : Array.from({ length: parts }, (_, i) => Math.floor((n * (i + 1)) / parts) - Math.floor((n * i) / parts));
  return writeSplitGguf(spec, prefix, per);
}

/**
 * A LoRA adapter for the tiny model (rank 1, alpha 1, on `output.weight`): after "▁model" it
 * lowers "." and raises "▁only", so with the adapter at scale 1 the sentence loses its period.
 */
export function tinyLlamaLora(): Uint8Array {
  const { tokens } = vocabulary();
  const nVocab = tokens.length;
  const model = TINY_LLAMA_WORDS.indexOf("▁model");
  // lora_a: [n_embd, r]; lora_b: [r, n_vocab]. delta(output) = B·A, read as W' x = W x + B (A x).
  const a = new Float32Array(N_EMBD);
  a[model] = 1;
  const b = new Float32Array(nVocab);
  b[FIRST_WORD + TINY_LLAMA_WORDS.indexOf(".")] = -4;
  b[FIRST_WORD] = 4;
  return writeGguf({
    metadata: [
      ["general.architecture", gguf.str("llama")],
      ["general.type", gguf.str("adapter")],
      ["general.name", gguf.str("modelguard tiny llama: no period")],
      ["adapter.type", gguf.str("lora")],
      ["adapter.lora.alpha", gguf.f32(1)],
    ],
    tensors: [tensor("output.weight.lora_a", [N_EMBD, 1], a), tensor("output.weight.lora_b", [1, nVocab], b)],
  });
}
