import { constants as bufferConstants } from "node:buffer";
import { writeFile, truncate, appendFile, readFile, rm, mkdtemp, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/digest/sha256.js";
import { ModelGuard } from "../../src/guard/guard.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { buildAddModel } from "../helpers/build-model.js";
import { onnxruntime } from "../../src/runtimes/onnxruntime/onnxruntime-adapter.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import type { Lockfile } from "../../src/lockfile/types.js";
import { makeCachedModels, makeKeys, tempDir } from "../helpers/fixtures.js";

const keysDir = await tempDir();
const alice = await makeKeys(keysDir, "alice");
const mallory = await makeKeys(keysDir, "mallory");

const W = Float32Array.from([1, 2, 3, 4]);
const X = Float32Array.from([10, 20, 30, 40]);
const Y = [11, 22, 33, 44];

/** A cache with the given model files under repo org/add, its lockfile signed by `signer` unless null. */
async function setup(files: Record<string, Uint8Array>, signer: typeof alice | null = alice) {
  const made = await makeCachedModels({ add: { repo: "org/add", files } });
  if (signer) {
    made.lockfile.models.add = withSignature("add", made.lockfile.models.add!, signer.privateKey, signer.publicKey);
    await writeLockfile(made.lockfilePath, made.lockfile);
  }
  const open = (options: { allowUnsigned?: boolean; keys?: string[] } = {}) =>
    ModelGuard.open({
      lockfile: made.lockfilePath,
      cacheDir: made.cacheDir,
      trust: { keys: options.keys ?? [alice.publicPath] },
      allowUnsigned: options.allowUnsigned ?? false,
      // Cache only: a missing file must be NOT_CACHED here, never a download attempt.
      offline: true,
    });
  const pathOf = (file: string) => snapshotFilePath(made.cacheDir, "org/add", made.lockfile.models.add!.revision, file);
  return { ...made, open, pathOf };
}

async function infer(guard: ModelGuard): Promise<number[]> {
  const ort = await import("onnxruntime-node");
  const session = await guard.createSession("add");
  const out = await session.run({ X: new ort.Tensor("float32", X, [4]) });
  await session.release();
  return Array.from(out.Y!.data as Float32Array);
}

const inline = buildAddModel({ weights: W, dims: [4] });
const external = buildAddModel({ weights: W, dims: [4], external: { location: "model.onnx_data" } });

describe("ModelGuard.createSession", () => {
  it("loads a verified, signed model and runs inference", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model });
    expect(await infer(await s.open())).toEqual(Y);
  });

  it("loads a model whose external data is a locked, verified file of the model", async () => {
    const s = await setup({ "onnx/model.onnx": external.model, "onnx/model.onnx_data": external.externalFiles["model.onnx_data"]! });
    expect(await infer(await s.open())).toEqual(Y);
  });

  it.each([
    ["one flipped byte", "DIGEST_MISMATCH", async (p: string) => { const b = await readFile(p); b[b.length - 3]! ^= 1; await rm(p); await writeFile(p, b); }],
    ["truncation", "SIZE_MISMATCH", (p: string) => truncate(p, 10)],
    ["an extension", "SIZE_MISMATCH", (p: string) => appendFile(p, "x")],
  ] as const)("refuses a model file changed by %s", async (_what, code, tamper) => {
    const s = await setup({ "onnx/model.onnx": inline.model });
    await tamper(s.pathOf("onnx/model.onnx"));
    const guard = await s.open();
    await expect(guard.createSession("add")).rejects.toMatchObject({ code, model: "add", file: "onnx/model.onnx" });
    await expect(guard.readFile("add", "onnx/model.onnx")).rejects.toMatchObject({ code });
    // The lock check's facts ride on the error, not only in its message.
    const size = (await stat(s.pathOf("onnx/model.onnx"))).size;
    const err = (await guard.readFile("add", "onnx/model.onnx").catch((e: unknown) => e)) as { expected: unknown; actual: { size: number; sha256?: string } };
    expect(err.expected).toEqual({ size: inline.model.length, sha256: sha256Hex(inline.model) });
    expect(err.actual.size).toBe(size);
    if (code === "DIGEST_MISMATCH") expect(err.actual.sha256).toBe(sha256Hex(await readFile(s.pathOf("onnx/model.onnx"))));
    else expect(err.actual.sha256).toBeUndefined();
  });

  it("refuses tampered external data", async () => {
    const s = await setup({ "onnx/model.onnx": external.model, "onnx/model.onnx_data": external.externalFiles["model.onnx_data"]! });
    const p = s.pathOf("onnx/model.onnx_data");
    const b = await readFile(p);
    b[0]! ^= 0x40;
    await rm(p);
    await writeFile(p, b);
    await expect((await s.open()).createSession("add")).rejects.toMatchObject({ code: "DIGEST_MISMATCH", file: "onnx/model.onnx_data" });
  });

  it("refuses external data that is not a locked file, even when it sits in the working directory", async () => {
    // The model names model.onnx_data, but only the .onnx is locked; a copy waits in the cwd,
    // where onnxruntime would read it from if the guard let the model through.
    const s = await setup({ "onnx/model.onnx": external.model });
    const cwd = process.cwd();
    const work = await mkdtemp(join(s.dir, "cwd-"));
    await writeFile(join(work, "model.onnx_data"), external.externalFiles["model.onnx_data"]!);
    process.chdir(work);
    try {
      await expect((await s.open()).createSession("add")).rejects.toMatchObject({
        code: "EXTERNAL_DATA_UNVERIFIED",
        message: expect.stringMatching(/not a locked file/),
      });
    } finally {
      process.chdir(cwd);
    }
  });

  it.each([
    ["a '..' location", "../weights.bin", "weights.bin"],
    ["an absolute location", "/tmp/weights.bin", "weights.bin"],
  ])("refuses %s, even when it would name a locked file", async (_what, location, lockedAs) => {
    const evil = buildAddModel({ weights: W, dims: [4], external: { location } });
    const s = await setup({ "onnx/model.onnx": evil.model, [lockedAs]: evil.externalFiles[location]! });
    await expect((await s.open()).createSession("add")).rejects.toMatchObject({ code: "EXTERNAL_DATA_UNVERIFIED" });
  });

  it("refuses a sparse initializer with external data (onnxruntime would read it from the cwd)", async () => {
    const sparse = buildAddModel({ weights: W, dims: [4], placement: "sparse_initializer", external: { location: "model.onnx_data" } });
    const s = await setup({ "onnx/model.onnx": sparse.model, "onnx/model.onnx_data": sparse.externalFiles["model.onnx_data"]! });
    await expect((await s.open()).createSession("add")).rejects.toMatchObject({
      code: "EXTERNAL_DATA_UNVERIFIED",
      message: expect.stringMatching(/sparse/),
    });
  });

  it("refuses a model whose lockfile entry was edited after signing", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model, "notes.txt": Buffer.from("hi") });
    const edited: Lockfile = structuredClone(s.lockfile);
    const other = Buffer.from("HI");
    edited.models.add!.files["notes.txt"] = { size: 2, sha256: sha256Hex(other) };
    await writeLockfile(s.lockfilePath, edited);
    await expect((await s.open()).createSession("add")).rejects.toMatchObject({ code: "SIGNATURE_INVALID", model: "add" });
  });

  it("refuses a model signed by an untrusted key, and an unsigned one unless allowed", async () => {
    const byMallory = await setup({ "onnx/model.onnx": inline.model }, mallory);
    await expect((await byMallory.open()).createSession("add")).rejects.toMatchObject({ code: "UNTRUSTED_SIGNER" });
    const unsigned = await setup({ "onnx/model.onnx": inline.model }, null);
    await expect((await unsigned.open()).createSession("add")).rejects.toMatchObject({ code: "SIGNATURE_MISSING" });
    await expect((await unsigned.open()).readFile("add", "onnx/model.onnx")).rejects.toMatchObject({ code: "SIGNATURE_MISSING" });
    expect(await infer(await unsigned.open({ allowUnsigned: true }))).toEqual(Y);
  });

  it("names models and files that are not locked, and files that are not cached", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model, "config.json": Buffer.from("{}") });
    const guard = await s.open();
    await expect(guard.createSession("nope")).rejects.toMatchObject({ code: "MODEL_NOT_LOCKED", model: "nope", message: `not locked: nope (locked in ${s.lockfilePath}: add)` });
    await expect(guard.readFile("add", "other.json")).rejects.toMatchObject({ code: "FILE_NOT_LOCKED", file: "other.json" });
    await rm(s.pathOf("config.json"));
    await expect(guard.readFile("add", "config.json")).rejects.toMatchObject({ code: "NOT_CACHED", file: "config.json" });
    expect((await guard.readFile("add", "onnx/model.onnx")).equals(Buffer.from(inline.model))).toBe(true);
  });

  it("does not let a caller pass its own externalData", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model });
    const options = { sessionOptions: { externalData: [] } } as unknown as Parameters<ModelGuard["createSession"]>[1];
    await expect((await s.open()).createSession("add", options)).rejects.toMatchObject({ code: "USAGE" });
  });
});

