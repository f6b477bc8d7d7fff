import { describe, expect, it } from "vitest";
import { ModelGuardError } from "../../src/errors.js";
import { parseLockfile, validateLockfile } from "../../src/lockfile/validate.js";
import { serializeLockfile } from "../../src/lockfile/serialize.js";

const SHA = "a".repeat(64);
const REV = "0123456789abcdef0123456789abcdef01234567";

function lockWith(model: Record<string, unknown>, name = "minilm"): unknown {
  return {
    lockfileVersion: 1,
    models: { [name]: { repo: "Xenova/all-MiniLM-L6-v2", revision: REV, files: { "onnx/model.onnx": { size: 10, sha256: SHA } }, ...model } },
  };
}

function lockWithFiles(files: Record<string, unknown>): unknown {
  return lockWith({ files });
}

function errorOf(data: unknown): ModelGuardError {
  try {
    validateLockfile(data);
  } catch (err) {
    expect(err).toBeInstanceOf(ModelGuardError);
    expect((err as ModelGuardError).code).toBe("LOCKFILE_INVALID");
    return err as ModelGuardError;
  }
  throw new Error("expected the lockfile to be refused");
}

describe("validateLockfile", () => {
  it("accepts the contract's example shape and keeps unknown fields", () => {
    const data = lockWith({ ref: "main", futureField: { x: 1 } }) as { models: { minilm: { futureField: unknown } } };
    const lock = validateLockfile(data);
    expect(lock.models.minilm!.repo).toBe("Xenova/all-MiniLM-L6-v2");
    expect(Reflect.get(lock.models.minilm!, "futureField")).toEqual({ x: 1 });
  });

  it("refuses an unknown lockfileVersion", () => {
    expect(errorOf({ lockfileVersion: 2, models: {} }).message).toMatch(/lockfileVersion.*2/);
  });

  it.each([
    ["uppercase hex", "A".repeat(64)],
    ["too short", "a".repeat(63)],
    ["too long", "a".repeat(65)],
    ["non-hex", "g".repeat(64)],
    ["a number", 12],
  ])("refuses a digest that is %s, naming its JSON path", (_why, sha256) => {
    const err = errorOf(lockWithFiles({ "onnx/model.onnx": { size: 1, sha256 } }));
    expect(err.message).toContain('models.minilm.files["onnx/model.onnx"].sha256');
    expect(err.model).toBe("minilm");
    expect(err.file).toBe("onnx/model.onnx");
  });

  it.each([["negative", -1], ["fractional", 1.5], ["a string", "10"], ["unsafe", 2 ** 53]])(
    "refuses a size that is %s",
    (_why, size) => {
      expect(errorOf(lockWithFiles({ "a.bin": { size, sha256: SHA } })).message).toContain('files["a.bin"].size');
    },
  );

  it.each([["short", "0123456"], ["uppercase", REV.toUpperCase()], ["a branch name", "main"], ["missing", undefined]])(
    "refuses a revision that is %s",
    (_why, revision) => {
      expect(errorOf(lockWith({ revision })).message).toContain("models.minilm.revision");
    },
  );

  it.each([
    ["absolute", "/etc/passwd", /absolute/],
    ["dot-dot", "onnx/../../x", /'\.\.'/],
    ["leading dot-dot", "../x", /'\.\.'/],
    ["backslash", "onnx\\model.onnx", /backslash/],
    ["empty segment", "onnx//model.onnx", /empty segment/],
    ["trailing slash", "onnx/", /empty segment/],
    ["NUL", "model\0.onnx", /NUL/],
    ["dot segment", "./model.onnx", /'\.'/],
    ["drive letter", "C:/model.onnx", /drive letter/],
  ])("refuses a file path that is %s", (_why, path, reason) => {
    const err = errorOf(lockWithFiles({ [path]: { size: 1, sha256: SHA } }));
    expect(err.message).toMatch(reason);
    expect(err.message).toContain("models.minilm.files[");
  });

  it("refuses paths that collide after normalisation (case and Unicode)", () => {
    expect(errorOf(lockWithFiles({ "Model.onnx": { size: 1, sha256: SHA }, "model.onnx": { size: 1, sha256: SHA } })).message).toMatch(/collides/);
    expect(errorOf(lockWithFiles({ "caf\u00e9.txt": { size: 1, sha256: SHA }, "cafe\u0301.txt": { size: 1, sha256: SHA } })).message).toMatch(/collides/);
  });

  it("refuses unsafe model names and repo ids", () => {
    expect(errorOf(lockWith({}, "../evil")).message).toMatch(/model name/);
    expect(errorOf(lockWith({ repo: "a/b/c" })).message).toContain("models.minilm.repo");
    expect(errorOf(lockWith({ repo: "org/../x" })).message).toContain("models.minilm.repo");
    expect(errorOf(lockWith({ repo: "org--x/y" })).message).toContain("models.minilm.repo");
  });

  it("refuses a model with no files and malformed per-file signatures", () => {
    expect(errorOf(lockWith({ files: {} })).message).toMatch(/at least one file/);
    expect(errorOf(lockWithFiles({ "a.bin": { size: 1, sha256: SHA, signatures: [{ sig: 5 }] } })).message).toContain(
      'files["a.bin"].signatures[0].sig',
    );
  });

  it("parseLockfile names the source on a JSON syntax error", () => {
    expect(() => parseLockfile("{", "x.lock.json")).toThrow(/x\.lock\.json is not valid JSON/);
  });
});

