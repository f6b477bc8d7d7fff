import { describe, expect, it } from "vitest";
import { completeSplitModels, defaultGgufFiles, ggufFilesForTag } from "../../src/gguf/select-gguf-files.js";
import { ModelGuardError } from "../../src/errors.js";
import { messageOf } from "../helpers/errors.js";

const repo = "org/Tiny-GGUF";
const tree = [
  "README.md",
  "tiny-Q8_0.gguf",
  "tiny-Q4_K_M.gguf",
  "Q6_K/tiny-Q6_K-00001-of-00002.gguf",
  "Q6_K/tiny-Q6_K-00002-of-00002.gguf",
  "mmproj-tiny-f16.gguf",
];

describe("GGUF selection for add", () => {
  it("takes the model a quantization tag names, every part of a split one", () => {
    expect(ggufFilesForTag(repo, tree, "Q4_K_M")).toEqual(["tiny-Q4_K_M.gguf"]);
    expect(ggufFilesForTag(repo, tree, "q6_k")).toEqual(["Q6_K/tiny-Q6_K-00001-of-00002.gguf", "Q6_K/tiny-Q6_K-00002-of-00002.gguf"]);
  });

  it("refuses a tag no model or several models carry, listing the models", () => {
    expect(messageOf("USAGE", () => ggufFilesForTag(repo, tree, "Q2_K"))).toBe(
      "no GGUF model of org/Tiny-GGUF has the quantization tag Q2_K; its GGUF models:\n  Q6_K/tiny-Q6_K-00001-of-00002.gguf (2 parts)\n  tiny-Q4_K_M.gguf\n  tiny-Q8_0.gguf",
    );
    expect(messageOf("USAGE", () => ggufFilesForTag(repo, ["a/x-Q8_0.gguf", "b/x-Q8_0.gguf"], "Q8_0"))).toMatch(/^2 GGUF models of org\/Tiny-GGUF have the quantization tag Q8_0; choose one with --include:\n  a\/x-Q8_0\.gguf\n  b\/x-Q8_0\.gguf$/);
  });

  it("by default takes a repo's only GGUF model and refuses to choose among several", () => {
    expect(defaultGgufFiles(repo, ["README.md", "m-00002-of-00002.gguf", "m-00001-of-00002.gguf", "mmproj-f16.gguf"])).toEqual(["m-00001-of-00002.gguf", "m-00002-of-00002.gguf"]);
    expect(defaultGgufFiles(repo, ["README.md", "config.json"])).toBeUndefined();
    const message = messageOf("USAGE", () => defaultGgufFiles(repo, tree));
    expect(message).toMatch(/^org\/Tiny-GGUF holds 3 GGUF models; choose one with a quantization tag \(org\/Tiny-GGUF:Q4_K_M\) or --include:\n/);
    expect(message).toContain("\n  tiny-Q8_0.gguf");
  });

  it("completes split models from any part, and refuses one the repo lacks a part of", () => {
    expect(completeSplitModels(repo, ["Q6_K/tiny-Q6_K-00002-of-00002.gguf"], tree)).toEqual(["Q6_K/tiny-Q6_K-00001-of-00002.gguf", "Q6_K/tiny-Q6_K-00002-of-00002.gguf"]);
    let err: unknown;
    try {
      completeSplitModels(repo, ["m-00001-of-00003.gguf"], ["m-00001-of-00003.gguf", "m-00003-of-00003.gguf"]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelGuardError);
    expect(err).toMatchObject({ code: "USAGE", file: "m-00002-of-00003.gguf", message: "org/Tiny-GGUF lacks part 2 of 3 of the split model m-00001-of-00003.gguf (m-00002-of-00003.gguf)" });
  });
});
