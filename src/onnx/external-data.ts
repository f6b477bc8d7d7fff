import { ModelGuardError } from "../errors.js";
import {
  AttributeField,
  DATA_LOCATION_EXTERNAL,
  FunctionField,
  GraphField,
  ModelField,
  NodeField,
  SparseTensorField,
  StringStringEntryField,
  TensorField,
  TrainingInfoField,
} from "./onnx-fields.js";
import { decodeString, forEachField, WireType } from "./protobuf-wire.js";

/**
 * Where in the model a tensor sits. Only "initializer" (the main graph's dense initializers)
 * is a place modelguard knows how to hand to onnxruntime from verified memory; the others are
 * reported so the caller can refuse them.
 */
export type ExternalDataPlace =
  | "initializer"
  | "sparse_initializer"
  | "attribute"
  | "subgraph"
  | "training"
  | "function";

export interface ExternalDataRef {
  /** The tensor's name; for a sparse tensor, the name of its values tensor. */
  tensorName: string;
  where: ExternalDataPlace;
  /** The `location` entry, verbatim; "" when the tensor is external but names no location. */
  location: string;
  offset?: number;
  length?: number;
  /** Set for sparse tensors, whose values and indices are two separately stored tensors. */
  part?: "values" | "indices";
}

// protobuf's C++ parser (used by onnxruntime) refuses messages nested deeper than 100; refusing
// the same here keeps a hostile model from overflowing our stack with endless subgraphs.
const MAX_DEPTH = 100;

/**
 * Every tensor of the model that onnxruntime would (or might) read from outside the model
 * bytes. Scans the main graph, sparse initializers, node attributes, subgraphs at any depth,
 * training_info graphs, and functions (their nodes and attribute defaults).
 *
 * A tensor counts as external when data_location is EXTERNAL in any occurrence or when it has
 * any external_data entry. That is wider than onnxruntime's own test (last data_location ==
 * EXTERNAL): a tensor whose entries we ignored could become external under a different parser,
 * so every location string in the model gets checked.
 *
 * Throws ONNX_INVALID for malformed protobuf, invalid UTF-8 in names or entries, duplicate
 * external_data keys, and offsets or lengths that are not plain decimal numbers.
 */
export function readExternalDataRefs(modelBytes: Uint8Array): ExternalDataRef[] {
  const refs: ExternalDataRef[] = [];
  const scanner = new Scanner(refs);
  forEachField(modelBytes, (f) => {
    if (f.wireType !== WireType.LengthDelimited) return;
    switch (f.fieldNumber) {
      case ModelField.graph:
        scanner.graph(f.value, undefined, 1);
        break;
      case ModelField.trainingInfo:
        forEachField(f.value, (t) => {
          if (
            t.wireType === WireType.LengthDelimited &&
            (t.fieldNumber === TrainingInfoField.initialization || t.fieldNumber === TrainingInfoField.algorithm)
          ) {
            scanner.graph(t.value, "training", 2);
          }
        });
        break;
      case ModelField.functions:
        forEachField(f.value, (fn) => {
          if (fn.wireType !== WireType.LengthDelimited) return;
          if (fn.fieldNumber === FunctionField.node) scanner.node(fn.value, "function", 2);
          else if (fn.fieldNumber === FunctionField.attributeProto) scanner.attribute(fn.value, "function", 2);
        });
        break;
    }
  });
  return refs;
}

/**
 * `inherited` is the place forced by an enclosing context (a subgraph, training_info or a
 * function): everything beneath it is reported with that place, so a tensor that is an
 * "initializer" of a subgraph is never mistaken for one of the main graph.
 */
class Scanner {
  constructor(private readonly refs: ExternalDataRef[]) {}

  graph(bytes: Uint8Array, inherited: ExternalDataPlace | undefined, depth: number): void {
    checkDepth(depth);
    forEachField(bytes, (f) => {
      if (f.wireType !== WireType.LengthDelimited) return;
      switch (f.fieldNumber) {
        case GraphField.initializer:
          this.tensor([f.value], inherited ?? "initializer", depth + 1);
          break;
        case GraphField.sparseInitializer:
          this.sparseTensor([f.value], inherited ?? "sparse_initializer", depth + 1);
          break;
        case GraphField.node:
          this.node(f.value, inherited, depth + 1);
          break;
      }
    });
  }

  node(bytes: Uint8Array, inherited: ExternalDataPlace | undefined, depth: number): void {
    checkDepth(depth);
    forEachField(bytes, (f) => {
      if (f.wireType === WireType.LengthDelimited && f.fieldNumber === NodeField.attribute) {
        this.attribute(f.value, inherited, depth + 1);
      }
    });
  }

