import { describe, expect, it } from "vitest";
import type { LockedModel } from "../../../src/lockfile/types.js";
import { lockedFileFor } from "../../../src/runtimes/transformers/locked-file-for.js";
import { messageOf } from "../../helpers/errors.js";

const C1 = "1".repeat(40);
const C2 = "2".repeat(40);
const file = { size: 1, sha256: "0".repeat(64) };
const models: Record<string, LockedModel> = {
  minilm: { repo: "Xenova/all-MiniLM-L6-v2", revision: C1, ref: "v1.0", files: { "config.json": file, "onnx/model.onnx": file } },
  "minilm-q8": { repo: "Xenova/all-MiniLM-L6-v2", revision: C1, files: { "config.json": file, "onnx/model_quantized.onnx": file } },
  bert: { repo: "org/bert", revision: C1, files: { "config.json": file } },
  "bert-new": { repo: "org/bert", revision: C2, files: { "config.json": file } },
};
const ask = (repo: string, revision: string, path: string) => lockedFileFor(models, "models.lock.json", { repo, revision, path, url: "" });

describe("lockedFileFor", () => {
  it("answers main, the locked commit and the locked ref from the locked entry; the entry that locks the file wins", () => {
    for (const revision of ["main", C1, "v1.0"]) expect(ask("Xenova/all-MiniLM-L6-v2", revision, "onnx/model.onnx").name).toBe("minilm");
    expect(ask("Xenova/all-MiniLM-L6-v2", "main", "onnx/model_quantized.onnx").name).toBe("minilm-q8");
    expect(ask("Xenova/all-MiniLM-L6-v2", "v1.0", "onnx/model_quantized.onnx").name).toBe("minilm-q8");
  });

  it("refuses another revision, an unlocked repo and an unlocked file, naming the add command", () => {
    expect(messageOf("MODEL_NOT_LOCKED", () => ask("Xenova/all-MiniLM-L6-v2", "v2.0", "config.json"))).toMatch(
      `at revision v2.0, which models.lock.json does not lock (locked: minilm: ${C1} (v1.0), minilm-q8: ${C1})`,
    );
    expect(messageOf("MODEL_NOT_LOCKED", () => ask("org/other", "main", "config.json"))).toMatch(
      "org/other (config.json), which models.lock.json does not lock; lock it with: modelguard add org/other --preset <task>",
    );
    expect(messageOf("FILE_NOT_LOCKED", () => ask("Xenova/all-MiniLM-L6-v2", "main", "onnx/model_fp16.onnx"))).toMatch(
      `lock what the pipeline needs with: modelguard add Xenova/all-MiniLM-L6-v2@${C1} --name minilm --preset <task>:fp16 --update`,
    );
    expect(messageOf("FILE_NOT_LOCKED", () => ask("Xenova/all-MiniLM-L6-v2", "main", "constructor"))).toMatch("constructor, which is not a locked file");
  });

  it("asks for the revision when a repo is locked at two commits and main is asked for", () => {
    expect(messageOf("USAGE", () => ask("org/bert", "main", "config.json"))).toMatch(`locked at several commits (bert: ${C1}, bert-new: ${C2})`);
    expect(ask("org/bert", C2, "config.json").name).toBe("bert-new");
  });
});