describe("ModelGuard.verifyAll", () => {
  it("returns a report naming every model, file and signer", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model, "config.json": Buffer.from("{}") });
    const report = await (await s.open()).verifyAll();
    expect(report.ok).toBe(true);
    expect(report.models[0]).toMatchObject({ name: "add", repo: "org/add", ok: true, signer: { kind: "key", via: "model-signature" } });
    expect(report.models[0]!.files.map((f) => f.path).sort()).toEqual(["config.json", "onnx/model.onnx"]);
  });

  it("throws with every failure listed, not only the first", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model, "config.json": Buffer.from("{}"), "vocab.txt": Buffer.from("a") });
    await appendFile(s.pathOf("config.json"), " ");
    await rm(s.pathOf("vocab.txt"));
    const err = await (await s.open()).verifyAll().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: "SIZE_MISMATCH", model: "add", file: "config.json" });
    const report = (err as { report: { models: { files: { path: string; error?: { code: string } }[] }[] } }).report;
    const codes = Object.fromEntries(report.models[0]!.files.map((f) => [f.path, f.error?.code]));
    expect(codes).toEqual({ "config.json": "SIZE_MISMATCH", "onnx/model.onnx": undefined, "vocab.txt": "NOT_CACHED" });
    // ...and in the report: what the lock says and what the file was.
    expect(err).toMatchObject({ expected: { size: 2 }, actual: { size: 3 } });
    const config = (err as { report: import("../../src/verify-report.js").VerifyReport }).report.models[0]!.files.find((f) => f.path === "config.json")!;
    expect(config.error).toMatchObject({ code: "SIZE_MISMATCH", expected: { size: 2, sha256: sha256Hex(Buffer.from("{}")) }, actual: { size: 3 } });
  });
});

