/**
 * A tiny BERT-like feature-extraction model, generated in code (never downloaded), laid out the way
 * Hugging Face repos for transformers.js are: `config.json` (model_type "bert", so transformers.js
 * picks its BERT classes), a WordPiece `tokenizer.json` with its `tokenizer_config.json`, and
 * `onnx/model.onnx` (float32) plus `onnx/model_quantized.onnx` (int8 embeddings, what
 * `dtype: "q8"` asks for). With `externalData`, the graphs keep their weights in
 * `onnx/model.onnx_data` / `onnx/model_quantized.onnx_data` and the config declares
 * `use_external_data_format`, as large exports do.
 *
 * The graph has the inputs and output of a BERT encoder (input_ids, attention_mask,
 * token_type_ids → last_hidden_state) and computes a real, if one-layer, embedding:
 * word + position + token-type embeddings, LayerNorm, a dense layer with tanh, masked.
 * Deterministic: the same bytes every run, so a lockfile can pin them.
 */
import { buildOnnxModel, type TensorSpec } from "../test/helpers/build-model.js";

/** WordPiece vocabulary; ids are positions. Special tokens first, as in BERT vocabularies. */
export const TINY_BERT_VOCAB = [
  "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
  "the", "a", "an", "is", "are", "was", "and", "or", "of", "to", "in", "on", "for", "with",
  "model", "models", "guard", "verified", "bytes", "load", "file", "files", "lock", "hub", "sign",
  "cat", "dog", "sat", "mat", "hello", "world", "fast", "safe", "tiny", "bert",
  "##s", "##ed", "##ing", "##er", "##ly", "##ful",
  ".", ",", "!", "?", "-", "'",
] as const;

export const TINY_BERT = {
  hidden: 16,
  maxPositions: 64,
  layerNormEpsilon: 1e-12,
} as const;

export interface TinyBertOptions {
  /** Keep the weights in `onnx/*.onnx_data` files and declare `use_external_data_format` in the config. Default false. */
  externalData?: boolean;
  /** Also write `onnx/model_quantized.onnx` (int8 embeddings dequantized in the graph). Default true. */
  quantized?: boolean;
}

/** The repo's files, by path. */
export function tinyBertFiles(options: TinyBertOptions = {}): Record<string, Uint8Array> {
  const external = options.externalData ?? false;
  const files: Record<string, Uint8Array> = {
    "config.json": json(tinyBertConfig(external)),
    "tokenizer.json": json(tinyBertTokenizer()),
    "tokenizer_config.json": json(tinyBertTokenizerConfig()),
  };
  const variants: Array<["model" | "model_quantized", boolean]> = [["model", false]];
  if (options.quantized ?? true) variants.push(["model_quantized", true]);
  for (const [name, quantized] of variants) {
    const built = tinyBertGraph({ quantized, externalLocation: external ? `${name}.onnx_data` : undefined });
    files[`onnx/${name}.onnx`] = built.model;
    for (const [location, bytes] of Object.entries(built.externalFiles)) files[`onnx/${location}`] = bytes;
  }
  return files;
}

export function tinyBertConfig(externalData: boolean): Record<string, unknown> {
  return {
    architectures: ["BertModel"],
    model_type: "bert",
    vocab_size: TINY_BERT_VOCAB.length,
    hidden_size: TINY_BERT.hidden,
    num_hidden_layers: 1,
    num_attention_heads: 1,
    intermediate_size: TINY_BERT.hidden,
    max_position_embeddings: TINY_BERT.maxPositions,
    type_vocab_size: 2,
    layer_norm_eps: TINY_BERT.layerNormEpsilon,
    pad_token_id: 0,
    ...(externalData ? { "transformers.js_config": { use_external_data_format: true } } : {}),
  };
}

function tinyBertTokenizerConfig(): Record<string, unknown> {
  return {
    tokenizer_class: "BertTokenizer",
    do_lower_case: true,
    model_max_length: TINY_BERT.maxPositions,
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    mask_token: "[MASK]",
    clean_up_tokenization_spaces: true,
  };
}

/** A Hugging Face `tokenizers` JSON for a lower-casing BERT WordPiece tokenizer. */
function tinyBertTokenizer(): Record<string, unknown> {
  const id = (token: string) => TINY_BERT_VOCAB.indexOf(token as (typeof TINY_BERT_VOCAB)[number]);
  const special = (token: string) => ({ id: token, type_id: 0 });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: special("[CLS]") }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: special("[SEP]") }],
      pair: [
        { SpecialToken: special("[CLS]") },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: special("[SEP]") },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(["[CLS]", "[SEP]"].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }])),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(TINY_BERT_VOCAB.map((token, i) => [token, i])),
    },
  };
}

