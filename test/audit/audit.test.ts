/**
 * The audit module on its own: events against docs/audit-event.schema.json, one event per load
 * (nested loads join it, concurrent ones never mix), the three sinks, and appends to one file
 * from many writers at once (several sinks in this process and several processes) that leave
 * every line whole.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { auditedLoad, noteVerifiedFile, type AuditedLoadInfo } from "../../src/audit/audited-load.js";
import { auditEvent, type AuditEvent } from "../../src/audit/audit-event.js";
import { openAuditSink, type AuditSink } from "../../src/audit/audit-sink.js";
import { ModelGuardError } from "../../src/errors.js";
import { expectValidAuditEvent, validateAuditEvent } from "../helpers/audit-schema.js";
import { tempDir } from "../helpers/fixtures.js";

const validate = validateAuditEvent;
const expectValid = expectValidAuditEvent;

const REV = "1".repeat(40);
const file = (path: string, n = 1) => ({ path, size: n, sha256: String(n % 10).repeat(64) });
const signer = { kind: "key", fingerprint: "ab".repeat(32), via: "model-signature" } as const;

function info(model: string, runtime: AuditedLoadInfo["runtime"] = "onnxruntime"): AuditedLoadInfo {
  return {
    model,
    runtime,
    lockfile: "models.lock.json",
    locked: () => (model === "unlocked" ? null : { repo: "org/m", revision: REV }),
    signer: async () => (model === "untrusted" ? null : signer),
  };
}

function collecting(): { sink: AuditSink; events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  return { events, sink: { record: async (e) => void events.push(e) } };
}

describe("audit events", () => {
  it("a verified load: one event with every file verified inside it, valid against the schema", async () => {
    const { sink, events } = collecting();
    const result = await auditedLoad(sink, info("m"), async () => {
      noteVerifiedFile(file("onnx/model.onnx", 5));
      // A companion file read through another guarded read joins this load's event.
      await auditedLoad(sink, info("m", "bytes"), async () => noteVerifiedFile(file("onnx/model.onnx_data", 7)));
      return "session";
    });
    expect(result).toBe("session");
    expect(events).toHaveLength(1);
    expectValid(events[0]);
    expect(events[0]).toMatchObject({
      auditVersion: 1,
      action: "load",
      outcome: "verified",
      model: "m",
      repo: "org/m",
      revision: REV,
      runtime: "onnxruntime",
      files: [file("onnx/model.onnx", 5), file("onnx/model.onnx_data", 7)],
      signer,
      error: null,
      lockfile: "models.lock.json",
      pid: process.pid,
    });
    expect(events[0]!.host).toBeTruthy();
  });

  it("a refusal: one event with the code and the file, and the caller gets the very same error", async () => {
    const { sink, events } = collecting();
    const thrown = new ModelGuardError("DIGEST_MISMATCH", "model untrusted: onnx/model.onnx has sha256 00…", { model: "untrusted", file: "onnx/model.onnx" });
    const caught = await auditedLoad(sink, info("untrusted", "node-llama-cpp"), async () => {
      noteVerifiedFile(file("config.json"));
      throw thrown;
    }).catch((e: unknown) => e);
    expect(caught).toBe(thrown);
    expect(events).toHaveLength(1);
    expectValid(events[0]);
    expect(events[0]).toMatchObject({
      outcome: "refused",
      runtime: "node-llama-cpp",
      files: [file("config.json")],
      signer: null,
      error: { code: "DIGEST_MISMATCH", message: thrown.message, file: "onnx/model.onnx" },
    });
    // A model that is not locked, and an error that is not a ModelGuardError.
    await auditedLoad(sink, info("unlocked", "bytes"), async () => {
      throw new ModelGuardError("MODEL_NOT_LOCKED", "model unlocked is not in models.lock.json");
    }).catch(() => {});
    await auditedLoad(sink, info("m"), async () => {
      throw new TypeError("boom");
    }).catch(() => {});
    expect(events.slice(1).map((e) => [e.repo, e.revision, e.error?.code])).toEqual([[null, null, "MODEL_NOT_LOCKED"], ["org/m", REV, "INTERNAL"]]);
    events.forEach(expectValid);
  });

  it("the schema rejects what an event must not be", () => {
    const good = auditEvent({ action: "load", model: "m", runtime: "bytes", lockfile: "l", repo: "org/m", revision: REV, signer, files: [] }, null);
    expectValid(good);
    for (const bad of [
      { ...good, outcome: "loaded" },
      { ...good, action: "run" },
      { ...good, runtime: null },
      { ...good, action: "verify" },
      { ...good, runtime: "tensorflow" },
      { ...good, error: { code: "DIGEST_MISMATCH", message: "x" } },
      { ...good, files: [{ path: "a", size: 1, sha256: "xyz" }] },
      { ...good, extra: 1 },
      { ...good, outcome: "refused", error: null },
    ]) {
      expect(validate(bad), JSON.stringify(bad).slice(0, 120)).toBe(false);
    }
  });

  it("concurrent loads keep their own files", async () => {
    const { sink, events } = collecting();
    await Promise.all(
      ["a", "b", "c"].map((m, i) =>
        auditedLoad(sink, info(m), async () => {
          for (let n = 0; n < 3; n++) {
            noteVerifiedFile(file(`${m}-${n}`, i));
            await new Promise((r) => setTimeout(r, 1));
          }
        }),
      ),
    );
    for (const e of events) expect(e.files.map((f) => f.path)).toEqual([0, 1, 2].map((n) => `${e.model}-${n}`));
  });

  it("without a sink, a load runs as it is and nothing is recorded", async () => {
    expect(await auditedLoad(undefined, info("m"), async () => 42)).toBe(42);
  });
});

describe("audit sinks", () => {
  const event = (model: string) => auditEvent({ action: "load", model, runtime: "bytes", lockfile: "l", repo: "org/m", revision: REV, signer, files: [file("a")] }, null);

  it("a stream gets one line per event; a callback the event itself", async () => {
    const stream = new PassThrough();
    let text = "";
    stream.on("data", (d: Buffer) => (text += d.toString()));
    const sink = await openAuditSink(stream);
    await sink.record(event("one"));
    await sink.record(event("two"));
    expect(text.split("\n").filter(Boolean).map((l) => JSON.parse(l).model)).toEqual(["one", "two"]);
    const got: AuditEvent[] = [];
    await (await openAuditSink((e) => void got.push(e))).record(event("three"));
    expect(got).toEqual([expect.objectContaining({ model: "three" })]);
  });

  it("a failing sink is a process warning, never a failed load", async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on("warning", onWarning);
    try {
      const sink = await openAuditSink(() => {
        throw new Error("log server down");
      });
      expect(await auditedLoad(sink, info("m"), async () => "loaded")).toBe("loaded");
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.map((w) => [(w as NodeJS.ErrnoException).code, w.message])).toEqual([["MODELGUARD_AUDIT_FAILED", "audit event not recorded: log server down"]]);
  });

  it("a path that cannot be opened fails at once, with the path in the message", async () => {
    const dir = await tempDir("mg-audit-");
    await expect(openAuditSink(join(dir, "missing", "audit.log"))).rejects.toMatchObject({ code: "FILE_MISSING", message: expect.stringContaining("missing/audit.log") });
    await expect(openAuditSink(dir)).rejects.toMatchObject({ code: "USAGE" });
    await expect(openAuditSink(42 as never)).rejects.toMatchObject({ code: "USAGE" });
  });

  it("a file is appended to, and a last line left unfinished by someone else is ended before the next event", async () => {
    const dir = await tempDir("mg-audit-");
    const path = join(dir, "audit.log");
    await writeFile(path, `${JSON.stringify(event("earlier"))}\n{"half a line`);
    const sink = await openAuditSink(path);
    await sink.record(event("next"));
    const lines = (await readFile(path, "utf8")).split("\n");
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[0]!).model).toBe("earlier");
    expect(lines[1]).toBe('{"half a line');
    expect(JSON.parse(lines[2]!).model).toBe("next");
    expect(lines[3]).toBe("");
  });

  it("many writers at once, in this process and in others, leave every line whole (lines larger than a pipe's atomic write)", async () => {
    const dir = await tempDir("mg-audit-");
    const path = join(dir, "audit.log");
    const many = Array.from({ length: 60 }, (_, i) => file(`weights/part-${String(i).padStart(5, "0")}.bin`, i));
    const big = (model: string) => ({ ...event(model), files: many });
    expect(JSON.stringify(big("x")).length).toBeGreaterThan(4096);
    const WRITERS = 3;
    const EVENTS = 100;
    const dist = new URL("../../dist/audit/audit-sink.js", import.meta.url).href;
    const script = `
      const { openAuditSink } = await import(${JSON.stringify(dist)});
      const event = JSON.parse(process.argv[1]);
      const sink = await openAuditSink(process.argv[2]);
      await Promise.all(Array.from({ length: ${EVENTS} }, (_, i) => sink.record({ ...event, model: "proc-" + process.pid + "-" + i, pid: process.pid })));
    `;
    const child = () =>
      new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, ["--input-type=module", "-e", script, JSON.stringify(big("x")), path], { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        p.stderr!.on("data", (d: Buffer) => (err += d));
        p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(err))));
      });
    const local = async (n: number) => {
      const sink = await openAuditSink(path);
      await Promise.all(Array.from({ length: EVENTS }, (_, i) => sink.record(big(`local-${n}-${i}`))));
    };
    await Promise.all([...Array.from({ length: WRITERS }, child), ...Array.from({ length: WRITERS }, (_, n) => local(n))]);
    const text = await readFile(path, "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    expect(lines).toHaveLength(2 * WRITERS * EVENTS);
    const models = new Set<string>();
    for (const l of lines) {
      const e = JSON.parse(l) as AuditEvent;
      expectValid(e);
      expect(e.files).toHaveLength(many.length);
      models.add(e.model);
    }
    expect(models.size).toBe(2 * WRITERS * EVENTS);
  });
});
