import {
  AttributeField,
  AttributeType,
  DATA_LOCATION_EXTERNAL,
  DimensionField,
  FunctionField,
  GraphField,
  ModelField,
  NodeField,
  OperatorSetIdField,
  ShapeField,
  SparseTensorField,
  StringStringEntryField,
  TensorDataType,
  TensorField,
  TrainingInfoField,
  TypeField,
  TypeTensorField,
  ValueInfoField,
} from "../../src/onnx/onnx-fields.js";
import { bytesField, concatBytes, fixed32Field, messageField, stringField, varintField } from "../../src/onnx/protobuf-write.js";

/**
 * Test and example code, not shipped in the package (it lives outside src/ for that reason).
 * Builds small, valid ONNX models (IR version 8, default-domain opset 17) for tests and examples,
 * including models whose tensors live in external data files. Output is deterministic: the same
 * spec always gives the same bytes, so the result can be pinned in a lockfile.
 */

export type TensorData = Float32Array | BigInt64Array | Int8Array;

/** Store the tensor's bytes in `externalFiles[location]` at `offset` (default: appended). */
export interface ExternalPlacementSpec {
  location: string;
  offset?: number;
}

/**
 * Write these external_data entries verbatim (and data_location EXTERNAL unless overridden);
 * the tensor's bytes are written nowhere. For building hostile or malformed models.
 */
export interface RawExternalSpec {
  entries: ReadonlyArray<readonly [key: string, value: string]>;
  dataLocation?: number;
}

export interface TensorSpec {
  name: string;
  dims: readonly number[];
  data: TensorData;
  external?: ExternalPlacementSpec | RawExternalSpec;
}

/** A sparse tensor: `values` (shape [NNZ]) at the linear `indices` (int64, shape [NNZ]) of a `dims` tensor. */
export interface SparseTensorSpec {
  dims: readonly number[];
  values: TensorSpec;
  indices: TensorSpec;
}

export type AttributeSpec = { name: string } & (
  | { int: number }
  | { float: number }
  | { tensor: TensorSpec }
  | { tensors: readonly TensorSpec[] }
  | { sparseTensor: SparseTensorSpec }
  | { sparseTensors: readonly SparseTensorSpec[] }
  | { graph: GraphSpec }
  | { graphs: readonly GraphSpec[] }
);

export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  domain?: string;
  attributes?: readonly AttributeSpec[];
}

/** A graph input or output; float32 unless elemType (a TensorProto.DataType) says otherwise. */
export interface ValueSpec {
  name: string;
  dims: readonly (number | string)[];
  elemType?: number;
}

export interface GraphSpec {
  name: string;
  nodes?: readonly NodeSpec[];
  initializers?: readonly TensorSpec[];
  sparseInitializers?: readonly SparseTensorSpec[];
  inputs?: readonly ValueSpec[];
  outputs?: readonly ValueSpec[];
}

export interface FunctionSpec {
  name: string;
  domain: string;
  inputs: readonly string[];
  outputs: readonly string[];
  nodes: readonly NodeSpec[];
  /** Default values of the function's attributes (FunctionProto.attribute_proto). */
  attributeDefaults?: readonly AttributeSpec[];
}

export interface TrainingInfoSpec {
  initialization?: GraphSpec;
  algorithm: GraphSpec;
}

export interface ModelSpec {
  graph: GraphSpec;
  trainingInfo?: readonly TrainingInfoSpec[];
  functions?: readonly FunctionSpec[];
  producerName?: string;
}

export interface BuiltModel {
  model: Uint8Array;
  /** The external data files the model refers to, by location. */
  externalFiles: Record<string, Uint8Array>;
}

const IR_VERSION = 8;
const OPSET_VERSION = 17;

export function buildOnnxModel(spec: ModelSpec): BuiltModel {
  const files = new ExternalFiles();
  const fields: Uint8Array[] = [
    varintField(ModelField.irVersion, IR_VERSION),
    stringField(ModelField.producerName, spec.producerName ?? "modelguard"),
    messageField(ModelField.graph, graphFields(spec.graph, files)),
    opsetImport("", OPSET_VERSION),
  ];
  const functionDomains = [...new Set((spec.functions ?? []).map((f) => f.domain))].sort();
  for (const domain of functionDomains) fields.push(opsetImport(domain, 1));
  for (const t of spec.trainingInfo ?? []) {
    const parts: Uint8Array[] = [];
    if (t.initialization) parts.push(messageField(TrainingInfoField.initialization, graphFields(t.initialization, files)));
    parts.push(messageField(TrainingInfoField.algorithm, graphFields(t.algorithm, files)));
    fields.push(messageField(ModelField.trainingInfo, parts));
  }
  for (const f of spec.functions ?? []) fields.push(messageField(ModelField.functions, functionFields(f, files)));
  return { model: concatBytes(fields), externalFiles: files.finish() };
}

