import { describe, it, expect } from "vitest";
import {
  buildAddModel,
  buildOnnxModel,
  type GraphSpec,
  type SparseTensorSpec,
  type TensorSpec,
} from "../helpers/build-model.js";
import { readExternalDataRefs } from "../../src/onnx/external-data.js";
import { concatBytes } from "../../src/onnx/protobuf-write.js";
import { messageOf } from "../helpers/errors.js";

const onnxInvalid = (fn: () => unknown): string => messageOf("ONNX_INVALID", fn);

const dims = [2];
const ext = (name: string, location: string): TensorSpec => ({
  name,
  dims,
  data: Float32Array.of(1, 2),
  external: { location },
});
const inline = (name: string): TensorSpec => ({ name, dims, data: Float32Array.of(1, 2) });
const sparse = (name: string, location: string): SparseTensorSpec => ({
  dims: [4],
  values: ext(name, location),
  indices: { name: "", dims, data: BigInt64Array.of(0n, 3n) },
});
const io = { inputs: [{ name: "X", dims }], outputs: [{ name: "Y", dims }] };


function rawModel(entries: ReadonlyArray<readonly [string, string]>, dataLocation?: number): Uint8Array {
  return buildOnnxModel({
    graph: { name: "g", ...io, initializers: [{ ...inline("W"), external: { entries, ...(dataLocation === undefined ? {} : { dataLocation }) } }] },
  }).model;
}

