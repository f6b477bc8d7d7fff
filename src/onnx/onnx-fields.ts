/**
 * Field numbers from onnx.proto (ONNX IR version 10) for the messages modelguard reads or writes.
 * Shared by the external-data scanner and the model builder so both agree on the schema.
 */

export const ModelField = {
  irVersion: 1,
  producerName: 2,
  graph: 7,
  opsetImport: 8,
  trainingInfo: 20,
  functions: 25,
} as const;

export const TrainingInfoField = { initialization: 1, algorithm: 2 } as const;

export const FunctionField = {
  name: 1,
  input: 4,
  output: 5,
  attribute: 6,
  node: 7,
  opsetImport: 9,
  domain: 10,
  /** Default values of the function's attributes: AttributeProtos, so they can hold tensors. */
  attributeProto: 11,
} as const;

export const GraphField = {
  node: 1,
  name: 2,
  initializer: 5,
  input: 11,
  output: 12,
  valueInfo: 13,
  sparseInitializer: 15,
} as const;

export const NodeField = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;

export const AttributeField = {
  name: 1,
  f: 2,
  i: 3,
  s: 4,
  t: 5,
  g: 6,
  floats: 7,
  ints: 8,
  strings: 9,
  tensors: 10,
  graphs: 11,
  type: 20,
  sparseTensor: 22,
  sparseTensors: 23,
} as const;

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
} as const;

export const TensorField = {
  dims: 1,
  dataType: 2,
  floatData: 4,
  int64Data: 7,
  name: 8,
  rawData: 9,
  externalData: 13,
  dataLocation: 14,
} as const;

/** TensorProto.DataLocation.EXTERNAL */
export const DATA_LOCATION_EXTERNAL = 1;

/** TensorProto.DataType values used here. */
export const TensorDataType = { FLOAT: 1, INT8: 3, INT64: 7 } as const;

export const StringStringEntryField = { key: 1, value: 2 } as const;

export const SparseTensorField = { values: 1, indices: 2, dims: 3 } as const;

export const ValueInfoField = { name: 1, type: 2 } as const;
export const TypeField = { tensorType: 1 } as const;
export const TypeTensorField = { elemType: 1, shape: 2 } as const;
export const ShapeField = { dim: 1 } as const;
export const DimensionField = { dimValue: 1, dimParam: 2 } as const;
export const OperatorSetIdField = { domain: 1, version: 2 } as const;