describe("the gate checks what a load checks", () => {
  it("verifyAll fails a model whose load would be refused for unverified external data, naming the graph", async () => {
    // Only the graph is locked: its weights would come from wherever onnxruntime looks (the cwd).
    const s = await setup({ "onnx/model.onnx": external.model, "config.json": Buffer.from("{}") });
    const guard = await s.open();
    await expect(guard.createSession("add")).rejects.toMatchObject({ code: "EXTERNAL_DATA_UNVERIFIED" });
    const err = (await guard.verifyAll().then(() => undefined, (e: unknown) => e)) as { code: string; file: string; report: import("../../src/verify-report.js").VerifyReport };
    expect(err).toMatchObject({ code: "EXTERNAL_DATA_UNVERIFIED", model: "add", file: "onnx/model.onnx" });
    const byPath = Object.fromEntries(err.report.models[0]!.files.map((f) => [f.path, f.error?.code]));
    expect(byPath).toEqual({ "config.json": undefined, "onnx/model.onnx": "EXTERNAL_DATA_UNVERIFIED" });
  });

  it("checks every graph a model locks, not only the one createSession picks", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model, "onnx/model_quantized.onnx": external.model });
    const guard = await s.open();
    expect(await infer(guard)).toEqual(Y);
    await expect(guard.verifyAll()).rejects.toMatchObject({ code: "EXTERNAL_DATA_UNVERIFIED", file: "onnx/model_quantized.onnx" });
    await expect(guard.loadAll()).rejects.toMatchObject({ code: "EXTERNAL_DATA_UNVERIFIED", file: "onnx/model_quantized.onnx" });
  });

  it("a model that passes verifyAll loads, and the graph counts as checked bytes", async () => {
    const s = await setup({ "onnx/model.onnx": external.model, "onnx/model.onnx_data": external.externalFiles["model.onnx_data"]! });
    const guard = await s.open();
    const report = await guard.verifyAll();
    expect(report.summary).toMatchObject({ files: 2, filesFailed: 0, bytesChecked: external.model.length + external.externalFiles["model.onnx_data"]!.length });
    expect(await infer(guard)).toEqual(Y);
  });

  it("verifyAll never downloads a graph it checks (the gate reads the cache only)", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model });
    await rm(s.pathOf("onnx/model.onnx"));
    const guard = await ModelGuard.open({ lockfile: s.lockfilePath, cacheDir: s.cacheDir, trust: { keys: [alice.publicPath] }, hubUrl: "http://127.0.0.1:9", offline: false });
    await expect(guard.verifyAll()).rejects.toMatchObject({ code: "NOT_CACHED", file: "onnx/model.onnx" });
  });
});

