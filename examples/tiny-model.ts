/**
 * The example's model, generated in code (never downloaded): a tiny linear classifier
 * `probabilities = softmax(features · W + B)` whose weights W live in an external data file,
 * the way large Hugging Face ONNX exports keep theirs. Deterministic: the same bytes every run,
 * so the committed lockfile pins them.
 */
import { buildOnnxModel } from "../src/onnx/build-model.js";

export const EXAMPLE_MODEL = "tiny-classifier";
export const EXAMPLE_REPO = "modelguard-examples/tiny-classifier";

export function tinyClassifierFiles(): Record<string, Uint8Array> {
  const W = Float32Array.from([0.9, -0.4, 0.1, -0.2, 0.8, 0.3, 0.05, 0.1, -0.7, 0.4, -0.3, 0.6]);
  const B = Float32Array.from([0.1, 0.0, -0.1]);
  const built = buildOnnxModel({
    graph: {
      name: "tiny-classifier",
      inputs: [{ name: "features", dims: [1, 4] }],
      outputs: [{ name: "probabilities", dims: [1, 3] }],
      initializers: [
        { name: "W", dims: [4, 3], data: W, external: { location: "model.onnx_data" } },
        { name: "B", dims: [3], data: B },
      ],
      nodes: [
        { opType: "MatMul", inputs: ["features", "W"], outputs: ["logits0"], name: "matmul" },
        { opType: "Add", inputs: ["logits0", "B"], outputs: ["logits"], name: "bias" },
        { opType: "Softmax", inputs: ["logits"], outputs: ["probabilities"], name: "softmax", attributes: [{ name: "axis", int: -1 }] },
      ],
    },
  });
  return {
    "config.json": Buffer.from(`${JSON.stringify({ labels: ["cat", "dog", "bird"] }, null, 2)}\n`),
    "onnx/model.onnx": built.model,
    "onnx/model.onnx_data": built.externalFiles["model.onnx_data"]!,
  };
}