export interface AddModelOptions {
  /** W, added to the input X; Y = X + W, all float32 of shape `dims`. */
  weights: Float32Array;
  dims: readonly number[];
  /** Where W is stored: a dense initializer (default), a sparse initializer, or a Constant node's tensor. */
  placement?: "initializer" | "sparse_initializer" | "constant";
  /** Store W (for a sparse W: its values) as external data. */
  external?: ExternalPlacementSpec;
  /** For a sparse W: store its indices as external data. */
  externalIndices?: ExternalPlacementSpec;
}

/** `Y = X + W`: the smallest model that proves W was loaded, wherever it is stored. */
export function buildAddModel(options: AddModelOptions): BuiltModel {
  const { weights, dims } = options;
  const w: TensorSpec = { name: "W", dims, data: weights, ...(options.external ? { external: options.external } : {}) };
  const graph: GraphSpec = {
    name: "add",
    inputs: [{ name: "X", dims }],
    outputs: [{ name: "Y", dims }],
    nodes: [{ opType: "Add", inputs: ["X", "W"], outputs: ["Y"], name: "add" }],
  };
  switch (options.placement ?? "initializer") {
    case "initializer":
      return buildOnnxModel({ graph: { ...graph, initializers: [w] } });
    case "constant":
      return buildOnnxModel({
        graph: {
          ...graph,
          nodes: [
            { opType: "Constant", inputs: [], outputs: ["W"], name: "w_const", attributes: [{ name: "value", tensor: w }] },
            ...(graph.nodes ?? []),
          ],
        },
      });
    case "sparse_initializer":
      return buildOnnxModel({ graph: { ...graph, sparseInitializers: [toSparse(w, options.externalIndices)] } });
  }
}

function toSparse(dense: TensorSpec, externalIndices: ExternalPlacementSpec | undefined): SparseTensorSpec {
  const data = dense.data as Float32Array;
  const values: number[] = [];
  const indices: bigint[] = [];
  data.forEach((v, i) => {
    if (v !== 0) {
      values.push(v);
      indices.push(BigInt(i));
    }
  });
  return {
    dims: dense.dims,
    values: { ...dense, dims: [values.length], data: Float32Array.from(values) },
    indices: {
      name: "",
      dims: [indices.length],
      data: BigInt64Array.from(indices),
      ...(externalIndices ? { external: externalIndices } : {}),
    },
  };
}

/** Lays out external tensor bytes per location, in the order tensors are written. */
class ExternalFiles {
  private readonly files = new Map<string, Uint8Array[]>();
  private readonly sizes = new Map<string, number>();

  place(location: string, offset: number | undefined, bytes: Uint8Array): number {
    const size = this.sizes.get(location) ?? 0;
    const at = offset ?? size;
    if (at < size) throw new RangeError(`external tensor at ${location}:${at} overlaps earlier data (file is ${size} bytes)`);
    const chunks = this.files.get(location) ?? [];
    if (at > size) chunks.push(new Uint8Array(at - size));
    chunks.push(bytes);
    this.files.set(location, chunks);
    this.sizes.set(location, at + bytes.length);
    return at;
  }

  finish(): Record<string, Uint8Array> {
    const out: Record<string, Uint8Array> = {};
    for (const [location, chunks] of this.files) out[location] = concatBytes(chunks);
    return out;
  }
}

function opsetImport(domain: string, version: number): Uint8Array {
  return messageField(ModelField.opsetImport, [
    stringField(OperatorSetIdField.domain, domain),
    varintField(OperatorSetIdField.version, version),
  ]);
}

function graphFields(g: GraphSpec, files: ExternalFiles): Uint8Array[] {
  const fields: Uint8Array[] = [];
  for (const n of g.nodes ?? []) fields.push(messageField(GraphField.node, nodeFields(n, files)));
  fields.push(stringField(GraphField.name, g.name));
  for (const t of g.initializers ?? []) fields.push(messageField(GraphField.initializer, tensorFields(t, files)));
  for (const v of g.inputs ?? []) fields.push(messageField(GraphField.input, valueInfoFields(v)));
  for (const v of g.outputs ?? []) fields.push(messageField(GraphField.output, valueInfoFields(v)));
  for (const s of g.sparseInitializers ?? []) {
    fields.push(messageField(GraphField.sparseInitializer, sparseTensorFields(s, files)));
  }
  return fields;
}

function nodeFields(n: NodeSpec, files: ExternalFiles): Uint8Array[] {
  const fields: Uint8Array[] = [];
  for (const i of n.inputs) fields.push(stringField(NodeField.input, i));
  for (const o of n.outputs) fields.push(stringField(NodeField.output, o));
  if (n.name !== undefined) fields.push(stringField(NodeField.name, n.name));
  fields.push(stringField(NodeField.opType, n.opType));
  for (const a of n.attributes ?? []) fields.push(messageField(NodeField.attribute, attributeFields(a, files)));
  if (n.domain !== undefined) fields.push(stringField(NodeField.domain, n.domain));
  return fields;
}

