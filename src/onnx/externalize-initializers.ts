import { ModelGuardError } from "../errors.js";
import { DATA_LOCATION_EXTERNAL, GraphField, ModelField, StringStringEntryField, TensorField } from "./onnx-fields.js";
import { concatBytes, messageField, stringField, varintField } from "./protobuf-write.js";
import { WireType } from "./protobuf-wire.js";

/**
 * Turns a single-file ONNX model into a small graph whose large initializers refer, as external
 * data, to where their bytes already sit in a verified copy of that same file, so onnxruntime maps
 * the copy instead of parsing 400 MB of protobuf and copying every weight twice.
 *
 * The model is walked by positioned reads (`read(position, length)` of the verified copy): only
 * the field headers and the small fields are read; a large `raw_data` is skipped by its length, so
 * no model is ever held in one Buffer and a model as large as protobuf allows (2 GiB) costs a few
 * MB of memory. Only dense initializers of the main graph (GraphProto.initializer) are rewritten:
 * they are the place onnxruntime reads external data from the folder it is given (see
 * check-external-data.ts); everything else is kept byte for byte.
 *
 * Two graphs come out of one walk: `skeleton` (the large raw_data fields dropped: for the
 * external-data check, which must see the model's own references and nothing we added) and
 * `rewritten(location)` (each dropped raw_data replaced by external_data entries naming the copy).
 */

/** Random access to the bytes of the model (a verified copy). */
export interface PositionedBytes {
  readonly size: number;
  read(position: number, length: number): Promise<Uint8Array>;
}

/** Initializers whose raw_data is at least this long are referred to in place; smaller ones stay inline. */
export const EXTERNALIZE_THRESHOLD = 4096;

type Piece =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "message"; fieldNumber: number; children: Piece[] }
  | { kind: "in-place"; offset: number; length: number };

export interface ExternalizedModel {
  /** The model without its large raw_data fields: what the external-data check reads. */
  skeleton: Uint8Array;
  /** The model with each large raw_data replaced by an external-data reference to `location`. */
  rewritten(location: string): Uint8Array;
  /** The tensors referred to in place: where their bytes sit in the copy. */
  tensors: { offset: number; length: number }[];
}

const BLOCK = 64 * 1024;

function invalid(message: string): ModelGuardError {
  return new ModelGuardError("ONNX_INVALID", `invalid protobuf: ${message}`);
}

/** Buffered positioned reads of protobuf headers: one read per 64 KiB block touched. */
class HeaderReader {
  #blockStart = -1;
  #block: Uint8Array = new Uint8Array(0);
  constructor(private readonly source: PositionedBytes) {}