describe("serializeLockfile", () => {
  it("sorts keys at every depth, indents by two and ends with a newline", () => {
    const lock = validateLockfile({
      models: { z: { revision: REV, repo: "a/b", files: { "b.bin": { sha256: SHA, size: 2 }, "a.bin": { size: 1, sha256: SHA } } } },
      lockfileVersion: 1,
    });
    const text = serializeLockfile(lock);
    expect(text.endsWith("}\n")).toBe(true);
    expect(text.indexOf('"lockfileVersion"')).toBeLessThan(text.indexOf('"models"'));
    expect(text.indexOf('"a.bin"')).toBeLessThan(text.indexOf('"b.bin"'));
    expect(text.indexOf('"files"')).toBeLessThan(text.indexOf('"repo"'));
    expect(text).toContain('\n  "models": {\n    "z": {');
    expect(serializeLockfile(parseLockfile(text))).toBe(text);
  });
});

describe("the gguf layout of a GGUF model", () => {
  const files = { "m-00001-of-00002.gguf": { size: 10, sha256: SHA }, "m-00002-of-00002.gguf": { size: 10, sha256: SHA }, "lora.gguf": { size: 1, sha256: SHA } };

  it("accepts an entry, parts and loras that are locked files", () => {
    const gguf = { entry: "m-00001-of-00002.gguf", parts: ["m-00001-of-00002.gguf", "m-00002-of-00002.gguf"], loras: ["lora.gguf"] };
    expect(validateLockfile(lockWith({ files, gguf })).models.minilm!.gguf).toEqual(gguf);
  });

  it("refuses one that names an unlocked file or is malformed, with the JSON path", () => {
    expect(errorOf(lockWith({ files, gguf: { entry: "other.gguf" } })).message).toBe("models.minilm.gguf.entry must be a locked file of this model");
    expect(errorOf(lockWith({ files, gguf: { parts: ["m-00001-of-00002.gguf", "../x.gguf"] } })).message).toBe("models.minilm.gguf.parts[1] must be a locked file of this model");
    expect(errorOf(lockWith({ files, gguf: { loras: "lora.gguf" } })).message).toBe("models.minilm.gguf.loras must be an array");
    expect(errorOf(lockWith({ files, gguf: ["x"] })).message).toBe("models.minilm.gguf must be an object");
  });
});
