import { open, readdir, realpath, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Llama, LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ModelGuard } from "../../src/guard/guard.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { readLockfile, writeLockfile } from "../../src/lockfile/lockfile-file.js";
import type { GgufLayout } from "../../src/lockfile/types.js";
import { llamaLoraAdapters, loadLlamaModel } from "../../src/node-llama-cpp.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { TINY_LLAMA_SENTENCE, tinyLlamaGguf, tinyLlamaLora, tinyLlamaSpec, tinyLlamaSplitGguf } from "../helpers/tiny-llama.js";
import { makeCachedModels, makeKeys, tempDir } from "../helpers/fixtures.js";
import { rejection } from "../helpers/errors.js";
import { expectValidAuditEvent } from "../helpers/audit-schema.js";
import type { AuditEvent } from "../../src/audit/audit-event.js";
import { complete, cpuLlama } from "../helpers/llama.js";

const REPO = "org/tiny-llama-GGUF";
const MODEL = "tiny-F32.gguf";
const LORA = "lora/no-period.gguf";
const SPLIT = tinyLlamaSplitGguf("split/tiny-F32");
const PARTS = Object.keys(SPLIT);
const sentence = TINY_LLAMA_SENTENCE.trimStart();

let llama: Llama;
let keysDir: string;
let alice: Awaited<ReturnType<typeof makeKeys>>;
let copyDir: string;

beforeAll(async () => {
  keysDir = await tempDir("mg-llama-keys-");
  alice = await makeKeys(keysDir, "alice");
  copyDir = await tempDir("mg-llama-copies-");
  // One llama.cpp binding for the whole file: getLlama takes seconds.
  llama = await cpuLlama();
});
afterAll(async () => {
  await llama?.dispose();
  await rm(keysDir, { recursive: true, force: true });
  await rm(copyDir, { recursive: true, force: true });
});

/** A signed cache with the tiny model (and its LoRA) as "tiny" and the split model as "split". */
async function setup(options: { dropFromLock?: string[] } = {}) {
  const made = await makeCachedModels({
    tiny: { repo: REPO, files: { [MODEL]: tinyLlamaGguf(), [LORA]: tinyLlamaLora() } },
    split: { repo: REPO, files: SPLIT },
  });
  made.lockfile.models.tiny!.gguf = { entry: MODEL, loras: [LORA] };
  for (const file of options.dropFromLock ?? []) delete made.lockfile.models.split!.files[file];
  for (const name of ["tiny", "split"]) made.lockfile.models[name] = withSignature(name, made.lockfile.models[name]!, alice.privateKey, alice.publicKey);
  await writeLockfile(made.lockfilePath, made.lockfile);
  const guard = (audit?: (event: AuditEvent) => void) =>
    ModelGuard.open({ lockfile: made.lockfilePath, cacheDir: made.cacheDir, trust: { keys: [alice.publicPath] }, offline: true, copyDir, ...(audit ? { audit } : {}) });
  const pathOf = (file: string) => snapshotFilePath(made.cacheDir, REPO, made.lockfile.models.tiny!.revision, file);
  return { ...made, guard, pathOf };
}

/** Where output.weight's floats are in the tiny model file: the bytes whose change changes what it says. */
function outputWeightRange(): { start: number; length: number } {
  const bytes = tinyLlamaGguf();
  const spec = tinyLlamaSpec();
  const aligned = (n: number) => Math.ceil(n / 32) * 32;
  const sizes = spec.tensors.map((t) => aligned(t.data.byteLength));
  const dataStart = bytes.length - sizes.reduce((a, b) => a + b, 0);
  const index = spec.tensors.findIndex((t) => t.name === "output.weight");
  return { start: dataStart + sizes.slice(0, index).reduce((a, b) => a + b, 0), length: spec.tensors[index]!.data.byteLength };
}

/** Overwrites output.weight in place (same inode, as a careless or hostile writer would). */
async function zeroOutputWeightInPlace(path: string): Promise<void> {
  const { start, length } = outputWeightRange();
  const handle = await open(await realpath(path), "r+");
  await handle.write(Buffer.alloc(length), 0, length, start);
  await handle.close();
}

async function copiesLeft(): Promise<string[]> {
  return (await readdir(copyDir, { recursive: true })).filter((p) => p.endsWith(".gguf"));
}

