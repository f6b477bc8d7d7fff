/**
 * The body of `POST /v1/models/{name}/infer`, checked against the model's inputs before anything
 * reaches onnxruntime, so a bad request gets a message naming the field rather than whatever the
 * runtime makes of it.
 */
import type { InferenceSession, Tensor } from "onnxruntime-node";
import type { RequestLimits } from "./config.js";
import { isSupportedType, SUPPORTED_TYPES, TensorInputError, toTensor } from "./tensors.js";

export type RequestErrorCode =
  | "INVALID_JSON"
  | "BODY_TOO_LARGE"
  | "INVALID_REQUEST"
  | "UNKNOWN_INPUT"
  | "MISSING_INPUT"
  | "INVALID_TYPE"
  | "INVALID_DIMS"
  | "INVALID_DATA"
  | "TOO_MANY_ELEMENTS"
  | "TOO_MANY_TOKENS";

export class RequestError extends Error {
  constructor(readonly code: RequestErrorCode, message: string) {
    super(message);
  }
}

/** What the model declares for one input: from `session.inputMetadata`. */
export type InputSpec = InferenceSession.ValueMetadata;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function onlyFields(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new RequestError("INVALID_REQUEST", `${where} has unknown field ${JSON.stringify(extra[0])}; expected ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
  }
}

function shapeText(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === "string" ? d || "?" : d < 0 ? "?" : d)).join(", ")}]`;
}

/** Turns the parsed JSON body into onnxruntime feeds, or throws a RequestError naming what is wrong. */
export function parseInferRequest(body: unknown, inputs: readonly InputSpec[], limits: RequestLimits): Record<string, Tensor> {
  if (!isPlainObject(body) || !isPlainObject(body.inputs)) {
    throw new RequestError("INVALID_REQUEST", 'the body must be a JSON object {"inputs": {"<input name>": {"type", "dims", "data"}}}');
  }
  onlyFields(body, ["inputs"], "the body");
  const given = body.inputs;
  const expected = inputs.map((i) => i.name);
  for (const name of Object.keys(given)) {
    if (!expected.includes(name)) {
      throw new RequestError("UNKNOWN_INPUT", `the model has no input ${JSON.stringify(name)}; its inputs are ${expected.map((n) => JSON.stringify(n)).join(", ")}`);
    }
  }
  const missing = expected.filter((n) => !Object.hasOwn(given, n));
  if (missing.length > 0) throw new RequestError("MISSING_INPUT", `missing input ${missing.map((n) => JSON.stringify(n)).join(", ")}`);

  let elements = 0;
  const feeds: Record<string, Tensor> = {};
  for (const spec of inputs) {
    const where = `inputs.${spec.name}`;
    const value = given[spec.name];
    if (!isPlainObject(value)) throw new RequestError("INVALID_REQUEST", `${where} must be an object {"type", "dims", "data"}`);
    onlyFields(value, ["type", "dims", "data"], where);
    const { type, dims, data } = value;
    if (!spec.isTensor) throw new RequestError("INVALID_TYPE", `${where}: the model wants a non-tensor value here, which this service does not accept`);

    if (!isSupportedType(type)) {
      throw new RequestError("INVALID_TYPE", `${where}.type must be one of ${SUPPORTED_TYPES.join(", ")}, got ${JSON.stringify(type)}`);
    }
    if (type !== spec.type) throw new RequestError("INVALID_TYPE", `${where}.type is ${type}; the model wants ${spec.type}`);

    if (!Array.isArray(dims) || dims.length > limits.maxRank) {
      throw new RequestError("INVALID_DIMS", `${where}.dims must be an array of at most ${limits.maxRank} dimensions`);
    }
    let count = 1;
    for (const [i, d] of dims.entries()) {
      if (!Number.isSafeInteger(d) || (d as number) < 0) throw new RequestError("INVALID_DIMS", `${where}.dims[${i}] must be a non-negative integer, got ${JSON.stringify(d)}`);
      count *= d as number;
      // Checked as we go: a product of large dims is not an exact double any more.
      if (count > limits.maxElements) break;
    }
    // An empty shape means the model does not say; a declared one fixes the rank and the numeric dims.
    if (spec.shape.length > 0) {
      const fits = dims.length === spec.shape.length && spec.shape.every((want, i) => typeof want !== "number" || want < 0 || dims[i] === want);
      if (!fits) throw new RequestError("INVALID_DIMS", `${where}.dims is ${shapeText(dims as number[])}; the model wants ${shapeText(spec.shape)}`);
    }
    elements += count;
    if (elements > limits.maxElements) throw new RequestError("TOO_MANY_ELEMENTS", `the inputs hold more than ${limits.maxElements} elements`);

    if (!Array.isArray(data)) throw new RequestError("INVALID_DATA", `${where}.data must be a flat array in row-major order`);
    if (data.length !== count) {
      throw new RequestError("INVALID_DIMS", `${where}.data has ${data.length} elements; dims ${shapeText(dims as number[])} need ${count}`);
    }
    try {
      feeds[spec.name] = toTensor(type, dims as number[], data, `${where}.data`);
    } catch (err) {
      if (err instanceof TensorInputError) throw new RequestError(err.code, err.message);
      throw err;
    }
  }
  return feeds;
}

/** A completion request for a GGUF model: `POST /v1/models/{name}/completions`. */
export interface CompletionRequest {
  prompt: string;
  maxTokens: number;
}

/**
 * The body of `POST /v1/models/{name}/completions`: `{"prompt": string, "maxTokens": integer}`
 * (`maxTokens` optional, default 16), checked before anything reaches llama.cpp.
 */
export function parseCompletionRequest(body: unknown, limits: Pick<RequestLimits, "maxPromptChars" | "maxCompletionTokens">): CompletionRequest {
  if (!isPlainObject(body)) throw new RequestError("INVALID_REQUEST", 'the body must be a JSON object {"prompt": "...", "maxTokens": 16}');
  onlyFields(body, ["prompt", "maxTokens"], "the body");
  const { prompt, maxTokens = 16 } = body;
  if (typeof prompt !== "string") throw new RequestError("INVALID_REQUEST", `prompt must be a string, got ${prompt === undefined ? "nothing" : JSON.stringify(prompt)}`);
  if (prompt.length > limits.maxPromptChars) throw new RequestError("INVALID_REQUEST", `prompt is ${prompt.length} characters; at most ${limits.maxPromptChars}`);
  if (!Number.isSafeInteger(maxTokens) || (maxTokens as number) < 1) {
    throw new RequestError("INVALID_REQUEST", `maxTokens must be a positive integer, got ${JSON.stringify(maxTokens)}`);
  }
  if ((maxTokens as number) > limits.maxCompletionTokens) throw new RequestError("TOO_MANY_TOKENS", `maxTokens is ${String(maxTokens)}; at most ${limits.maxCompletionTokens}`);
  return { prompt, maxTokens: maxTokens as number };
}
