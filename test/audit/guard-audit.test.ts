/**
 * The guard's audit events (`ModelGuard.open({ audit })`): one event per load through every path
 * (createSession and load, readFile, verifiedFiles), one per refusal, one per model for
 * verifyModel/verifyAll/loadAll, each valid against docs/audit-event.schema.json; concurrent loads
 * into one log file leave every line whole and every event with its own files.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../../src/audit/audit-event.js";
import { ModelGuard } from "../../src/guard/guard.js";
import { onnxruntime } from "../../src/runtimes/onnxruntime/onnxruntime-adapter.js";
import type { RuntimeAdapter } from "../../src/runtimes/runtime-adapter.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { buildAddModel } from "../helpers/build-model.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { expectValidAuditEvent, parseAuditLog } from "../helpers/audit-schema.js";
import { makeCachedModels, makeKeys, tempDir } from "../helpers/fixtures.js";

const keysDir = await tempDir();
const alice = await makeKeys(keysDir, "alice");
const mallory = await makeKeys(keysDir, "mallory");

const W = Float32Array.from([1, 2, 3, 4]);
const external = buildAddModel({ weights: W, dims: [4], external: { location: "model.onnx_data" } });
// Over GRAPH_IN_MEMORY_LIMIT (1 MiB): loaded from a private verified copy, not from memory.
const large = buildAddModel({ weights: new Float32Array(300_000).fill(1), dims: [300_000] });
const TOKENIZER = new TextEncoder().encode('{"model":{}}');

/** Models add (external data), big (a large single-file graph) and tok (no graph), signed by alice. */
async function setup() {
  const made = await makeCachedModels({
    add: { repo: "org/add", files: { "onnx/model.onnx": external.model, "onnx/model.onnx_data": external.externalFiles["model.onnx_data"]!, "tokenizer.json": TOKENIZER } },
    big: { repo: "org/big", files: { "onnx/model.onnx": large.model } },
    tok: { repo: "org/tok", files: { "tokenizer.json": TOKENIZER } },
  });
  for (const name of ["add", "big", "tok"]) made.lockfile.models[name] = withSignature(name, made.lockfile.models[name]!, alice.privateKey, alice.publicKey);
  await writeLockfile(made.lockfilePath, made.lockfile);
  const open = (audit: NonNullable<Parameters<typeof ModelGuard.open>[0]>["audit"], keys = [alice.publicPath]) =>
    ModelGuard.open({ lockfile: made.lockfilePath, cacheDir: made.cacheDir, trust: { keys }, offline: true, audit });
  const pathOf = (name: string, file: string) => snapshotFilePath(made.cacheDir, made.lockfile.models[name]!.repo, made.lockfile.models[name]!.revision, file);
  const fileOf = (name: string, path: string) => ({ path, ...made.lockfile.models[name]!.files[path]! });
  return { ...made, open, pathOf, fileOf };
}

function collecting() {
  const events: AuditEvent[] = [];
  return { events, audit: (e: AuditEvent) => void events.push(e) };
}

async function flipByte(path: string): Promise<void> {
  const b = await readFile(path);
  b[b.length - 3]! ^= 1;
  await rm(path);
  await writeFile(path, b);
}

