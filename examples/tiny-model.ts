/**
 * The example's models, generated in code (never downloaded). Deterministic: the same bytes every
 * run, so the committed lockfile pins them.
 *
 * - tiny-classifier: `probabilities = softmax(features · W + B)`, whose weights W live in an
 *   external data file, the way large Hugging Face ONNX exports keep theirs.
 * - tiny-regressor: `y = x · w + b` with a dynamic batch dimension, one self-contained
 *   `model.onnx` at the repo root (no external data, no config), the other common layout.
 */
import { buildOnnxModel } from "../test/helpers/build-model.js";

export const EXAMPLE_MODEL = "tiny-classifier";
export const EXAMPLE_REPO = "modelguard-examples/tiny-classifier";

export const REGRESSOR_MODEL = "tiny-regressor";
export const REGRESSOR_REPO = "modelguard-examples/tiny-regressor";

/** The parameters, exported so tests can compute the expected outputs themselves. */
export const CLASSIFIER = {
  labels: ["cat", "dog", "bird"],
  /** [4, 3], row-major. */
  W: [0.9, -0.4, 0.1, -0.2, 0.8, 0.3, 0.05, 0.1, -0.7, 0.4, -0.3, 0.6],
  B: [0.1, 0.0, -0.1],
} as const;

export const REGRESSOR = {
  /** [3, 1]. */
  w: [0.5, -1.25, 2.0],
  b: [0.75],
} as const;

export function tinyClassifierFiles(): Record<string, Uint8Array> {
  const built = buildOnnxModel({
    graph: {
      name: "tiny-classifier",
      inputs: [{ name: "features", dims: [1, 4] }],
      outputs: [{ name: "probabilities", dims: [1, 3] }],
      initializers: [
        { name: "W", dims: [4, 3], data: Float32Array.from(CLASSIFIER.W), external: { location: "model.onnx_data" } },
        { name: "B", dims: [3], data: Float32Array.from(CLASSIFIER.B) },
      ],
      nodes: [
        { opType: "MatMul", inputs: ["features", "W"], outputs: ["logits0"], name: "matmul" },
        { opType: "Add", inputs: ["logits0", "B"], outputs: ["logits"], name: "bias" },
        { opType: "Softmax", inputs: ["logits"], outputs: ["probabilities"], name: "softmax", attributes: [{ name: "axis", int: -1 }] },
      ],
    },
  });
  return {
    "config.json": Buffer.from(`${JSON.stringify({ labels: CLASSIFIER.labels }, null, 2)}\n`),
    "onnx/model.onnx": built.model,
    "onnx/model.onnx_data": built.externalFiles["model.onnx_data"]!,
  };
}

export function tinyRegressorFiles(): Record<string, Uint8Array> {
  const built = buildOnnxModel({
    graph: {
      name: "tiny-regressor",
      inputs: [{ name: "x", dims: ["batch", 3] }],
      outputs: [{ name: "y", dims: ["batch", 1] }],
      initializers: [
        { name: "w", dims: [3, 1], data: Float32Array.from(REGRESSOR.w) },
        { name: "b", dims: [1], data: Float32Array.from(REGRESSOR.b) },
      ],
      nodes: [
        { opType: "MatMul", inputs: ["x", "w"], outputs: ["xw"], name: "matmul" },
        { opType: "Add", inputs: ["xw", "b"], outputs: ["y"], name: "bias" },
      ],
    },
  });
  return { "model.onnx": built.model };
}

export interface ExampleModel {
  name: string;
  repo: string;
  files: () => Record<string, Uint8Array>;
}

/** Every bundled example model, in lockfile order. */
export const EXAMPLE_MODELS: readonly ExampleModel[] = [
  { name: EXAMPLE_MODEL, repo: EXAMPLE_REPO, files: tinyClassifierFiles },
  { name: REGRESSOR_MODEL, repo: REGRESSOR_REPO, files: tinyRegressorFiles },
];
