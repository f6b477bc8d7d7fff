import { describe, it, expect } from "vitest";
import { buildAddModel, buildOnnxModel } from "../helpers/build-model.js";
import { checkExternalDataRefs } from "../../src/onnx/check-external-data.js";
import { readExternalDataRefs } from "../../src/onnx/external-data.js";
import { DIMS, W, X_PLUS_W, runAdd } from "./ort-run.js";

const dims = [...DIMS];
const le = (f: Float32Array) => new Uint8Array(f.buffer.slice(0));

describe("buildOnnxModel", () => {
  it("is deterministic", () => {
    const a = buildAddModel({ weights: W, dims, external: { location: "w.bin", offset: 8 } });
    const b = buildAddModel({ weights: W, dims, external: { location: "w.bin", offset: 8 } });
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(a.externalFiles).toEqual(b.externalFiles);
  });

  it("builds Y = X + W with inline weights that onnxruntime runs", async () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims });
    expect(externalFiles).toEqual({});
    expect(await runAdd(model)).toEqual({ y: X_PLUS_W });
  });

  it("builds a sparse-initializer W that onnxruntime densifies", async () => {
    expect(await runAdd(buildAddModel({ weights: W, dims, placement: "sparse_initializer" }).model)).toEqual({ y: X_PLUS_W });
  });

  it("builds a Constant-node W that onnxruntime runs", async () => {
    expect(await runAdd(buildAddModel({ weights: W, dims, placement: "constant" }).model)).toEqual({ y: X_PLUS_W });
  });

  it("stores external W at the requested offset and onnxruntime loads it from memory", async () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims, external: { location: "sub/w.bin", offset: 16 } });
    const file = externalFiles["sub/w.bin"]!;
    expect(Array.from(file.subarray(0, 16))).toEqual(new Array(16).fill(0));
    expect(Array.from(file.subarray(16))).toEqual(Array.from(le(W)));
    expect(readExternalDataRefs(model)).toEqual([
      { tensorName: "W", where: "initializer", location: "sub/w.bin", offset: 16, length: 24 },
    ]);
    expect(await runAdd(model, { externalData: [{ path: "sub/w.bin", data: file }] })).toEqual({ y: X_PLUS_W });
  });

  it("appends several external tensors to one file in order", () => {
    const { externalFiles, model } = buildOnnxModel({
      graph: {
        name: "g",
        initializers: [
          { name: "A", dims: [1], data: Float32Array.of(1), external: { location: "d.bin" } },
          { name: "B", dims: [1], data: BigInt64Array.of(2n), external: { location: "d.bin" } },
        ],
      },
    });
    expect(externalFiles["d.bin"]!.length).toBe(12);
    expect(readExternalDataRefs(model).map((r) => [r.offset, r.length])).toEqual([[0, 4], [4, 8]]);
  });

  it("refuses overlapping external placements", () => {
    expect(() =>
      buildOnnxModel({
        graph: {
          name: "g",
          initializers: [
            { name: "A", dims: [2], data: Float32Array.of(1, 2), external: { location: "d.bin" } },
            { name: "B", dims: [1], data: Float32Array.of(3), external: { location: "d.bin", offset: 4 } },
          ],
        },
      }),
    ).toThrow(/overlaps/);
  });

  it("round-trips through the reader and checker into a working session", async () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims, external: { location: "model.onnx_data" } });
    const lockedFiles = { "onnx/model.onnx": model.length, "onnx/model.onnx_data": externalFiles["model.onnx_data"]!.length };
    const plan = checkExternalDataRefs(readExternalDataRefs(model), { modelPath: "onnx/model.onnx", lockedFiles });
    expect(plan).toEqual([{ location: "model.onnx_data", lockedPath: "onnx/model.onnx_data" }]);
    const externalData = plan.map(({ location }) => ({ path: location, data: externalFiles[location]! }));
    expect(await runAdd(model, { externalData })).toEqual({ y: X_PLUS_W });
  });

  it("writes int8 tensors as raw bytes that onnxruntime dequantizes", async () => {
    const { model } = buildOnnxModel({
      graph: {
        name: "dq",
        inputs: [{ name: "X", dims: [3] }],
        outputs: [{ name: "Y", dims: [3] }],
        initializers: [
          { name: "Q", dims: [3], data: Int8Array.of(-127, 0, 64) },
          { name: "S", dims: [], data: Float32Array.of(0.5) },
        ],
        nodes: [
          { opType: "DequantizeLinear", inputs: ["Q", "S"], outputs: ["D"] },
          { opType: "Add", inputs: ["X", "D"], outputs: ["Y"] },
        ],
      },
    });
    const ort = await import("onnxruntime-node");
    const session = await ort.InferenceSession.create(model);
    const out = await session.run({ X: new ort.Tensor("float32", Float32Array.of(1, 1, 1), [3]) });
    expect(Array.from(out.Y!.data as Float32Array)).toEqual([-62.5, 1, 33]);
    await session.release();
  });
});