describe("runtimes as adapters", () => {
  it("load(adapter) and checkLoad(adapter) give the session and the plan createSession uses", async () => {
    const s = await setup({ "onnx/model.onnx": external.model, "onnx/model.onnx_data": external.externalFiles["model.onnx_data"]! });
    const guard = await s.open();
    expect(await guard.checkLoad(onnxruntime, "add")).toEqual({
      entryFile: "onnx/model.onnx",
      companions: [{ file: "onnx/model.onnx_data", as: "model.onnx_data" }],
    });
    const { session, files } = await guard.load(onnxruntime, "add");
    expect(files).toEqual(["onnx/model.onnx", "onnx/model.onnx_data"]);
    const ort = await import("onnxruntime-node");
    const out = await session.run({ X: new ort.Tensor("float32", X, [4]) });
    expect(Array.from(out.Y!.data as Float32Array)).toEqual(Y);
    await onnxruntime.release(session);
  });

  it("checkLoad needs a trusted model, as a load does", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model }, mallory);
    await expect((await s.open()).checkLoad(onnxruntime, "add")).rejects.toMatchObject({ code: "UNTRUSTED_SIGNER" });
  });
});

describe("files too large to load", () => {
  it("names the limit instead of failing inside a Buffer or onnxruntime", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model, "weights.bin": Buffer.from("x") });
    const lock = structuredClone(s.lockfile);
    lock.models.add!.files["onnx/model.onnx"]!.size = 3 * 2 ** 30;
    await writeLockfile(s.lockfilePath, lock);
    const guard = await s.open({ allowUnsigned: true });
    await expect(guard.createSession("add")).rejects.toMatchObject({ code: "FILE_TOO_LARGE", message: expect.stringMatching(/2 GiB.*external data/) });
  });

  // Node 20's Buffer holds at most 4 GiB; from Node 22 on MAX_LENGTH is 2^53 - 1, beyond any size
  // a lockfile can hold (sizes are safe integers), so there is no such limit to name.
  it.runIf(bufferConstants.MAX_LENGTH < Number.MAX_SAFE_INTEGER)("names Buffer's MAX_LENGTH for a file larger than one Buffer", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model, "weights.bin": Buffer.from("x") });
    const lock = structuredClone(s.lockfile);
    lock.models.add!.files["weights.bin"]!.size = bufferConstants.MAX_LENGTH + 1;
    await writeLockfile(s.lockfilePath, lock);
    const guard = await s.open({ allowUnsigned: true });
    await expect(guard.readFile("add", "weights.bin")).rejects.toMatchObject({ code: "FILE_TOO_LARGE", message: expect.stringMatching(/MAX_LENGTH/) });
  });
});

