/**
 * docs/lockfile.schema.json against the parser (src/lockfile/validate.ts): every lockfile below
 * gets the same verdict from both, except the rules a JSON Schema cannot state, which the schema's
 * description lists and the last test pins down.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import { mergeLockedModel } from "../../src/add/merge-locked-model.js";
import { ModelGuardError } from "../../src/errors.js";
import { serializeLockfile } from "../../src/lockfile/serialize.js";
import type { LockedModel } from "../../src/lockfile/types.js";
import { parseLockfile, validateLockfile } from "../../src/lockfile/validate.js";

const schema = JSON.parse(readFileSync(new URL("../../docs/lockfile.schema.json", import.meta.url), "utf8"));
const validateSchema = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

const SHA = "a".repeat(64);
const REV = "0123456789abcdef0123456789abcdef01234567";
const BUNDLE = { mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json", verificationMaterial: {}, dsseEnvelope: {} };

function lockWith(model: Record<string, unknown>, name = "minilm"): unknown {
  return {
    lockfileVersion: 1,
    models: { [name]: { repo: "Xenova/all-MiniLM-L6-v2", revision: REV, files: { "onnx/model.onnx": { size: 10, sha256: SHA } }, ...model } },
  };
}
const lockWithFile = (file: Record<string, unknown>, path = "onnx/model.onnx") => lockWith({ files: { [path]: { size: 1, sha256: SHA, ...file } } });

function parserAccepts(data: unknown): boolean {
  try {
    validateLockfile(data);
    return true;
  } catch (err) {
    expect(err).toBeInstanceOf(ModelGuardError);
    expect((err as ModelGuardError).code).toBe("LOCKFILE_INVALID");
    return false;
  }
}

const example = JSON.parse(readFileSync(new URL("../../examples/models.lock.json", import.meta.url), "utf8"));
const ggufFiles = { "m-00001-of-00002.gguf": { size: 10, sha256: SHA }, "m-00002-of-00002.gguf": { size: 10, sha256: SHA }, "lora.gguf": { size: 1, sha256: SHA } };

const valid: [string, unknown][] = [
  ["the bundled example lockfile", example],
  ["no models", { lockfileVersion: 1, models: {} }],
  ["the contract's shape with a ref", lockWith({ ref: "main" })],
  ["a repo without a namespace", lockWith({ repo: "gpt2" })],
  ["unknown fields at every level", { ...(lockWith({ futureField: { x: 1 }, files: { "a.bin": { size: 0, sha256: SHA, roles: ["weights"] } } }) as object), generator: "x" }],
  ["per-file signatures, with and without keyid", lockWithFile({ signatures: [{ sig: "MEUCIQ==" }, { sig: "MEUCIQ==", keyid: "k1" }] })],
  ["lockfile signatures", lockWith({ signatures: [BUNDLE] })],
  ["publisher signatures", lockWith({ publisherSignatures: [{ path: "model.sig", bundle: BUNDLE }] })],
  ["a gguf layout of locked files", lockWith({ files: ggufFiles, gguf: { entry: "m-00001-of-00002.gguf", parts: ["m-00001-of-00002.gguf", "m-00002-of-00002.gguf"], loras: ["lora.gguf"] } })],
  ["the largest safe size", lockWithFile({ size: Number.MAX_SAFE_INTEGER })],
  ["paths with dots inside names", lockWith({ files: { ".gitattributes": { size: 1, sha256: SHA }, "a..b/c.d": { size: 1, sha256: SHA } } })],
];

const invalid: [string, unknown][] = [
  ["not an object", []],
  ["lockfileVersion 2", { lockfileVersion: 2, models: {} }],
  ["no lockfileVersion", { models: {} }],
  ["models an array", { lockfileVersion: 1, models: [] }],
  ["an unsafe model name", lockWith({}, "../evil")],
  ["a model name too long", lockWith({}, "m".repeat(97))],
  ["a model that is not an object", { lockfileVersion: 1, models: { m: "x" } }],
  ["no repo", lockWith({ repo: undefined })],
  ["a repo with two slashes", lockWith({ repo: "a/b/c" })],
  ["a repo with '..'", lockWith({ repo: "org/../x" })],
  ["a repo with '--'", lockWith({ repo: "org--x/y" })],
  ["a repo ending in '-'", lockWith({ repo: "org/x-" })],
  ["a repo with an empty part", lockWith({ repo: "/x" })],
  ...[["short", "0123456"], ["uppercase", REV.toUpperCase()], ["a branch name", "main"], ["missing", undefined]].map(
    ([why, revision]) => [`a revision that is ${why}`, lockWith({ revision })] as [string, unknown],
  ),
  ["a ref that is not a string", lockWith({ ref: 1 })],
  ["signatures not an array", lockWith({ signatures: {} })],
  ["publisherSignatures not an array", lockWith({ publisherSignatures: {} })],
  ["a publisher signature with an unsafe path", lockWith({ publisherSignatures: [{ path: "../model.sig", bundle: BUNDLE }] })],
  ["a publisher signature without a bundle object", lockWith({ publisherSignatures: [{ path: "model.sig", bundle: "x" }] })],
  ["no files", lockWith({ files: {} })],
  ["files an array", lockWith({ files: [] })],
  ["a file that is not an object", lockWith({ files: { "a.bin": 1 } })],
  ...[["uppercase hex", "A".repeat(64)], ["too short", "a".repeat(63)], ["too long", "a".repeat(65)], ["non-hex", "g".repeat(64)], ["a number", 12]].map(
    ([why, sha256]) => [`a digest that is ${why}`, lockWithFile({ sha256 })] as [string, unknown],
  ),
  ...[["negative", -1], ["fractional", 1.5], ["a string", "10"], ["unsafe", 2 ** 53]].map(
    ([why, size]) => [`a size that is ${why}`, lockWithFile({ size })] as [string, unknown],
  ),
  ...["/etc/passwd", "onnx/../../x", "../x", "..", ".", "onnx\\model.onnx", "onnx//model.onnx", "onnx/", "", "model\0.onnx", "./model.onnx", "a/./b", "C:/model.onnx", "c:model", "a\nb", "a\u202eb", "a\u0085b"].map(
    (path) => [`the file path ${JSON.stringify(path)}`, lockWithFile({}, path)] as [string, unknown],
  ),
  ["per-file signatures not an array", lockWithFile({ signatures: {} })],
  ["a per-file signature without sig", lockWithFile({ signatures: [{ keyid: "k" }] })],
  ["a per-file signature with an empty sig", lockWithFile({ signatures: [{ sig: "" }] })],
  ["a per-file signature with a numeric keyid", lockWithFile({ signatures: [{ sig: "x", keyid: 1 }] })],
  ["a gguf layout that is an array", lockWith({ files: ggufFiles, gguf: ["x"] })],
  ["gguf loras that are a string", lockWith({ files: ggufFiles, gguf: { loras: "lora.gguf" } })],
  ["a gguf entry that is not a string", lockWith({ files: ggufFiles, gguf: { entry: 1 } })],
];

describe("docs/lockfile.schema.json", () => {
  it.each(valid)("accepts what the parser accepts: %s", (_why, data) => {
    expect(parserAccepts(data)).toBe(true);
    expect(validateSchema(data), JSON.stringify(validateSchema.errors)).toBe(true);
  });

  it.each(invalid)("refuses what the parser refuses: %s", (_why, data) => {
    expect(parserAccepts(data)).toBe(false);
    expect(validateSchema(data)).toBe(false);
  });

  it("leaves to the parser only the rules its description names", () => {
    const parserOnly = [
      lockWith({ files: { "Model.onnx": { size: 1, sha256: SHA }, "model.onnx": { size: 1, sha256: SHA } } }),
      lockWith({ files: { "caf\u00e9.txt": { size: 1, sha256: SHA }, "cafe\u0301.txt": { size: 1, sha256: SHA } } }),
      lockWith({ files: ggufFiles, gguf: { entry: "other.gguf" } }),
      lockWith({ files: ggufFiles, gguf: { parts: ["m-00001-of-00002.gguf", "../x.gguf"] } }),
    ];
    for (const data of parserOnly) {
      expect(parserAccepts(data)).toBe(false);
      expect(validateSchema(data)).toBe(true);
    }
    expect(schema.description).toMatch(/twice.*deeper than 64.*NFC and case folding.*gguf/s);
  });
});

describe("the lockfile types", () => {
  it("a field they do not name survives parse, re-add and serialize", () => {
    const text = serializeLockfile(parseLockfile(JSON.stringify({ ...(lockWith({ futureField: { x: 1 } }) as object), generator: "g" })));
    const lock = parseLockfile(text);
    const entry: LockedModel = { repo: "Xenova/all-MiniLM-L6-v2", revision: "b".repeat(40), files: { "onnx/model.onnx": { size: 10, sha256: SHA } } };
    const merged = mergeLockedModel(lock, "minilm", entry, { update: true });
    expect(merged.status).toBe("updated");
    const written = JSON.parse(serializeLockfile(merged.status === "updated" ? merged.lockfile : lock));
    expect(written.generator).toBe("g");
    expect(written.models.minilm.futureField).toEqual({ x: 1 });
    expect(written.models.minilm.revision).toBe("b".repeat(40));
  });
});
