import { describe, expect, it } from "vitest";
import { declaredExternalDataChunks } from "../../../src/runtimes/transformers/declared-external-data.js";

const config = (setting: unknown, cpu?: unknown) => ({
  model_type: "bert",
  "transformers.js_config": { use_external_data_format: setting, ...(cpu === undefined ? {} : { device_config: { cpu: { use_external_data_format: cpu } } }) },
});

describe("declaredExternalDataChunks (as transformers.js 4.3 names them)", () => {
  it("is empty when the config declares nothing", () => {
    expect(declaredExternalDataChunks({ model_type: "bert" }, "onnx/model.onnx")).toEqual([]);
    expect(declaredExternalDataChunks(config(false), "onnx/model.onnx")).toEqual([]);
    expect(declaredExternalDataChunks(null, "onnx/model.onnx")).toEqual([]);
  });

  it("names X.onnx_data, then X.onnx_data_1, ... for true or a count", () => {
    expect(declaredExternalDataChunks(config(true), "onnx/model_quantized.onnx")).toEqual(["model_quantized.onnx_data"]);
    expect(declaredExternalDataChunks(config(3), "onnx/model.onnx")).toEqual(["model.onnx_data", "model.onnx_data_1", "model.onnx_data_2"]);
  });

  it("reads a per-file object by the file name, then by the session name without the dtype suffix", () => {
    const perFile = config({ "model_fp16.onnx": 2, model: true, decoder_model_merged: false });
    expect(declaredExternalDataChunks(perFile, "onnx/model_fp16.onnx")).toEqual(["model_fp16.onnx_data", "model_fp16.onnx_data_1"]);
    expect(declaredExternalDataChunks(perFile, "onnx/model_quantized.onnx")).toEqual(["model_quantized.onnx_data"]);
    expect(declaredExternalDataChunks(perFile, "onnx/decoder_model_merged_q4.onnx")).toEqual([]);
    expect(declaredExternalDataChunks(config({ toString: 1 }), "onnx/model.onnx")).toEqual([]);
  });

  it("lets the cpu device config override, and ignores nonsense counts", () => {
    expect(declaredExternalDataChunks(config(true, false), "onnx/model.onnx")).toEqual([]);
    expect(declaredExternalDataChunks(config(false, 2), "onnx/model.onnx")).toHaveLength(2);
    expect(declaredExternalDataChunks(config(-1), "onnx/model.onnx")).toEqual([]);
    expect(declaredExternalDataChunks(config(1.5), "onnx/model.onnx")).toEqual([]);
    expect(declaredExternalDataChunks(config(1e9), "onnx/model.onnx")).toEqual([]);
  });
});
