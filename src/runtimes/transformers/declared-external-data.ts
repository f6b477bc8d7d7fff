/**
 * Which external data files transformers.js hands to onnxruntime for a graph, read from the
 * model's (verified) `config.json` the way transformers.js 4.x reads it
 * (`resolveExternalDataFormat` and `getExternalDataChunkNames` in its `utils/model-loader.js`):
 * `transformers.js_config.use_external_data_format` is `true` (one chunk), a count, or an object
 * keyed by the graph's file name (`model_quantized.onnx`) or its session name (`model`); chunk i
 * of `X.onnx` is `X.onnx_data` then `X.onnx_data_1`, ... in the graph's folder.
 *
 * Measured (transformers.js 4.3, onnxruntime-node 1.30): when a graph has external data the config
 * does not declare, transformers.js fetches none of it and creates the session from the graph's
 * bytes alone, and onnxruntime then reads `model.onnx_data` from the process's working directory.
 * So a graph is served only when every location it names is one of the declared chunks.
 * transformers.js 3.x never passes external data in Node: there, no graph with external data is
 * served from bytes.
 */

/** transformers.js's dtype suffixes (`DEFAULT_DTYPE_SUFFIX_MAPPING`), longest first. */
const DTYPE_SUFFIXES = ["_quantized", "_q4f16", "_q2f16", "_q1f16", "_uint8", "_int8", "_fp16", "_bnb4", "_q4", "_q2", "_q1"];

/** The chunk names (relative to the graph's folder) declared for the graph at `graphPath`, for the default Node device (cpu). */
export function declaredExternalDataChunks(config: unknown, graphPath: string): string[] {
  const fullName = graphPath.slice(graphPath.lastIndexOf("/") + 1);
  const stem = fullName.endsWith(".onnx") ? fullName.slice(0, -".onnx".length) : fullName;
  const suffix = DTYPE_SUFFIXES.find((s) => stem.endsWith(s));
  const sessionName = suffix === undefined ? stem : stem.slice(0, -suffix.length);
  const jsConfig = objectField(config, "transformers.js_config");
  const cpu = objectField(objectField(jsConfig, "device_config"), "cpu");
  const setting = cpu !== undefined && Object.hasOwn(cpu, "use_external_data_format") ? cpu.use_external_data_format : jsConfig?.use_external_data_format;
  let chunks: number;
  if (setting !== null && typeof setting === "object") {
    const perFile = setting as Record<string, unknown>;
    if (Object.hasOwn(perFile, fullName)) chunks = Number(perFile[fullName]);
    else if (Object.hasOwn(perFile, sessionName)) chunks = Number(perFile[sessionName]);
    else chunks = 0;
  } else {
    chunks = Number(setting ?? 0);
  }
  // transformers.js refuses more than MAX_EXTERNAL_DATA_CHUNKS (100) itself; anything odd is none.
  if (!Number.isInteger(chunks) || chunks < 0 || chunks > 100) chunks = 0;
  return Array.from({ length: chunks }, (_, i) => `${fullName}_data${i === 0 ? "" : `_${i}`}`);
}

function objectField(value: unknown, key: string): Record<string, unknown> | undefined {
  if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return field !== null && typeof field === "object" ? (field as Record<string, unknown>) : undefined;
}
