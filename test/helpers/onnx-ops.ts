import ort from "onnxruntime-node";
import { bytesField, concatBytes, messageField, stringField, varintField } from "../../src/onnx/protobuf-write.js";

/**
 * Single-file ONNX models for one kernel each, with weights of any element type given as raw
 * little-endian bytes (build-model.ts covers float32 and int64 only), and inputs to run them with.
 * For the alignment tests: every weight is large enough (>= 4 KiB) to be referred to in place.
 */

export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, FLOAT16: 10 } as const;

interface Weight {
  name: string;
  dims: number[];
  type: number;
  raw: Uint8Array;
}
interface Node {
  op: string;
  ins: string[];
  outs: string[];
  attrs?: Uint8Array[][];
}
type Value = [name: string, type: number, dims: number[]];

export interface OpCase {
  model: Uint8Array;
  feeds: () => Record<string, ort.Tensor>;
}

function tensor(t: Weight): Uint8Array[] {
  return [...t.dims.map((d) => varintField(1, d)), varintField(2, t.type), stringField(8, t.name), bytesField(9, t.raw)];
}

function valueInfo([name, type, dims]: Value): Uint8Array[] {
  const shape = dims.map((d) => messageField(1, [varintField(1, d)]));
  return [stringField(1, name), messageField(2, [messageField(1, [varintField(1, type), messageField(2, shape)])])];
}

function buildModel(nodes: Node[], weights: Weight[], inputs: Value[], outputs: Value[], lead: number): Uint8Array {
  const g: Uint8Array[] = [];
  for (const n of nodes) {
    g.push(messageField(1, [...n.ins.map((i) => stringField(1, i)), ...n.outs.map((o) => stringField(2, o)), stringField(4, n.op), ...(n.attrs ?? []).map((a) => messageField(5, a))]));
  }
  // A graph name of `lead` bytes moves every weight's offset in the file: the tests try each offset mod 64.
  g.push(stringField(2, "g".repeat(lead + 1)));
  for (const w of weights) g.push(messageField(5, tensor(w)));
  for (const i of inputs) g.push(messageField(11, valueInfo(i)));
  for (const o of outputs) g.push(messageField(12, valueInfo(o)));
  return concatBytes([varintField(1, 8), messageField(7, g), messageField(8, [stringField(1, ""), varintField(2, 17)])]);
}

function floats(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}
const rawOf = (a: ArrayBufferView) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** float32 → IEEE half (truncating; enough for test data in [-0.5, 0.5]). */
function halves(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  const u = new Uint32Array(a.buffer.slice(0));
  for (let i = 0; i < a.length; i++) {
    const x = u[i]!;
    const e = ((x >>> 23) & 0xff) - 112;
    out[i] = ((x >>> 16) & 0x8000) | (e <= 0 ? 0 : (e << 10) | ((x >>> 13) & 0x3ff));
  }
  return out;
}

function int8s(n: number, seed: number): Int8Array {
  const a = new Int8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = (s >>> 24) - 128;
  }
  return a;
}

const attrInt = (name: string, v: number) => [stringField(1, name), varintField(3, v), varintField(20, 2)];
const attrInts = (name: string, v: number[]) => [stringField(1, name), ...v.map((x) => varintField(8, x)), varintField(20, 7)];
const K = 128;
const { FLOAT, UINT8, INT8, INT32, FLOAT16 } = DataType;