describe("readExternalDataRefs", () => {
  it("finds nothing in a model with inline weights", () => {
    expect(readExternalDataRefs(buildAddModel({ weights: Float32Array.of(1, 2), dims }).model)).toEqual([]);
  });

  it("reports a main-graph initializer with its location, offset and length", () => {
    const { model } = buildOnnxModel({ graph: { name: "g", ...io, initializers: [inline("A"), ext("W", "w.bin"), ext("V", "w.bin")] } });
    expect(readExternalDataRefs(model)).toEqual([
      { tensorName: "W", where: "initializer", location: "w.bin", offset: 0, length: 8 },
      { tensorName: "V", where: "initializer", location: "w.bin", offset: 8, length: 8 },
    ]);
  });

  it("reports sparse initializers, values and indices separately", () => {
    const s = sparse("S", "s.bin");
    const { model } = buildOnnxModel({
      graph: { name: "g", ...io, sparseInitializers: [{ ...s, indices: { ...s.indices, external: { location: "i.bin" } } }] },
    });
    expect(readExternalDataRefs(model)).toEqual([
      { tensorName: "S", where: "sparse_initializer", location: "s.bin", offset: 0, length: 8, part: "values" },
      { tensorName: "S", where: "sparse_initializer", location: "i.bin", offset: 0, length: 16, part: "indices" },
    ]);
  });

  it("reports tensors in node attributes: t, tensors, sparse_tensor, sparse_tensors", () => {
    const { model } = buildOnnxModel({
      graph: {
        name: "g",
        ...io,
        nodes: [
          { opType: "Constant", inputs: [], outputs: ["c"], attributes: [{ name: "value", tensor: ext("T", "t.bin") }] },
          { opType: "Custom", domain: "x", inputs: [], outputs: ["d"], attributes: [{ name: "ts", tensors: [inline("I"), ext("TS", "ts.bin")] }] },
          { opType: "Constant", inputs: [], outputs: ["e"], attributes: [{ name: "sparse_value", sparseTensor: sparse("SP", "sp.bin") }] },
          { opType: "Custom", domain: "x", inputs: [], outputs: ["f"], attributes: [{ name: "sps", sparseTensors: [sparse("SPS", "sps.bin")] }] },
        ],
      },
    });
    expect(readExternalDataRefs(model).map((r) => [r.tensorName, r.where, r.location, r.part])).toEqual([
      ["T", "attribute", "t.bin", undefined],
      ["TS", "attribute", "ts.bin", undefined],
      ["SP", "attribute", "sp.bin", "values"],
      ["SPS", "attribute", "sps.bin", "values"],
    ]);
  });

  it("reports every tensor inside subgraphs (g and graphs), at any depth, as subgraph", () => {
    const inner: GraphSpec = {
      name: "inner",
      initializers: [ext("deep", "deep.bin")],
      nodes: [{ opType: "Constant", inputs: [], outputs: ["k"], attributes: [{ name: "value", tensor: ext("deepConst", "dc.bin") }] }],
    };
    const body: GraphSpec = {
      name: "body",
      initializers: [ext("B", "b.bin")],
      sparseInitializers: [sparse("BS", "bs.bin")],
      nodes: [{ opType: "If", inputs: ["c"], outputs: ["o"], attributes: [{ name: "then_branch", graph: inner }] }],
    };
    const { model } = buildOnnxModel({
      graph: {
        name: "g",
        ...io,
        nodes: [
          { opType: "Loop", inputs: [], outputs: ["y"], attributes: [{ name: "body", graph: body }] },
          { opType: "Custom", domain: "x", inputs: [], outputs: ["z"], attributes: [{ name: "gs", graphs: [{ name: "g2", initializers: [ext("G2", "g2.bin")] }] }] },
        ],
      },
    });
    expect(readExternalDataRefs(model).map((r) => [r.tensorName, r.where, r.location])).toEqual([
      ["deepConst", "subgraph", "dc.bin"],
      ["deep", "subgraph", "deep.bin"],
      ["B", "subgraph", "b.bin"],
      ["BS", "subgraph", "bs.bin"],
      ["G2", "subgraph", "g2.bin"],
    ]);
  });

  it("reports training_info graphs (initialization and algorithm) as training", () => {
    const { model } = buildOnnxModel({
      graph: { name: "g", ...io },
      trainingInfo: [
        {
          initialization: { name: "init", initializers: [ext("TI", "ti.bin")] },
          algorithm: {
            name: "algo",
            nodes: [{ opType: "Constant", inputs: [], outputs: ["c"], attributes: [{ name: "value", tensor: ext("TA", "ta.bin") }] }],
          },
        },
      ],
    });
    expect(readExternalDataRefs(model).map((r) => [r.tensorName, r.where, r.location])).toEqual([
      ["TI", "training", "ti.bin"],
      ["TA", "training", "ta.bin"],
    ]);
  });

  it("reports function nodes' attributes and function attribute defaults as function", () => {
    const { model } = buildOnnxModel({
      graph: { name: "g", ...io, nodes: [{ opType: "F", domain: "my", inputs: ["X"], outputs: ["Y"] }] },
      functions: [
        {
          name: "F",
          domain: "my",
          inputs: ["a"],
          outputs: ["b"],
          nodes: [
            { opType: "Constant", inputs: [], outputs: ["c"], attributes: [{ name: "value", tensor: ext("FC", "fc.bin") }] },
            { opType: "Add", inputs: ["a", "c"], outputs: ["b"] },
          ],
          attributeDefaults: [{ name: "w", tensor: ext("FD", "fd.bin") }],
        },
      ],
    });
    expect(readExternalDataRefs(model).map((r) => [r.tensorName, r.where, r.location])).toEqual([
      ["FC", "function", "fc.bin"],
      ["FD", "function", "fd.bin"],
    ]);
  });

  it("sees both halves of a graph split in two (protobuf merges repeated singular messages)", () => {
    const a = buildOnnxModel({ graph: { name: "g", ...io, initializers: [ext("A", "a.bin")] } }).model;
    const b = buildOnnxModel({ graph: { name: "g", ...io, initializers: [ext("B", "b.bin")] } }).model;
    expect(readExternalDataRefs(concatBytes([a, b])).map((r) => r.location)).toEqual(["a.bin", "b.bin"]);
  });

  it("treats a tensor with data_location EXTERNAL but no entries as external with an empty location", () => {
    expect(readExternalDataRefs(rawModel([]))).toEqual([{ tensorName: "W", where: "initializer", location: "" }]);
  });

  it("treats a tensor with external_data entries as external even when data_location is DEFAULT", () => {
    expect(readExternalDataRefs(rawModel([["location", "w.bin"]], 0))).toEqual([
      { tensorName: "W", where: "initializer", location: "w.bin" },
    ]);
  });

  it("returns location '' when the location key is missing", () => {
    expect(readExternalDataRefs(rawModel([["offset", "0"], ["length", "8"]]))).toEqual([
      { tensorName: "W", where: "initializer", location: "", offset: 0, length: 8 },
    ]);
  });

  it.each(["-8", "+8", " 8", "8 ", "0x10", "1e3", "8.0", "", "abc", "99999999999999999999"])(
    "refuses offset %j that is not a plain decimal number",
    (offset) => {
      expect(onnxInvalid(() => readExternalDataRefs(rawModel([["location", "w.bin"], ["offset", offset]])))).toMatch(
        /tensor "W" has (a non-numeric|an) external_data offset/,
      );
    },
  );

  it("refuses a non-numeric length", () => {
    expect(onnxInvalid(() => readExternalDataRefs(rawModel([["location", "w.bin"], ["length", "-1"]])))).toMatch(
      /non-numeric external_data length "-1"/,
    );
  });

  it("refuses duplicate keys, which parsers resolve differently", () => {
    const model = rawModel([["location", "ok.bin"], ["location", "/etc/passwd"]]);
    expect(onnxInvalid(() => readExternalDataRefs(model))).toMatch(/more than one external_data "location"/);
  });

  it("refuses a location that is not valid UTF-8", () => {
    const model = rawModel([["location", "w\u{fffe}.bin"]]);
    // Replace the encoded U+FFFE (ef bf be) with a lone 0xff byte of the same length.
    const i = Buffer.from(model).indexOf(Buffer.from([0xef, 0xbf, 0xbe]));
    model.set([0xff, 0x62, 0x62], i);
    expect(onnxInvalid(() => readExternalDataRefs(model))).toMatch(/not valid UTF-8/);
  });

  it("refuses truncated models", () => {
    const { model } = buildAddModel({ weights: Float32Array.of(1, 2), dims, external: { location: "w.bin" } });
    expect(onnxInvalid(() => readExternalDataRefs(model.subarray(0, model.length - 3)))).toMatch(/invalid protobuf/);
  });

  it("refuses subgraphs nested deeper than protobuf allows, instead of overflowing the stack", () => {
    const nest = (levels: number): GraphSpec => {
      let g: GraphSpec = { name: "leaf", initializers: [ext("L", "l.bin")] };
      for (let i = 0; i < levels; i++) {
        g = { name: `g${i}`, nodes: [{ opType: "If", inputs: [], outputs: [], attributes: [{ name: "then_branch", graph: g }] }] };
      }
      return g;
    };
    expect(readExternalDataRefs(buildOnnxModel({ graph: nest(30) }).model)).toHaveLength(1);
    expect(onnxInvalid(() => readExternalDataRefs(buildOnnxModel({ graph: nest(40) }).model))).toMatch(/deeper than 100/);
  });
});