describe("ModelGuard.loadAll", () => {
  const files = () => ({ "onnx/model.onnx": external.model, "onnx/model.onnx_data": external.externalFiles["model.onnx_data"]!, "config.json": Buffer.from("{}") });

  it("loads every model's session and checks every other file, in one report", async () => {
    const s = await setup(files());
    const { report, sessions } = await (await s.open()).loadAll();
    expect(report.ok).toBe(true);
    expect(report.summary).toMatchObject({ files: 3, filesFailed: 0, bytesChecked: Object.values(files()).reduce((n, b) => n + b.length, 0) });
    expect(report.models[0]!.signer).toMatchObject({ kind: "key" });
    const ort = await import("onnxruntime-node");
    const out = await sessions.get("add")!.run({ X: new ort.Tensor("float32", X, [4]) });
    expect(Array.from(out.Y!.data as Float32Array)).toEqual(Y);
    await sessions.get("add")!.release();
  });

  it("lists every failure: a bad weight file and a bad config at once", async () => {
    const s = await setup(files());
    const data = s.pathOf("onnx/model.onnx_data");
    const b = await readFile(data);
    b[1]! ^= 1;
    await rm(data);
    await writeFile(data, b);
    await appendFile(s.pathOf("config.json"), " ");
    const err = (await (await s.open()).loadAll().then(() => undefined, (e: unknown) => e)) as { code: string; report: import("../../src/verify-report.js").VerifyReport };
    expect(err.code).toBe("SIZE_MISMATCH"); // the first failure in lockfile order (config.json sorts first)
    const byPath = Object.fromEntries(err.report.models[0]!.files.map((f) => [f.path, f.error?.code]));
    expect(byPath).toEqual({ "onnx/model.onnx": undefined, "onnx/model.onnx_data": "DIGEST_MISMATCH", "config.json": "SIZE_MISMATCH" });
    // The weights that failed their digest were read in full; the config's wrong size was seen without reading it.
    const checked = Object.fromEntries(err.report.models[0]!.files.map((f) => [f.path, f.bytesChecked]));
    expect(checked).toEqual({ "onnx/model.onnx": files()["onnx/model.onnx"]!.length, "onnx/model.onnx_data": b.length, "config.json": 0 });
  });

  it("loads nothing for an untrusted model but still checks its files", async () => {
    const s = await setup(files(), mallory);
    const err = (await (await s.open()).loadAll().then(() => undefined, (e: unknown) => e)) as { code: string; report: import("../../src/verify-report.js").VerifyReport };
    expect(err.code).toBe("UNTRUSTED_SIGNER");
    expect(err.report.models[0]).toMatchObject({ ok: false, signer: null, error: { code: "UNTRUSTED_SIGNER" } });
    expect(err.report.models[0]!.files.every((f) => f.ok && f.bytesChecked === f.size)).toBe(true);
  });

  it("names verified bytes onnxruntime cannot load", async () => {
    const s = await setup({ "model.onnx": Buffer.from("not a protobuf at all") }, null);
    const err = (await (await s.open({ allowUnsigned: true })).loadAll().then(() => undefined, (e: unknown) => e)) as { code: string };
    expect(err.code).toBe("ONNX_INVALID");
  });
});

describe("trusted keys", () => {
  it("are read as CLI keys are: a missing file or a file that is no public key is named", async () => {
    const s = await setup({ "onnx/model.onnx": inline.model });
    await expect(s.open({ keys: [join(s.dir, "nope.pub")] })).rejects.toMatchObject({ code: "FILE_MISSING", message: expect.stringContaining("nope.pub") });
    await expect(s.open({ keys: [alice.privatePath] })).rejects.toMatchObject({ code: "KEY_INVALID", message: expect.stringContaining(alice.privatePath) });
  });
});