  async byteAt(position: number): Promise<number> {
    if (position < this.#blockStart || position >= this.#blockStart + this.#block.length) {
      this.#block = await this.source.read(position, Math.min(BLOCK, this.source.size - position));
      this.#blockStart = position;
      if (this.#block.length === 0) throw invalid(`truncated message at offset ${position}`);
    }
    return this.#block[position - this.#blockStart]!;
  }

  /** A varint as a number (protobuf lengths and keys here fit in 2^53; larger is refused). */
  async varint(position: number): Promise<{ value: number; next: number }> {
    let value = 0;
    for (let i = 0; i < 8; i++) {
      const b = await this.byteAt(position + i);
      value += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return { value, next: position + i + 1 };
    }
    throw invalid(`varint too long at offset ${position}`);
  }

  async bytes(position: number, length: number): Promise<Uint8Array> {
    const out = await this.source.read(position, length);
    if (out.length !== length) throw invalid(`truncated field at offset ${position}`);
    return Uint8Array.from(out);
  }
}

interface Field {
  fieldNumber: number;
  wireType: number;
  /** Where the field's key starts, where its value starts and ends. */
  start: number;
  valueStart: number;
  end: number;
}

async function* fields(reader: HeaderReader, start: number, end: number): AsyncGenerator<Field> {
  let pos = start;
  while (pos < end) {
    const key = await reader.varint(pos);
    const fieldNumber = Math.floor(key.value / 8);
    const wireType = key.value % 8;
    if (fieldNumber === 0) throw invalid(`field number 0 at offset ${pos}`);
    let valueStart = key.next;
    let valueEnd: number;
    switch (wireType) {
      case WireType.Varint: {
        valueEnd = (await reader.varint(valueStart)).next;
        break;
      }
      case WireType.Fixed64:
        valueEnd = valueStart + 8;
        break;
      case WireType.Fixed32:
        valueEnd = valueStart + 4;
        break;
      case WireType.LengthDelimited: {
        const len = await reader.varint(valueStart);
        valueStart = len.next;
        valueEnd = valueStart + len.value;
        break;
      }
      default:
        throw invalid(`wire type ${wireType} in field ${fieldNumber} at offset ${pos}`);
    }
    if (valueEnd > end) throw invalid(`field ${fieldNumber} at offset ${pos} runs past the end of its message`);
    yield { fieldNumber, wireType, start: pos, valueStart, end: valueEnd };
    pos = valueEnd;
  }
}

async function verbatim(reader: HeaderReader, f: Field): Promise<Piece> {
  return { kind: "bytes", bytes: await reader.bytes(f.start, f.end - f.start) };
}

async function walkTensor(reader: HeaderReader, start: number, end: number, tensors: ExternalizedModel["tensors"]): Promise<Piece[]> {
  const pieces: Piece[] = [];
  let rawData: Field | undefined;
  let external = false;
  for await (const f of fields(reader, start, end)) {
    if (f.fieldNumber === TensorField.rawData && f.wireType === WireType.LengthDelimited) {
      rawData = f;
      continue;
    }
    if (f.fieldNumber === TensorField.externalData) external = true;
    if (f.fieldNumber === TensorField.dataLocation && f.wireType === WireType.Varint) external ||= (await reader.varint(f.valueStart)).value === DATA_LOCATION_EXTERNAL;
    pieces.push(await verbatim(reader, f));
  }
  if (rawData) {
    const length = rawData.end - rawData.valueStart;
    // A tensor that already names external data is left as it is: the check decides about it.
    if (length >= EXTERNALIZE_THRESHOLD && !external) {
      pieces.push({ kind: "in-place", offset: rawData.valueStart, length });
      tensors.push({ offset: rawData.valueStart, length });
    } else {
      pieces.push(await verbatim(reader, rawData));
    }
  }
  return pieces;
}

async function walkGraph(reader: HeaderReader, start: number, end: number, tensors: ExternalizedModel["tensors"]): Promise<Piece[]> {
  const pieces: Piece[] = [];
  for await (const f of fields(reader, start, end)) {
    if (f.fieldNumber === GraphField.initializer && f.wireType === WireType.LengthDelimited) {
      pieces.push({ kind: "message", fieldNumber: f.fieldNumber, children: await walkTensor(reader, f.valueStart, f.end, tensors) });
    } else {
      pieces.push(await verbatim(reader, f));
    }
  }
  return pieces;
}

export async function externalizeInitializers(model: PositionedBytes): Promise<ExternalizedModel> {
  const reader = new HeaderReader(model);
  const tensors: ExternalizedModel["tensors"] = [];
  const pieces: Piece[] = [];
  for await (const f of fields(reader, 0, model.size)) {
    if (f.fieldNumber === ModelField.graph && f.wireType === WireType.LengthDelimited) {
      pieces.push({ kind: "message", fieldNumber: f.fieldNumber, children: await walkGraph(reader, f.valueStart, f.end, tensors) });
    } else {
      pieces.push(await verbatim(reader, f));
    }
  }
  return {
    skeleton: serialize(pieces, undefined),
    rewritten: (location) => serialize(pieces, location),
    tensors,
  };
}

function serialize(pieces: readonly Piece[], location: string | undefined): Uint8Array {
  const out: Uint8Array[] = [];
  for (const p of pieces) {
    if (p.kind === "bytes") out.push(p.bytes);
    else if (p.kind === "message") out.push(messageField(p.fieldNumber, [serialize(p.children, location)]));
    else if (location !== undefined) {
      out.push(
        entry("location", location),
        entry("offset", String(p.offset)),
        entry("length", String(p.length)),
        varintField(TensorField.dataLocation, DATA_LOCATION_EXTERNAL),
      );
    }
  }
  return concatBytes(out);
}

function entry(key: string, value: string): Uint8Array {
  return messageField(TensorField.externalData, [stringField(StringStringEntryField.key, key), stringField(StringStringEntryField.value, value)]);
}
