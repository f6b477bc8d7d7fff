/**
 * `loadAll(names, { adapters })`: models loaded through the caller's runtime adapters (here
 * node-llama-cpp) in the gate's one pass, so a start hashes each locked file once. Every way the
 * guard hashes a cached file is counted: read-and-hash into memory and streamed checks
 * (verify-locked-file.ts, wrapped below) and verified copies (the hash pool's `copyFile`).
 */
import { readFileSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { Llama, LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { AuditEvent } from "../../src/audit/audit-event.js";
import type { LlamaModelLoadOptions } from "../../src/node-llama-cpp.js";
import { onnxruntime } from "../../src/runtimes/onnxruntime/onnxruntime-adapter.js";
import type { RuntimeAdapter } from "../../src/runtimes/runtime-adapter.js";
import { sharedHashPool } from "../../src/digest/hash-pool.js";
import { TINY_LLAMA_SENTENCE, tinyLlamaGguf, tinyLlamaSplitGguf } from "../helpers/tiny-llama.js";
import { ModelGuard } from "../../src/guard/guard.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { loadLlamaModel, nodeLlamaCpp } from "../../src/node-llama-cpp.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import type { VerifyReport } from "../../src/verify-report.js";
import { expectValidAuditEvent } from "../helpers/audit-schema.js";
import { buildAddModel } from "../helpers/build-model.js";
import { makeCachedModels, makeKeys, tempDir } from "../helpers/fixtures.js";
import { complete, cpuLlama } from "../helpers/llama.js";

/** Cache paths hashed by the guard's main-thread reads and checks, one entry per hash. */
const hashed = vi.hoisted(() => [] as string[]);
vi.mock("../../src/digest/verify-locked-file.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/digest/verify-locked-file.js")>();
  return {
    ...original,
    readVerifiedFile: (path: string, ...rest: [never, never]) => (hashed.push(path), original.readVerifiedFile(path, ...rest)),
    checkLockedFile: (path: string, ...rest: [never, never, never]) => (hashed.push(path), original.checkLockedFile(path, ...rest)),
  };
});