/** One model per kernel the alignment of a mapped weight could matter to; `lead` shifts the weights' offsets. */
export function opCases(lead: number): Record<string, OpCase> {
  const f32 = (name: string, dims: number[], seed: number): Weight => ({ name, dims, type: FLOAT, raw: rawOf(floats(dims.reduce((a, b) => a * b, 1), seed)) });
  return {
    Conv: {
      model: buildModel([{ op: "Conv", ins: ["X", "W", "B"], outs: ["Y"], attrs: [attrInts("pads", [1, 1, 1, 1])] }], [f32("W", [16, 8, 3, 3], 1), f32("B", [16], 2)], [["X", FLOAT, [1, 8, 8, 8]]], [["Y", FLOAT, [1, 16, 8, 8]]], lead),
      feeds: () => ({ X: new ort.Tensor("float32", floats(8 * 64, 3), [1, 8, 8, 8]) }),
    },
    MatMul: {
      model: buildModel([{ op: "MatMul", ins: ["X", "W"], outs: ["Y"] }], [f32("W", [K, K], 4)], [["X", FLOAT, [3, K]]], [["Y", FLOAT, [3, K]]], lead),
      feeds: () => ({ X: new ort.Tensor("float32", floats(3 * K, 5), [3, K]) }),
    },
    Gemm: {
      model: buildModel([{ op: "Gemm", ins: ["A", "B", "C"], outs: ["Y"], attrs: [attrInt("transB", 1)] }], [f32("B", [64, K], 6), f32("C", [64], 7)], [["A", FLOAT, [3, K]]], [["Y", FLOAT, [3, 64]]], lead),
      feeds: () => ({ A: new ort.Tensor("float32", floats(3 * K, 8), [3, K]) }),
    },
    "float16 MatMul": {
      // float32 in and out, cast to and from float16 inside the graph, so the MatMul runs in float16 on
      // the mapped weights: onnxruntime-node 1.30 on Node 24 (which has Float16Array) fails to take a
      // float16 tensor from JavaScript ("not enough space: expected 768, got 0").
      model: buildModel(
        [
          { op: "Cast", ins: ["X"], outs: ["Xh"], attrs: [attrInt("to", FLOAT16)] },
          { op: "MatMul", ins: ["Xh", "W"], outs: ["Yh"] },
          { op: "Cast", ins: ["Yh"], outs: ["Y"], attrs: [attrInt("to", FLOAT)] },
        ],
        [{ name: "W", dims: [K, K], type: FLOAT16, raw: rawOf(halves(floats(K * K, 9))) }],
        [["X", FLOAT, [3, K]]],
        [["Y", FLOAT, [3, K]]],
        lead,
      ),
      feeds: () => ({ X: new ort.Tensor("float32", floats(3 * K, 10), [3, K]) }),
    },
    "float16 Cast": {
      model: buildModel(
        [{ op: "Cast", ins: ["W"], outs: ["Wf"], attrs: [attrInt("to", FLOAT)] }, { op: "Add", ins: ["X", "Wf"], outs: ["Y"] }],
        [{ name: "W", dims: [K * K], type: FLOAT16, raw: rawOf(halves(floats(K * K, 11))) }],
        [["X", FLOAT, [K * K]]],
        [["Y", FLOAT, [K * K]]],
        lead,
      ),
      feeds: () => ({ X: new ort.Tensor("float32", floats(K * K, 12), [K * K]) }),
    },
    "int8 MatMulInteger": {
      model: buildModel(
        [{ op: "MatMulInteger", ins: ["A", "B", "az", "bz"], outs: ["Y"] }],
        [{ name: "B", dims: [K, K], type: INT8, raw: rawOf(int8s(K * K, 13)) }, { name: "az", dims: [], type: UINT8, raw: Uint8Array.of(3) }, { name: "bz", dims: [], type: INT8, raw: Uint8Array.of(1) }],
        [["A", UINT8, [3, K]]],
        [["Y", INT32, [3, K]]],
        lead,
      ),
      feeds: () => ({ A: new ort.Tensor("uint8", Uint8Array.from({ length: 3 * K }, (_, i) => (i * 7) % 256), [3, K]) }),
    },
    "int8 DequantizeLinear": {
      model: buildModel(
        [{ op: "DequantizeLinear", ins: ["B", "s", "z"], outs: ["Wf"] }, { op: "MatMul", ins: ["X", "Wf"], outs: ["Y"] }],
        [{ name: "B", dims: [K, K], type: INT8, raw: rawOf(int8s(K * K, 14)) }, { name: "s", dims: [], type: FLOAT, raw: rawOf(Float32Array.of(0.01)) }, { name: "z", dims: [], type: INT8, raw: Uint8Array.of(0) }],
        [["X", FLOAT, [3, K]]],
        [["Y", FLOAT, [3, K]]],
        lead,
      ),
      feeds: () => ({ X: new ort.Tensor("float32", floats(3 * K, 15), [3, K]) }),
    },
    Add: {
      model: buildModel([{ op: "Add", ins: ["X", "W"], outs: ["Y"] }], [f32("W", [K * K], 16)], [["X", FLOAT, [K * K]]], [["Y", FLOAT, [K * K]]], lead),
      feeds: () => ({ X: new ort.Tensor("float32", floats(K * K, 17), [K * K]) }),
    },
  };
}

/** Y's bytes, for comparing outputs exactly. */
export async function outputBytes(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Buffer> {
  const data = (await session.run(feeds)).Y!.data as ArrayBufferView;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
