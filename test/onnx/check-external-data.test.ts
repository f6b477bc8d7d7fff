import { describe, it, expect } from "vitest";
import { isModelGuardError } from "../../src/errors.js";
import { checkExternalDataRefs, type CheckExternalDataOptions } from "../../src/onnx/check-external-data.js";
import type { ExternalDataPlace, ExternalDataRef } from "../../src/onnx/external-data.js";
import { messageOf } from "../helpers/errors.js";

const unverified = (fn: () => unknown): string => messageOf("EXTERNAL_DATA_UNVERIFIED", fn);

const options: CheckExternalDataOptions = {
  modelPath: "onnx/model.onnx",
  lockedFiles: { "onnx/model.onnx": 1000, "onnx/model.onnx_data": 64, "onnx/sub/w.bin": 16, "config.json": 10 },
};
const ref = (over: Partial<ExternalDataRef> = {}): ExternalDataRef => ({
  tensorName: "W",
  where: "initializer",
  location: "model.onnx_data",
  offset: 0,
  length: 16,
  ...over,
});


describe("checkExternalDataRefs", () => {
  it("returns nothing for a model without external data", () => {
    expect(checkExternalDataRefs([], options)).toEqual([]);
  });

  it("resolves locations against the model's folder and returns each file once", () => {
    const refs = [ref(), ref({ tensorName: "V", offset: 16, length: 48 }), ref({ tensorName: "U", location: "sub/w.bin" })];
    expect(checkExternalDataRefs(refs, options)).toEqual([
      { location: "model.onnx_data", lockedPath: "onnx/model.onnx_data" },
      { location: "sub/w.bin", lockedPath: "onnx/sub/w.bin" },
    ]);
  });

  it("resolves against the root when the model is at the root", () => {
    expect(checkExternalDataRefs([ref({ location: "config.json", length: 10 })], { ...options, modelPath: "model.onnx" })).toEqual([
      { location: "config.json", lockedPath: "config.json" },
    ]);
  });

  it("accepts a reference without offset or length", () => {
    expect(checkExternalDataRefs([{ tensorName: "W", where: "initializer", location: "model.onnx_data" }], options)).toHaveLength(1);
  });

  it.each<[ExternalDataPlace, RegExp]>([
    ["sparse_initializer", /sparse initializer .* reads this tensor from the working directory/],
    ["subgraph", /in a subgraph .* reads this tensor from the working directory/],
    ["attribute", /in a node attribute .* only initializers of the main graph/],
    ["training", /in training_info .* only initializers of the main graph/],
    ["function", /in a function .* only initializers of the main graph/],
  ])("refuses a tensor in %s, even at a locked location", (where, why) => {
    const message = unverified(() => checkExternalDataRefs([ref({ where })], options));
    expect(message).toMatch(why);
    expect(message).toContain('tensor "W"');
    expect(message).toContain('"model.onnx_data"');
  });

  it("names the part of a sparse tensor", () => {
    expect(unverified(() => checkExternalDataRefs([ref({ where: "sparse_initializer", part: "indices" })], options))).toContain(
      'tensor "W" (indices)',
    );
  });

  it.each<[string, RegExp]>([
    ["", /location is missing/],
    ["/etc/passwd", /is absolute/],
    ["../model.onnx_data", /'\.\.'/],
    ["sub/../../config.json", /'\.\.'/],
    ["./model.onnx_data", /'\.'/],
    ["sub//w.bin", /empty segment/],
    ["sub/", /empty segment/],
    ["sub\\w.bin", /backslash/],
    ["model.onnx_data\0.txt", /NUL/],
    ["C:model.onnx_data", /drive letter/],
    ["*/_ORT_MEM_ADDR_/*", /in-memory address marker/],
  ])("refuses the location %j", (location, why) => {
    const message = unverified(() => checkExternalDataRefs([ref({ location })], options));
    expect(message).toMatch(why);
    expect(message).toContain(JSON.stringify(location));
  });

  it("refuses a location that is not a locked file of the model", () => {
    expect(unverified(() => checkExternalDataRefs([ref({ location: "other.bin" })], options))).toMatch(
      /onnx\/other\.bin is not a locked file of the model/,
    );
  });

  it("does not mistake Object.prototype members for locked files", () => {
    for (const location of ["constructor", "__proto__", "toString"]) {
      expect(unverified(() => checkExternalDataRefs([ref({ location })], { ...options, modelPath: "model.onnx" }))).toMatch(
        /is not a locked file/,
      );
    }
  });

  it("refuses data past the end of the locked file", () => {
    expect(unverified(() => checkExternalDataRefs([ref({ offset: 60, length: 8 })], options))).toMatch(
      /offset 60 \+ length 8 is past the end of onnx\/model\.onnx_data \(64 bytes\)/,
    );
    expect(unverified(() => checkExternalDataRefs([ref({ offset: 65, length: undefined })], options))).toMatch(
      /offset 65 is past the end/,
    );
    expect(checkExternalDataRefs([ref({ offset: 48, length: 16 })], options)).toHaveLength(1);
  });

  it("names the model file in the error", () => {
    let caught: unknown;
    try {
      checkExternalDataRefs([ref({ location: "x.bin" })], options);
    } catch (err) {
      caught = err;
    }
    expect(isModelGuardError(caught) && caught.file).toBe("onnx/model.onnx");
  });
});