  attribute(bytes: Uint8Array, inherited: ExternalDataPlace | undefined, depth: number): void {
    checkDepth(depth);
    const place = inherited ?? "attribute";
    const subgraphPlace = inherited ?? "subgraph";
    // `t` and `sparse_tensor` are singular: protobuf merges repeated occurrences into one message
    // (its external_data entries concatenated), so they are read as one tensor, not several.
    const t: Uint8Array[] = [];
    const sparse: Uint8Array[] = [];
    forEachField(bytes, (f) => {
      if (f.wireType !== WireType.LengthDelimited) return;
      switch (f.fieldNumber) {
        case AttributeField.t:
          t.push(f.value);
          break;
        case AttributeField.tensors:
          this.tensor([f.value], place, depth + 1);
          break;
        case AttributeField.sparseTensor:
          sparse.push(f.value);
          break;
        case AttributeField.sparseTensors:
          this.sparseTensor([f.value], place, depth + 1);
          break;
        case AttributeField.g:
        case AttributeField.graphs:
          this.graph(f.value, subgraphPlace, depth + 1);
          break;
      }
    });
    if (t.length > 0) this.tensor(t, place, depth + 1);
    if (sparse.length > 0) this.sparseTensor(sparse, place, depth + 1);
  }

  tensor(parts: Uint8Array[], where: ExternalDataPlace, depth: number): void {
    const info = readTensor(parts, depth);
    if (info.external) this.refs.push({ tensorName: info.name, where, ...info.external });
  }

  sparseTensor(parts: Uint8Array[], where: ExternalDataPlace, depth: number): void {
    checkDepth(depth);
    const values: Uint8Array[] = [];
    const indices: Uint8Array[] = [];
    for (const part of parts) {
      forEachField(part, (f) => {
        if (f.wireType !== WireType.LengthDelimited) return;
        if (f.fieldNumber === SparseTensorField.values) values.push(f.value);
        else if (f.fieldNumber === SparseTensorField.indices) indices.push(f.value);
      });
    }
    const v = readTensor(values, depth + 1);
    const i = readTensor(indices, depth + 1);
    // The sparse tensor's name is its values tensor's name (onnx.proto); indices are usually unnamed.
    const tensorName = v.name;
    if (v.external) this.refs.push({ tensorName, where, ...v.external, part: "values" });
    if (i.external) this.refs.push({ tensorName, where, ...i.external, part: "indices" });
  }
}

interface ExternalPlacement {
  location: string;
  offset?: number;
  length?: number;
}

interface TensorInfo {
  name: string;
  external?: ExternalPlacement;
}

/** Reads the name and external placement of one tensor given as the occurrences that merge into it. */
function readTensor(parts: Uint8Array[], depth: number): TensorInfo {
  checkDepth(depth);
  let name = "";
  let externalFlag = false;
  const entries: Uint8Array[] = [];
  for (const part of parts) {
    forEachField(part, (f) => {
      switch (f.fieldNumber) {
        case TensorField.name:
          if (f.wireType === WireType.LengthDelimited) name = decodeString(f.value, "tensor name");
          break;
        case TensorField.externalData:
          if (f.wireType === WireType.LengthDelimited) entries.push(f.value);
          break;
        case TensorField.dataLocation:
          // Any occurrence counts, not just the last: protobuf (proto2) keeps the previous value
          // when a later one is not a known enum value, so "last wins" is not a safe reading.
          if (f.wireType === WireType.Varint && f.value === BigInt(DATA_LOCATION_EXTERNAL)) externalFlag = true;
          break;
      }
    });
  }
  if (!externalFlag && entries.length === 0) return { name };
  return { name, external: readExternalEntries(name, entries, depth + 1) };
}

function readExternalEntries(tensorName: string, entries: Uint8Array[], depth: number): ExternalPlacement {
  checkDepth(depth);
  const seen = new Map<string, string>();
  for (const entry of entries) {
    let key = "";
    let value = "";
    forEachField(entry, (f) => {
      if (f.wireType !== WireType.LengthDelimited) return;
      if (f.fieldNumber === StringStringEntryField.key) key = decodeString(f.value, `external_data key of tensor "${tensorName}"`);
      else if (f.fieldNumber === StringStringEntryField.value) {
        value = decodeString(f.value, `external_data value of tensor "${tensorName}"`);
      }
    });
    // onnxruntime takes the last of duplicate keys, other readers may take the first: two
    // "location" entries could make the file we check differ from the file that is loaded.
    if (seen.has(key)) {
      throw new ModelGuardError("ONNX_INVALID", `tensor "${tensorName}" has more than one external_data "${key}" entry`);
    }
    seen.set(key, value);
  }
  const placement: ExternalPlacement = { location: seen.get("location") ?? "" };
  const offset = seen.get("offset");
  if (offset !== undefined) placement.offset = parseDecimal(offset, "offset", tensorName);
  const length = seen.get("length");
  if (length !== undefined) placement.length = parseDecimal(length, "length", tensorName);
  return placement;
}

/**
 * Strict: digits only. onnxruntime parses these with strtoll-like rules that accept a sign and
 * leading spaces, so "-8" would be a negative offset; anything but plain digits is refused.
 */
function parseDecimal(text: string, key: string, tensorName: string): number {
  if (!/^[0-9]+$/.test(text)) {
    throw new ModelGuardError("ONNX_INVALID", `tensor "${tensorName}" has a non-numeric external_data ${key} "${text}"`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new ModelGuardError("ONNX_INVALID", `tensor "${tensorName}" has an external_data ${key} too large: ${text}`);
  }
  return n;
}

function checkDepth(depth: number): void {
  if (depth > MAX_DEPTH) {
    throw new ModelGuardError("ONNX_INVALID", `model nests messages deeper than ${MAX_DEPTH} levels`);
  }
}
