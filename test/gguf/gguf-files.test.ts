import { describe, expect, it } from "vitest";
import { ggufModelsIn, hasQuantizationTag, isProjectorFile, isQuantizationTag, splitPartOf, splitPartPath } from "../../src/gguf/gguf-files.js";

describe("splitPartOf", () => {
  it("reads llama.cpp's part names and nothing else", () => {
    expect(splitPartOf("Q4_K_M/model-Q4_K_M-00002-of-00003.gguf")).toEqual({ prefix: "Q4_K_M/model-Q4_K_M", part: 2, parts: 3 });
    expect(splitPartOf("model-00001-of-00001.gguf")).toEqual({ prefix: "model", part: 1, parts: 1 });
    for (const name of ["model.gguf", "model-0001-of-0003.gguf", "model-00004-of-00003.gguf", "model-00000-of-00003.gguf", "model-00001-of-00003.gguf.part"]) {
      expect(splitPartOf(name)).toBeUndefined();
    }
    expect(splitPartPath("a/b", 12, 345)).toBe("a/b-00012-of-00345.gguf");
  });
});

describe("ggufModelsIn", () => {
  it("groups split parts in part order, keeps single files alone, leaves projectors and other files out", () => {
    const models = ggufModelsIn([
      "README.md",
      "model-Q8_0.gguf",
      "Q4_K_M/model-Q4_K_M-00002-of-00002.gguf",
      "mmproj-model-f16.gguf",
      "Q4_K_M/model-Q4_K_M-00001-of-00002.gguf",
      "big/model-00002-of-00003.gguf",
    ]);
    expect(models).toEqual([
      { entry: "Q4_K_M/model-Q4_K_M-00001-of-00002.gguf", files: ["Q4_K_M/model-Q4_K_M-00001-of-00002.gguf", "Q4_K_M/model-Q4_K_M-00002-of-00002.gguf"], missingParts: [] },
      { entry: "big/model-00001-of-00003.gguf", files: ["big/model-00002-of-00003.gguf"], missingParts: [1, 3] },
      { entry: "model-Q8_0.gguf", files: ["model-Q8_0.gguf"], missingParts: [] },
    ]);
    expect(isProjectorFile("vision/mmproj-F16.gguf")).toBe(true);
    expect(isProjectorFile("model-mmproj.gguf")).toBe(false);
  });
});

describe("hasQuantizationTag", () => {
  it("matches the tag as a whole word of the file or folder name, in any case", () => {
    expect(hasQuantizationTag("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Q4_K_M")).toBe(true);
    expect(hasQuantizationTag("llama-3.2-1b-instruct-q4_k_m.gguf", "Q4_K_M")).toBe(true);
    expect(hasQuantizationTag("model.Q4_K_M.gguf", "q4_k_m")).toBe(true);
    expect(hasQuantizationTag("Q4_K_M/model-00001-of-00002.gguf", "Q4_K_M")).toBe(true);
    expect(hasQuantizationTag("model-UD-Q4_K_XL-00001-of-00002.gguf", "UD-Q4_K_XL")).toBe(true);
    expect(hasQuantizationTag("model-Q4_K_M.gguf", "Q4_K")).toBe(false);
    expect(hasQuantizationTag("model-IQ4_XS.gguf", "Q4_XS")).toBe(false);
    expect(hasQuantizationTag("model-Q8_0.gguf", "Q4_K_M")).toBe(false);
    // The split suffix is not part of the name: "00001" is no tag.
    expect(hasQuantizationTag("model-Q8_0-00001-of-00002.gguf", "00001")).toBe(false);
  });

  it("accepts tags as node-llama-cpp writes them", () => {
    expect(["Q4_K_M", "q8_0", "UD-Q4_K_XL", "F16"].every(isQuantizationTag)).toBe(true);
    expect(["", "Q4/x", "..", "a b", "-x"].some(isQuantizationTag)).toBe(false);
  });
});