/** Deterministic weights in [-1, 1): a fixed linear congruential sequence, so every build is byte-identical. */
function weights(seed: number, count: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** Symmetric int8 quantization with one scale: what `dtype: "q8"` files hold for their embeddings. */
export function quantize(values: Float32Array): { data: Int8Array; scale: number } {
  const max = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const scale = Math.fround(max / 127);
  return { data: Int8Array.from(values, (v) => Math.max(-127, Math.min(127, Math.round(v / scale)))), scale };
}

export interface TinyBertGraphOptions {
  /** int8 word embeddings behind a DequantizeLinear. */
  quantized?: boolean;
  /** Store the embedding tables and the dense weight in this external file (relative to the graph). */
  externalLocation?: string | undefined;
  /** Rows of the word-embedding table (default: the vocabulary); more rows make a bigger model (benchmarks) with the same outputs. */
  wordRows?: number;
}

/** The weights, as float32 arrays (row-major), so tests can compute the expected outputs themselves. */
export function tinyBertWeights(wordRows: number = TINY_BERT_VOCAB.length) {
  const { hidden, maxPositions } = TINY_BERT;
  return {
    word: weights(1, Math.max(wordRows, TINY_BERT_VOCAB.length) * hidden),
    position: weights(2, maxPositions * hidden).map((v) => v * 0.1),
    tokenType: weights(3, 2 * hidden).map((v) => v * 0.1),
    lnGamma: new Float32Array(hidden).fill(1),
    lnBeta: new Float32Array(hidden),
    denseWeight: weights(4, hidden * hidden),
    denseBias: weights(5, hidden).map((v) => v * 0.01),
  };
}

/** The encoder graph; see the file header for what it computes. */
export function tinyBertGraph(options: TinyBertGraphOptions = {}) {
  const { hidden, maxPositions, layerNormEpsilon } = TINY_BERT;
  const vocab = Math.max(options.wordRows ?? 0, TINY_BERT_VOCAB.length);
  const w = tinyBertWeights(vocab);
  const ext = (t: TensorSpec): TensorSpec => (options.externalLocation ? { ...t, external: { location: options.externalLocation } } : t);
  const initializers: TensorSpec[] = [
    ext({ name: "position_embeddings", dims: [maxPositions, hidden], data: w.position }),
    ext({ name: "token_type_embeddings", dims: [2, hidden], data: w.tokenType }),
    { name: "ln_gamma", dims: [hidden], data: w.lnGamma },
    { name: "ln_beta", dims: [hidden], data: w.lnBeta },
    ext({ name: "dense_weight", dims: [hidden, hidden], data: w.denseWeight }),
    { name: "dense_bias", dims: [hidden], data: w.denseBias },
    { name: "one", dims: [], data: BigInt64Array.of(1n) },
    { name: "zero", dims: [], data: BigInt64Array.of(0n) },
    { name: "last_axis", dims: [1], data: BigInt64Array.of(-1n) },
  ];
  const nodes = [];
  if (options.quantized) {
    const q = quantize(w.word);
    initializers.push(
      ext({ name: "word_embeddings_quantized", dims: [vocab, hidden], data: q.data }),
      { name: "word_embeddings_scale", dims: [], data: Float32Array.of(q.scale) },
    );
    nodes.push({ opType: "DequantizeLinear", inputs: ["word_embeddings_quantized", "word_embeddings_scale"], outputs: ["word_embeddings"], name: "dequantize" });
  } else {
    initializers.push(ext({ name: "word_embeddings", dims: [vocab, hidden], data: w.word }));
  }
  nodes.push(
    { opType: "Gather", inputs: ["word_embeddings", "input_ids"], outputs: ["words"], name: "word_lookup" },
    { opType: "Gather", inputs: ["token_type_embeddings", "token_type_ids"], outputs: ["types"], name: "type_lookup" },
    { opType: "Shape", inputs: ["input_ids"], outputs: ["ids_shape"], name: "ids_shape" },
    { opType: "Gather", inputs: ["ids_shape", "one"], outputs: ["seq_len"], name: "seq_len" },
    { opType: "Range", inputs: ["zero", "seq_len", "one"], outputs: ["position_ids"], name: "positions" },
    { opType: "Gather", inputs: ["position_embeddings", "position_ids"], outputs: ["positions"], name: "position_lookup" },
    { opType: "Add", inputs: ["words", "types"], outputs: ["sum0"], name: "add_types" },
    { opType: "Add", inputs: ["sum0", "positions"], outputs: ["embeddings"], name: "add_positions" },
    {
      opType: "LayerNormalization",
      inputs: ["embeddings", "ln_gamma", "ln_beta"],
      outputs: ["normed"],
      name: "layer_norm",
      attributes: [{ name: "axis", int: -1 }, { name: "epsilon", float: layerNormEpsilon }],
    },
    { opType: "MatMul", inputs: ["normed", "dense_weight"], outputs: ["projected"], name: "dense" },
    { opType: "Add", inputs: ["projected", "dense_bias"], outputs: ["biased"], name: "dense_bias" },
    { opType: "Tanh", inputs: ["biased"], outputs: ["activated"], name: "tanh" },
    { opType: "Cast", inputs: ["attention_mask"], outputs: ["mask_float"], name: "mask_cast", attributes: [{ name: "to", int: 1 }] },
    { opType: "Unsqueeze", inputs: ["mask_float", "last_axis"], outputs: ["mask"], name: "mask_unsqueeze" },
    { opType: "Mul", inputs: ["activated", "mask"], outputs: ["last_hidden_state"], name: "apply_mask" },
  );
  const INT64 = 7;
  return buildOnnxModel({
    graph: {
      name: "tiny-bert",
      inputs: [
        { name: "input_ids", dims: ["batch_size", "sequence_length"], elemType: INT64 },
        { name: "attention_mask", dims: ["batch_size", "sequence_length"], elemType: INT64 },
        { name: "token_type_ids", dims: ["batch_size", "sequence_length"], elemType: INT64 },
      ],
      outputs: [{ name: "last_hidden_state", dims: ["batch_size", "sequence_length", hidden] }],
      initializers,
      nodes,
    },
  });
}

function json(value: unknown): Uint8Array {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
}