const schema = JSON.parse(readFileSync(new URL("../../docs/verify-report.schema.json", import.meta.url), "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)));
const validateReport = ajv.compile(schema);

const REPO = "org/tiny-llama-GGUF";
const MODEL = "tiny-F32.gguf";
const SPLIT = tinyLlamaSplitGguf("split/tiny-F32");
const PARTS = Object.keys(SPLIT).sort();
const add = buildAddModel({ weights: Float32Array.from([1, 2, 3, 4]), dims: [4] });

let llama: Llama;
let keysDir: string;
let copyDir: string;
let alice: Awaited<ReturnType<typeof makeKeys>>;

beforeAll(async () => {
  keysDir = await tempDir("mg-loadall-keys-");
  copyDir = await tempDir("mg-loadall-copies-");
  alice = await makeKeys(keysDir, "alice");
  llama = await cpuLlama();
});
afterAll(async () => {
  await llama?.dispose();
  await rm(keysDir, { recursive: true, force: true });
  await rm(copyDir, { recursive: true, force: true });
});

/** A signed cache: the tiny GGUF model with a vocabulary, a split GGUF model and an ONNX graph. */
async function setup() {
  const made = await makeCachedModels({
    tiny: { repo: REPO, files: { [MODEL]: tinyLlamaGguf(), "vocab.txt": Buffer.from("a\nb\n") } },
    split: { repo: REPO, files: SPLIT },
    add: { repo: "org/add", files: { "model.onnx": add.model } },
  });
  made.lockfile.models.tiny!.gguf = { entry: MODEL };
  for (const name of Object.keys(made.lockfile.models)) made.lockfile.models[name] = withSignature(name, made.lockfile.models[name]!, alice.privateKey, alice.publicKey);
  await writeLockfile(made.lockfilePath, made.lockfile);
  const events: AuditEvent[] = [];
  const guard = await ModelGuard.open({ lockfile: made.lockfilePath, cacheDir: made.cacheDir, trust: { keys: [alice.publicPath] }, offline: true, copyDir, audit: (e) => void events.push(e) });
  const pathOf = (file: string) => snapshotFilePath(made.cacheDir, REPO, made.lockfile.models.tiny!.revision, file);
  return { ...made, guard, events, pathOf };
}

/** How many times each cache path was hashed while `run` ran. */
async function hashesDuring<T>(run: () => Promise<T>): Promise<{ result: T; times: (path: string) => number }> {
  hashed.length = 0;
  const pool = sharedHashPool();
  const copy = vi.spyOn(pool, "copyFile");
  try {
    const result = await run();
    const all = [...hashed, ...copy.mock.calls.map(([source]) => source)];
    return { result, times: (path) => all.filter((p) => p === path).length };
  } finally {
    copy.mockRestore();
  }
}

async function copiesLeft(): Promise<string[]> {
  return (await readdir(copyDir, { recursive: true })).filter((p) => p.endsWith(".gguf"));
}

describe("loadAll with the node-llama-cpp adapter", () => {
  it("loads each GGUF model from the gate's one hash of each file, and ONNX graphs as before", async () => {
    const s = await setup();
    const { result, times } = await hashesDuring(() => s.guard.loadAll(undefined, { adapters: [nodeLlamaCpp(llama)] }));
    const { report, sessions, loaded } = result;
    expect(validateReport(report)).toBe(true);
    expect(report.ok).toBe(true);
    for (const file of [MODEL, "vocab.txt", ...PARTS]) expect([file, times(s.pathOf(file))]).toEqual([file, 1]);
    // Models and files in lockfile order (sorted); every byte counted as checked.
    expect(report.models.flatMap((m) => m.files.map((f) => [f.path, f.bytesChecked === f.size]))).toEqual([
      ["model.onnx", true],
      ...PARTS.map((p) => [p, true]),
      [MODEL, true],
      ["vocab.txt", true],
    ]);
    expect([...loaded].map(([name, l]) => [name, l.runtime])).toEqual([
      ["add", "onnxruntime"],
      ["split", "node-llama-cpp"],
      ["tiny", "node-llama-cpp"],
    ]);
    expect([...sessions.keys()]).toEqual(["add"]);
    expect(sessions.get("add")).toBe(loaded.get("add")!.session);
    const tiny = loaded.get("tiny")!.session as LlamaModel;
    expect(await complete(tiny, "hello", { maxTokens: 7 })).toBe(TINY_LLAMA_SENTENCE.trimStart());
    // One event per model, named for the runtime that loaded it, listing every file the gate verified.
    s.events.forEach(expectValidAuditEvent);
    expect(s.events.map((e) => [e.action, e.runtime, e.model, e.outcome, e.files.map((f) => f.path)])).toEqual([
      ["load", "onnxruntime", "add", "verified", ["model.onnx"]],
      ["load", "node-llama-cpp", "split", "verified", PARTS],
      ["load", "node-llama-cpp", "tiny", "verified", [MODEL, "vocab.txt"]],
    ]);
    await Promise.all([...loaded.values()].map((l) => (l.runtime === "onnxruntime" ? sessions.get("add")!.release() : (l.session as LlamaModel).dispose())));
    await vi.waitFor(async () => expect(await copiesLeft()).toEqual([]));
  });

  it("is what loadAll then loadLlamaModel does, hashing the GGUF files twice, without it", async () => {
    const s = await setup();
    const { result, times } = await hashesDuring(async () => {
      const { sessions, loaded } = await s.guard.loadAll();
      expect([...loaded.keys()]).toEqual(["add"]);
      await sessions.get("add")!.release();
      return loadLlamaModel(s.guard, llama, "tiny");
    });
    await result.dispose();
    expect(times(s.pathOf(MODEL))).toBe(2);
    expect(s.events.map((e) => [e.action, e.runtime, e.model])).toEqual([
      ["load", "onnxruntime", "add"],
      ["verify", null, "split"],
      ["verify", null, "tiny"],
      ["load", "node-llama-cpp", "tiny"],
    ]);
  });

  it("fails the start on a flipped GGUF byte, with the report, and releases what it loaded", async () => {
    const s = await setup();
    const bytes = await readFile(s.pathOf(MODEL));
    bytes[bytes.length - 100]! ^= 0x01;
    await rm(s.pathOf(MODEL));
    await writeFile(s.pathOf(MODEL), bytes);
    const err = (await s.guard.loadAll(undefined, { adapters: [nodeLlamaCpp(llama)] }).then(() => undefined, (e: unknown) => e)) as { code: string; report: VerifyReport };
    expect(err.code).toBe("DIGEST_MISMATCH");
    expect(validateReport(err.report)).toBe(true);
    expect(err.report.models.map((m) => [m.name, m.ok])).toEqual([["add", true], ["split", true], ["tiny", false]]);
    expect(err.report.models[2]!.files.find((f) => f.path === MODEL)).toMatchObject({ ok: false, bytesChecked: bytes.length, error: { code: "DIGEST_MISMATCH" } });
    s.events.forEach(expectValidAuditEvent);
    expect(s.events.map((e) => [e.runtime, e.model, e.outcome, e.error?.code ?? null])).toEqual([
      ["onnxruntime", "add", "verified", null],
      ["node-llama-cpp", "split", "verified", null],
      ["node-llama-cpp", "tiny", "refused", "DIGEST_MISMATCH"],
    ]);
    await vi.waitFor(async () => expect(await copiesLeft()).toEqual([]));
  });

  it("passes each adapter's options to its create ({ adapter, options }); a plain adapter gets {}", async () => {
    const s = await setup();
    const seen: [string, LlamaModelLoadOptions][] = [];
    const llamaAdapter = nodeLlamaCpp(llama);
    const recording: RuntimeAdapter<LlamaModel, LlamaModelLoadOptions> = {
      ...llamaAdapter,
      create: (model, entryFile, options) => (seen.push([model.name, options]), llamaAdapter.create(model, entryFile, options)),
    };
    const { loaded } = await s.guard.loadAll(["split", "tiny"], { adapters: [{ adapter: recording, options: { gpuLayers: 0, useMmap: false } }] });
    expect(seen).toEqual([
      ["split", { gpuLayers: 0, useMmap: false }],
      ["tiny", { gpuLayers: 0, useMmap: false }],
    ]);
    expect(await complete(loaded.get("tiny")!.session as LlamaModel, "hello", { maxTokens: 7 })).toBe(TINY_LLAMA_SENTENCE.trimStart());
    await Promise.all([...loaded.values()].map((l) => (l.session as LlamaModel).dispose()));
    seen.length = 0;
    const plain = await s.guard.loadAll(["tiny"], { adapters: [recording] });
    expect(seen).toEqual([["tiny", {}]]);
    await (plain.loaded.get("tiny")!.session as LlamaModel).dispose();
    await vi.waitFor(async () => expect(await copiesLeft()).toEqual([]));
  });
});

/** Compile-time checks (tsc): each `options` is held to its own adapter's options type. Never run. */
export async function adapterOptionsTypes(guard: ModelGuard, llama: Llama): Promise<void> {
  await guard.loadAll(undefined, { adapters: [nodeLlamaCpp(llama), onnxruntime] });
  await guard.loadAll(undefined, { adapters: [{ adapter: nodeLlamaCpp(llama), options: { gpuLayers: 0 } }, { adapter: onnxruntime, options: { sessionOptions: { logSeverityLevel: 3 } } }] });
  const list = [nodeLlamaCpp(llama), onnxruntime];
  await guard.loadAll(undefined, { adapters: list });
  // @ts-expect-error gpuLayers is a number, "auto" or "max"
  await guard.loadAll(undefined, { adapters: [{ adapter: nodeLlamaCpp(llama), options: { gpuLayers: "lots" } }] });
  // @ts-expect-error onnxruntime's options given to node-llama-cpp
  await guard.loadAll(undefined, { adapters: [{ adapter: nodeLlamaCpp(llama), options: { sessionOptions: {} } }] });
  // @ts-expect-error node-llama-cpp's options given to onnxruntime, the second entry
  await guard.loadAll(undefined, { adapters: [nodeLlamaCpp(llama), { adapter: onnxruntime, options: { gpuLayers: 0 } }] });
}