async function withModel<T>(load: Promise<LlamaModel>, use: (m: LlamaModel) => Promise<T>): Promise<T> {
  const model = await load;
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

describe("loadLlamaModel", () => {
  it("generates what loading the same file unguarded generates, and leaves no copy", async () => {
    const s = await setup();
    const unguarded = await withModel(llama.loadModel({ modelPath: s.pathOf(MODEL) }), (m) => complete(m, "hello", { maxTokens: 7 }));
    const guarded = await withModel(loadLlamaModel(await s.guard(), llama, "tiny"), async (m) => {
      expect(m.useMmap).toBe(true);
      return complete(m, "hello", { maxTokens: 7 });
    });
    expect(guarded).toBe(unguarded);
    expect(guarded).toBe(sentence);
    expect(await copiesLeft()).toEqual([]);
  });

  it("loads every part of a split model from verified copies", async () => {
    const s = await setup();
    expect(await withModel(loadLlamaModel(await s.guard(), llama, "split"), (m) => complete(m, "hello", { maxTokens: 7 }))).toBe(sentence);
    expect(await copiesLeft()).toEqual([]);
  });

  it("refuses a flipped byte, and a file renamed over the cached one, before llama.cpp sees them", async () => {
    const s = await setup();
    const bytes = Buffer.from(tinyLlamaGguf());
    bytes[bytes.length - 10]! ^= 1;
    const planted = join(s.dir, "planted.gguf");
    await writeFile(planted, bytes);
    await rename(planted, s.pathOf(MODEL));
    expect(await rejection(loadLlamaModel(await s.guard(), llama, "tiny"))).toMatchObject({ code: "DIGEST_MISMATCH", model: "tiny", file: MODEL });
    expect(await copiesLeft()).toEqual([]);
  });

  it("refuses an in-place write before the load; one after the load does not reach the model", async () => {
    const s = await setup();
    await zeroOutputWeightInPlace(s.pathOf(MODEL));
    expect(await rejection(loadLlamaModel(await s.guard(), llama, "tiny"))).toMatchObject({ code: "DIGEST_MISMATCH" });

    const t = await setup();
    const guarded = await loadLlamaModel(await t.guard(), llama, "tiny");
    const unguarded = await llama.loadModel({ modelPath: t.pathOf(MODEL) });
    try {
      await zeroOutputWeightInPlace(t.pathOf(MODEL));
      // The unguarded model maps the cached file: the write shows through (this is what the guard prevents).
      expect(await complete(unguarded, "hello", { maxTokens: 7 })).not.toBe(sentence);
      expect(await complete(guarded, "hello", { maxTokens: 7 })).toBe(sentence);
      // Another model renamed over the cached file after the load: nothing changes either.
      const planted = join(t.dir, "planted.gguf");
      await writeFile(planted, tinyLlamaGguf({ seed: 5 }));
      await rename(planted, t.pathOf(MODEL));
      expect(await complete(guarded, "hello", { maxTokens: 7 })).toBe(sentence);
    } finally {
      await guarded.dispose();
      await unguarded.dispose();
    }
  });

  it("refuses a split model missing a part: unlocked (nobody verified it) or not cached", async () => {
    const unlocked = await setup({ dropFromLock: [PARTS[1]!] });
    const err = await rejection(loadLlamaModel(await unlocked.guard(), llama, "split"));
    expect(err).toMatchObject({ code: "EXTERNAL_DATA_UNVERIFIED", model: "split", file: PARTS[0] });
    expect((err as Error).message).toContain(`part 2, ${PARTS[1]}, is not locked`);

    const uncached = await setup();
    await rm(snapshotFilePath(uncached.cacheDir, REPO, uncached.lockfile.models.split!.revision, PARTS[2]!));
    expect(await rejection(loadLlamaModel(await uncached.guard(), llama, "split"))).toMatchObject({ code: "NOT_CACHED", file: PARTS[2] });
    expect(await copiesLeft()).toEqual([]);
  });

  it("serves locked LoRA adapters the same way, for node-llama-cpp's lora option", async () => {
    const s = await setup();
    const guard = await s.guard();
    const model = await loadLlamaModel(guard, llama, "tiny");
    try {
      const adapters = await llamaLoraAdapters(guard, model, "tiny");
      expect(adapters).toHaveLength(1);
      expect(await complete(model, "hello", { maxTokens: 8, lora: adapters[0]!.filePath })).toBe("only verified bytes reach the model only verified");
    } finally {
      await model.dispose();
    }
    // Removed by the model's onDispose listener, which node-llama-cpp does not await.
    await vi.waitFor(async () => expect(await copiesLeft()).toEqual([]));
    expect(await rejection(llamaLoraAdapters(guard, model, "tiny", [MODEL]))).toMatchObject({ code: "USAGE" });
  });

  it("records one audit event (runtime node-llama-cpp) per model load, per LoRA adapters' load and per refusal", async () => {
    const s = await setup();
    const events: AuditEvent[] = [];
    const guard = await s.guard((e) => void events.push(e));
    await withModel(loadLlamaModel(guard, llama, "tiny"), (m) => llamaLoraAdapters(guard, m, "tiny"));
    await (await loadLlamaModel(guard, llama, "split")).dispose();
    await rm(s.pathOf(MODEL));
    expect(await rejection(loadLlamaModel(guard, llama, "tiny"))).toMatchObject({ code: "NOT_CACHED" });
    events.forEach(expectValidAuditEvent);
    expect(events.map((e) => [e.runtime, e.model, e.outcome, e.error?.code ?? null, e.files.map((f) => f.path)])).toEqual([
      ["node-llama-cpp", "tiny", "verified", null, [MODEL]],
      ["node-llama-cpp", "tiny", "verified", null, [LORA]],
      ["node-llama-cpp", "split", "verified", null, [...PARTS].sort()],
      ["node-llama-cpp", "tiny", "refused", "NOT_CACHED", []],
    ]);
    await vi.waitFor(async () => expect(await copiesLeft()).toEqual([]));
  });

  it("refuses modelPath and an untrusted model before making any copy", async () => {
    const s = await setup();
    const guard = await s.guard();
    expect(await rejection(loadLlamaModel(guard, llama, "tiny", { modelPath: "/etc/passwd" } as never))).toMatchObject({ code: "USAGE" });
    const untrusted = await ModelGuard.open({ lockfile: s.lockfilePath, cacheDir: s.cacheDir, trust: { keys: [] }, offline: true });
    expect(await rejection(loadLlamaModel(untrusted, llama, "tiny"))).toMatchObject({ code: "UNTRUSTED_SIGNER" });
    expect(await copiesLeft()).toEqual([]);
  });

  it("keeps the copies of a lazyMode model until dispose(), then removes them", async () => {
    const s = await setup();
    const model = await loadLlamaModel(await s.guard(), llama, "tiny", { lazyMode: true });
    try {
      expect(await copiesLeft()).toHaveLength(1);
      expect(await complete(model, "hello", { maxTokens: 7 })).toBe(sentence);
    } finally {
      await model.dispose();
    }
    await vi.waitFor(async () => expect(await copiesLeft()).toEqual([]));
  });
});

describe("the lockfile's gguf field (which file loads, its parts and LoRA adapters)", () => {
  /** The signed lockfile with tiny's gguf field edited after signing, as an attacker who can write only the lockfile would. */
  async function edited(edit: (layout: GgufLayout) => GgufLayout, options: { allowUnsigned?: boolean; resign?: boolean } = {}) {
    const s = await setup();
    const lockfile = await readLockfile(s.lockfilePath);
    const tiny = lockfile.models.tiny!;
    tiny.gguf = edit(structuredClone(tiny.gguf!));
    if (options.resign) lockfile.models.tiny = withSignature("tiny", { ...tiny, signatures: [] }, alice.privateKey, alice.publicKey);
    if (options.allowUnsigned) delete lockfile.models.tiny!.signatures;
    await writeLockfile(s.lockfilePath, lockfile);
    const guard = await ModelGuard.open({
      lockfile: s.lockfilePath,
      cacheDir: s.cacheDir,
      trust: { keys: [alice.publicPath] },
      offline: true,
      copyDir,
      allowUnsigned: options.allowUnsigned ?? false,
    });
    return { guard };
  }

  it("is signed: swapping the entry for the LoRA or dropping the LoRA after signing is refused by verify and by loadLlamaModel", async () => {
    for (const edit of [(): GgufLayout => ({ entry: LORA, loras: [MODEL] }), (l: GgufLayout) => ({ entry: l.entry! })]) {
      const { guard } = await edited(edit);
      const verified = await rejection(guard.verifyAll());
      expect(verified).toMatchObject({ code: "SIGNATURE_INVALID", model: "tiny" });
      expect((verified as Error).message).toContain("gguf layout");
      expect(await rejection(loadLlamaModel(guard, llama, "tiny"))).toMatchObject({ code: "SIGNATURE_INVALID", model: "tiny" });
      expect(await rejection(guard.verifiedFiles("tiny"))).toMatchObject({ code: "SIGNATURE_INVALID" });
    }
    expect(await copiesLeft()).toEqual([]);
  });

  it("a re-signed layout loads as signed", async () => {
    const { guard } = await edited((l) => ({ entry: l.entry! }), { resign: true });
    await guard.verifyAll();
    expect(await withModel(loadLlamaModel(guard, llama, "tiny"), async (m) => {
      expect(await llamaLoraAdapters(guard, m, "tiny")).toEqual([]);
      return complete(m, "hello", { maxTokens: 7 });
    })).toBe(sentence);
  });

  it("is held to the verified headers where no signature covers it: a LoRA as the entry, or a model as a LoRA, is GGUF_INVALID", async () => {
    const { guard } = await edited(() => ({ entry: LORA, loras: [MODEL] }), { allowUnsigned: true });
    const verified = (await rejection(guard.verifyAll())) as { code: string; report: { models: { files: { path: string; error?: { code: string } }[] }[] } };
    expect(verified.code).toBe("GGUF_INVALID");
    const failed = verified.report.models.find((m) => m.files.some((f) => f.path === LORA))!.files.filter((f) => f.error).map((f) => [f.path, f.error!.code]);
    expect(failed.sort()).toEqual([[LORA, "GGUF_INVALID"], [MODEL, "GGUF_INVALID"]].sort());
    expect(await rejection(loadLlamaModel(guard, llama, "tiny"))).toMatchObject({ code: "GGUF_INVALID", file: LORA });
    expect(await rejection(loadLlamaModel(guard, llama, "tiny", { file: MODEL }))).toMatchObject({ code: "GGUF_INVALID", file: MODEL });
    expect(await copiesLeft()).toEqual([]);
  });
});