function attributeFields(a: AttributeSpec, files: ExternalFiles): Uint8Array[] {
  const fields: Uint8Array[] = [stringField(AttributeField.name, a.name)];
  let type: number;
  if ("int" in a) {
    fields.push(varintField(AttributeField.i, a.int));
    type = AttributeType.INT;
  } else if ("float" in a) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, a.float, true);
    fields.push(fixed32Field(AttributeField.f, b));
    type = AttributeType.FLOAT;
  } else if ("tensor" in a) {
    fields.push(messageField(AttributeField.t, tensorFields(a.tensor, files)));
    type = AttributeType.TENSOR;
  } else if ("tensors" in a) {
    for (const t of a.tensors) fields.push(messageField(AttributeField.tensors, tensorFields(t, files)));
    type = AttributeType.TENSORS;
  } else if ("sparseTensor" in a) {
    fields.push(messageField(AttributeField.sparseTensor, sparseTensorFields(a.sparseTensor, files)));
    type = AttributeType.SPARSE_TENSOR;
  } else if ("sparseTensors" in a) {
    for (const s of a.sparseTensors) fields.push(messageField(AttributeField.sparseTensors, sparseTensorFields(s, files)));
    type = AttributeType.SPARSE_TENSORS;
  } else if ("graph" in a) {
    fields.push(messageField(AttributeField.g, graphFields(a.graph, files)));
    type = AttributeType.GRAPH;
  } else {
    for (const g of a.graphs) fields.push(messageField(AttributeField.graphs, graphFields(g, files)));
    type = AttributeType.GRAPHS;
  }
  fields.push(varintField(AttributeField.type, type));
  return fields;
}

function tensorFields(t: TensorSpec, files: ExternalFiles): Uint8Array[] {
  const fields: Uint8Array[] = [];
  for (const d of t.dims) fields.push(varintField(TensorField.dims, d));
  fields.push(varintField(TensorField.dataType, tensorDataType(t.data)));
  fields.push(stringField(TensorField.name, t.name));
  const raw = littleEndianBytes(t.data);
  const ext = t.external;
  if (ext === undefined) {
    fields.push(bytesField(TensorField.rawData, raw));
  } else if ("entries" in ext) {
    for (const [k, v] of ext.entries) fields.push(stringStringEntry(k, v));
    fields.push(varintField(TensorField.dataLocation, ext.dataLocation ?? DATA_LOCATION_EXTERNAL));
  } else {
    const offset = files.place(ext.location, ext.offset, raw);
    fields.push(
      stringStringEntry("location", ext.location),
      stringStringEntry("offset", String(offset)),
      stringStringEntry("length", String(raw.length)),
      varintField(TensorField.dataLocation, DATA_LOCATION_EXTERNAL),
    );
  }
  return fields;
}

function stringStringEntry(k: string, v: string): Uint8Array {
  return messageField(TensorField.externalData, [
    stringField(StringStringEntryField.key, k),
    stringField(StringStringEntryField.value, v),
  ]);
}

function sparseTensorFields(s: SparseTensorSpec, files: ExternalFiles): Uint8Array[] {
  const fields = [
    messageField(SparseTensorField.values, tensorFields(s.values, files)),
    messageField(SparseTensorField.indices, tensorFields(s.indices, files)),
  ];
  for (const d of s.dims) fields.push(varintField(SparseTensorField.dims, d));
  return fields;
}

function valueInfoFields(v: ValueSpec): Uint8Array[] {
  const dims = v.dims.map((d) =>
    messageField(
      ShapeField.dim,
      [typeof d === "number" ? varintField(DimensionField.dimValue, d) : stringField(DimensionField.dimParam, d)],
    ),
  );
  const tensorType = [
    varintField(TypeTensorField.elemType, v.elemType ?? TensorDataType.FLOAT),
    messageField(TypeTensorField.shape, dims),
  ];
  return [
    stringField(ValueInfoField.name, v.name),
    messageField(ValueInfoField.type, [messageField(TypeField.tensorType, tensorType)]),
  ];
}

function functionFields(f: FunctionSpec, files: ExternalFiles): Uint8Array[] {
  const fields: Uint8Array[] = [stringField(FunctionField.name, f.name)];
  for (const i of f.inputs) fields.push(stringField(FunctionField.input, i));
  for (const o of f.outputs) fields.push(stringField(FunctionField.output, o));
  for (const n of f.nodes) fields.push(messageField(FunctionField.node, nodeFields(n, files)));
  fields.push(
    messageField(FunctionField.opsetImport, [
      stringField(OperatorSetIdField.domain, ""),
      varintField(OperatorSetIdField.version, OPSET_VERSION),
    ]),
  );
  fields.push(stringField(FunctionField.domain, f.domain));
  for (const a of f.attributeDefaults ?? []) fields.push(messageField(FunctionField.attributeProto, attributeFields(a, files)));
  return fields;
}

function tensorDataType(data: TensorData): number {
  if (data instanceof Float32Array) return TensorDataType.FLOAT;
  if (data instanceof Int8Array) return TensorDataType.INT8;
  return TensorDataType.INT64;
}

// Explicit little-endian so the bytes (and the lockfile digests of them) do not depend on the host.
function littleEndianBytes(data: TensorData): Uint8Array {
  if (data instanceof Int8Array) return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = new Uint8Array(data.length * (data instanceof Float32Array ? 4 : 8));
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}