describe("ModelGuard.open({ audit })", () => {
  it("one event per load, through each path, naming the runtime, the files and the trusted signer", async () => {
    const s = await setup();
    const { events, audit } = collecting();
    const guard = await s.open(audit);
    const session = await guard.createSession("add");
    await session.release();
    await (await guard.createSession("big")).release();
    await guard.readFile("add", "tokenizer.json");
    const copies = await guard.verifiedFiles("add", ["onnx/model.onnx", "tokenizer.json"]);
    await copies.release();
    await guard.close();
    events.forEach(expectValidAuditEvent);
    const signer = (await guard.signerOf("add")) as { fingerprint: string };
    expect(signer.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(events.map((e) => [e.action, e.outcome, e.model, e.runtime, e.files.map((f) => f.path)])).toEqual([
      ["load", "verified", "add", "onnxruntime", ["onnx/model.onnx", "onnx/model.onnx_data"]],
      ["load", "verified", "big", "onnxruntime", ["onnx/model.onnx"]],
      ["load", "verified", "add", "bytes", ["tokenizer.json"]],
      ["load", "verified", "add", "bytes", ["onnx/model.onnx", "tokenizer.json"]],
    ]);
    expect(events[0]).toMatchObject({
      repo: "org/add",
      revision: s.lockfile.models.add!.revision,
      files: [s.fileOf("add", "onnx/model.onnx"), s.fileOf("add", "onnx/model.onnx_data")],
      signer: { kind: "key", fingerprint: signer.fingerprint, via: "model-signature" },
      error: null,
      lockfile: s.lockfilePath,
      pid: process.pid,
    });
  });

  it("an adapter's readVerified joins its load's event once the bytes are read, not when only asked for", async () => {
    const s = await setup();
    const { events, audit } = collecting();
    const guard = await s.open(audit);
    // onnxruntime's entry and check, with a create that reads one locked file and only asks for another.
    const reading: RuntimeAdapter<string, unknown> = {
      ...(onnxruntime as unknown as RuntimeAdapter<string, unknown>),
      async create(model) {
        const tokenizer = await model.readVerified("tokenizer.json");
        await model.readVerified("onnx/model.onnx_data");
        return { session: Buffer.from(await tokenizer.read(0, tokenizer.size)).toString(), files: [] };
      },
      release: async () => undefined,
    };
    expect((await guard.load(reading, "add")).session).toBe(new TextDecoder().decode(TOKENIZER));
    events.forEach(expectValidAuditEvent);
    expect(events.map((e) => [e.runtime, e.outcome, e.files])).toEqual([["onnxruntime", "verified", [s.fileOf("add", "tokenizer.json")]]]);
  });

  it("one refusal event per refused load: tampered bytes, an untrusted signer, a model or file not locked", async () => {
    const s = await setup();
    await flipByte(s.pathOf("add", "onnx/model.onnx_data"));
    const { events, audit } = collecting();
    const guard = await s.open(audit);
    await expect(guard.createSession("add")).rejects.toMatchObject({ code: "DIGEST_MISMATCH" });
    await expect(guard.readFile("nope", "x")).rejects.toMatchObject({ code: "MODEL_NOT_LOCKED" });
    await expect(guard.readFile("tok", "vocab.txt")).rejects.toMatchObject({ code: "FILE_NOT_LOCKED" });
    const untrusting = await s.open(audit, [mallory.publicPath]);
    await expect(untrusting.readFile("tok", "tokenizer.json")).rejects.toMatchObject({ code: "UNTRUSTED_SIGNER" });
    events.forEach(expectValidAuditEvent);
    expect(events.map((e) => [e.outcome, e.model, e.runtime, e.repo, e.error?.code, e.error?.file, e.files.map((f) => f.path), e.signer?.kind ?? null])).toEqual([
      // The graph was read and verified before its data failed.
      ["refused", "add", "onnxruntime", "org/add", "DIGEST_MISMATCH", "onnx/model.onnx_data", ["onnx/model.onnx"], "key"],
      ["refused", "nope", "bytes", null, "MODEL_NOT_LOCKED", undefined, [], null],
      ["refused", "tok", "bytes", "org/tok", "FILE_NOT_LOCKED", "vocab.txt", [], "key"],
      ["refused", "tok", "bytes", "org/tok", "UNTRUSTED_SIGNER", undefined, [], null],
    ]);
  });

  it("the gate: one verify event per model (verifyAll), one per model for loadAll (load with a graph, else verify)", async () => {
    const s = await setup();
    const { events, audit } = collecting();
    const guard = await s.open(audit);
    await guard.verifyAll();
    // verifyAll checks the models at once: their events come in any order.
    events.sort((x, y) => x.model.localeCompare(y.model));
    expect(events.map((e) => [e.action, e.runtime, e.model, e.outcome, e.files.length])).toEqual([
      ["verify", null, "add", "verified", 3],
      ["verify", null, "big", "verified", 1],
      ["verify", null, "tok", "verified", 1],
    ]);
    events.length = 0;
    const { sessions } = await guard.loadAll();
    await Promise.all([...sessions.values()].map((x) => x.release()));
    expect(events.map((e) => [e.action, e.runtime, e.model, e.outcome, e.files.map((f) => f.path)])).toEqual([
      ["load", "onnxruntime", "add", "verified", ["onnx/model.onnx", "onnx/model.onnx_data", "tokenizer.json"]],
      ["load", "onnxruntime", "big", "verified", ["onnx/model.onnx"]],
      ["verify", null, "tok", "verified", ["tokenizer.json"]],
    ]);
    events.forEach(expectValidAuditEvent);

    // Tampered: each gate reports the model refused, with the file that failed and those that passed.
    await flipByte(s.pathOf("add", "tokenizer.json"));
    events.length = 0;
    await expect(guard.verifyAll()).rejects.toMatchObject({ code: "DIGEST_MISMATCH" });
    await expect(guard.loadAll()).rejects.toMatchObject({ code: "DIGEST_MISMATCH" });
    events.forEach(expectValidAuditEvent);
    const refused = events.filter((e) => e.outcome === "refused");
    expect(refused.map((e) => [e.action, e.model, e.error?.code, e.error?.file, e.files.map((f) => f.path)])).toEqual([
      ["verify", "add", "DIGEST_MISMATCH", "tokenizer.json", ["onnx/model.onnx", "onnx/model.onnx_data"]],
      ["load", "add", "DIGEST_MISMATCH", "tokenizer.json", ["onnx/model.onnx", "onnx/model.onnx_data"]],
    ]);
    expect(events).toHaveLength(6);
  });

  it("concurrent loads into one log file (two guards): every line whole and valid, every event with its own files", async () => {
    const s = await setup();
    const log = join(s.dir, "audit.log");
    const [a, b] = await Promise.all([s.open(log), s.open(log)]);
    await flipByte(s.pathOf("tok", "tokenizer.json"));
    const loads = Array.from({ length: 40 }, (_, n) => {
      const guard = n % 2 === 0 ? a : b;
      switch (n % 4) {
        case 0:
          return guard.createSession("add").then((x) => x.release());
        case 1:
          return guard.readFile("add", "tokenizer.json");
        case 2:
          return guard.readFile("tok", "tokenizer.json").catch(() => undefined);
        default:
          return guard.createSession("big").then((x) => x.release());
      }
    });
    await Promise.all(loads);
    const events = parseAuditLog(await readFile(log, "utf8")) as unknown as AuditEvent[];
    expect(events).toHaveLength(40);
    const byKind = (e: AuditEvent) => `${e.model} ${e.runtime} ${e.outcome} ${e.files.map((f) => f.path).join(",")}`;
    const counts = new Map<string, number>();
    for (const e of events) counts.set(byKind(e), (counts.get(byKind(e)) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({
      "add onnxruntime verified onnx/model.onnx,onnx/model.onnx_data": 10,
      "add bytes verified tokenizer.json": 10,
      "tok bytes refused ": 10,
      "big onnxruntime verified onnx/model.onnx": 10,
    });
  });

  it("a stream sink gets one line per event; an unusable audit option fails open", async () => {
    const s = await setup();
    const stream = new PassThrough();
    let text = "";
    stream.setEncoding("utf8").on("data", (d: string) => (text += d));
    const guard = await s.open(stream);
    await guard.readFile("tok", "tokenizer.json");
    expect(parseAuditLog(text)).toMatchObject([{ model: "tok", runtime: "bytes", outcome: "verified" }]);
    await expect(s.open(join(s.dir, "no-such-dir", "audit.log"))).rejects.toMatchObject({ code: "FILE_MISSING" });
    await expect(s.open(42 as never)).rejects.toMatchObject({ code: "USAGE" });
  });
});
