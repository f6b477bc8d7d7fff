import { describe, it, expect } from "vitest";
import { buildAddModel, buildOnnxModel, type GraphSpec } from "../helpers/build-model.js";
import { DIMS, W, X_PLUS_DECOY, X_PLUS_W, decoyOf, runAdd, runAddInChild } from "./ort-run.js";

/**
 * The onnxruntime-node 1.30 behaviour that check-external-data.ts relies on. Each case puts a
 * decoy copy of the weights (times 100) in the working directory, so the output tells whether
 * onnxruntime read verified memory or an unverified file. If an onnxruntime upgrade changes any
 * of these, revisit which places the checker accepts.
 */

const dims = [...DIMS];

/** Y = X + W where W comes out of an If whose then-branch (always taken) holds W as its initializer. */
function subgraphModel(location: string) {
  const branch = (name: string, external: boolean): GraphSpec => ({
    name,
    outputs: [{ name: `${name}_out`, dims }],
    initializers: [{ name: `${name}_W`, dims, data: W, ...(external ? { external: { location } } : {}) }],
    nodes: [{ opType: "Identity", inputs: [`${name}_W`], outputs: [`${name}_out`] }],
  });
  return buildOnnxModel({
    graph: {
      name: "g",
      inputs: [{ name: "X", dims }],
      outputs: [{ name: "Y", dims }],
      nodes: [
        { opType: "Constant", inputs: [], outputs: ["cond"], attributes: [{ name: "value", tensor: { name: "c", dims: [], data: BigInt64Array.of(1n) } }] },
        { opType: "Cast", inputs: ["cond"], outputs: ["cond_b"], attributes: [{ name: "to", int: 9 }] },
        { opType: "If", inputs: ["cond_b"], outputs: ["W"], attributes: [{ name: "then_branch", graph: branch("then", true) }, { name: "else_branch", graph: branch("else", false) }] },
        { opType: "Add", inputs: ["X", "W"], outputs: ["Y"] },
      ],
    },
  });
}

describe("onnxruntime-node external data, model from bytes", () => {
  it("reads a main-graph initializer from process.cwd() when no externalData is given (optimizations off)", () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims, external: { location: "w.bin" } });
    const decoy = { "w.bin": decoyOf(externalFiles["w.bin"]!) };
    expect(runAddInChild({ model, cwdFiles: decoy, sessionOptions: { graphOptimizationLevel: "disabled" } })).toEqual({ y: X_PLUS_DECOY });
    // With default optimizations the same load fails instead ("model_path must not be empty").
    expect(runAddInChild({ model, cwdFiles: decoy })).toMatchObject({ error: expect.stringMatching(/model_path must not be empty/) });
  });

  it("reads main-graph initializers from externalData, not from a same-named file in cwd", () => {
    for (const location of ["w.bin", "sub/w.bin"]) {
      const { model, externalFiles } = buildAddModel({ weights: W, dims, external: { location } });
      const data = externalFiles[location]!;
      expect(runAddInChild({ model, cwdFiles: { [location]: decoyOf(data) }, externalData: { [location]: data } })).toEqual({ y: X_PLUS_W });
    }
  });

  it("does not fall back to disk for a location missing from externalData", () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims, external: { location: "w.bin" } });
    const data = externalFiles["w.bin"]!;
    expect(runAddInChild({ model, cwdFiles: { "w.bin": decoyOf(data) }, externalData: { "other.bin": data } })).toMatchObject({
      error: expect.stringMatching(/w\.bin not found from the table/),
    });
  });

  it("never finds a './w.bin' location in externalData, whatever path is given", async () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims, external: { location: "./w.bin" } });
    const data = externalFiles["./w.bin"]!;
    for (const path of ["./w.bin", "w.bin"]) {
      expect(await runAdd(model, { externalData: [{ path, data }] })).toMatchObject({ error: expect.stringMatching(/not found from the table/) });
    }
  });

  it("matches externalData paths after dropping a leading './' but not other normalisation", async () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims, external: { location: "w.bin" } });
    const data = externalFiles["w.bin"]!;
    expect(await runAdd(model, { externalData: [{ path: "./w.bin", data }] })).toEqual({ y: X_PLUS_W });
    expect(await runAdd(model, { externalData: [{ path: "x/../w.bin", data }] })).toMatchObject({ error: expect.any(String) });
  });

  it("reads a Constant node's external tensor from externalData (it becomes an initializer)", () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims, placement: "constant", external: { location: "w.bin" } });
    const data = externalFiles["w.bin"]!;
    expect(runAddInChild({ model, cwdFiles: { "w.bin": decoyOf(data) }, externalData: { "w.bin": data } })).toEqual({ y: X_PLUS_W });
  });

  it("reads a sparse initializer's external values from cwd, ignoring externalData", () => {
    const { model, externalFiles } = buildAddModel({ weights: W, dims, placement: "sparse_initializer", external: { location: "s.bin" } });
    const data = externalFiles["s.bin"]!;
    expect(runAddInChild({ model, cwdFiles: { "s.bin": decoyOf(data) }, externalData: { "s.bin": data } })).toEqual({ y: X_PLUS_DECOY });
    expect(runAddInChild({ model, externalData: { "s.bin": data } })).toMatchObject({ error: expect.stringMatching(/does not exist/) });
  });

  it("reads a subgraph initializer from cwd, ignoring externalData", () => {
    const { model, externalFiles } = subgraphModel("g.bin");
    const data = externalFiles["g.bin"]!;
    expect(runAddInChild({ model, cwdFiles: { "g.bin": decoyOf(data) }, externalData: { "g.bin": data } })).toEqual({ y: X_PLUS_DECOY });
  });

  it("refuses the in-memory address marker in a model", async () => {
    const model = buildOnnxModel({
      graph: {
        name: "g",
        inputs: [{ name: "X", dims }],
        outputs: [{ name: "Y", dims }],
        nodes: [{ opType: "Add", inputs: ["X", "W"], outputs: ["Y"] }],
        initializers: [{ name: "W", dims, data: W, external: { entries: [["location", "*/_ORT_MEM_ADDR_/*"], ["offset", "4096"], ["length", "24"]] } }],
      },
    }).model;
    expect(await runAdd(model)).toMatchObject({ error: expect.stringMatching(/in-memory address marker/) });
  });
});
