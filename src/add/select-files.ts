import picomatch from "picomatch";

/**
 * What `add` takes from an ONNX repo when no `--include` is given: the config, the tokenizer
 * files, and the main `model.onnx` (at the root or under `onnx/`) with its external-data files.
 * Quantized and other variants (`onnx/model_q4.onnx`, …) are left out: name them with --include.
 */
export const DEFAULT_INCLUDE = [
  "config.json",
  "generation_config.json",
  "preprocessor_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.txt",
  "vocab.json",
  "merges.txt",
  "tokenizer.model",
  "sentencepiece.bpe.model",
  "spm.model",
  "{onnx/,}model.onnx",
  "{onnx/,}model.onnx{_data,.data}",
  "{onnx/,}model.onnx_data_*",
];

/** The paths matching an include glob and no exclude glob (globs as in .gitignore-free minimatch: `**` crosses folders). */
export function selectFiles(paths: readonly string[], include: readonly string[] = DEFAULT_INCLUDE, exclude: readonly string[] = []): string[] {
  const options = { dot: true };
  const included = picomatch([...include], options);
  const excluded = exclude.length > 0 ? picomatch([...exclude], options) : () => false;
  return paths.filter((p) => included(p) && !excluded(p));
}
