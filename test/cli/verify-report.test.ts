import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { appendFile, rm, writeFile } from "node:fs/promises";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { ModelGuard } from "../../src/guard/guard.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { makeCachedModels, makeKeys } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

const schema = JSON.parse(readFileSync(new URL("../../docs/verify-report.schema.json", import.meta.url), "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: true });
// "date-time" is checked by hand below; ajv's formats live in another package.
ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)));
const validate = ajv.compile(schema);

function expectValid(doc: unknown): void {
  const ok = validate(doc);
  expect(validate.errors ?? [], JSON.stringify(doc).slice(0, 300)).toEqual([]);
  expect(ok).toBe(true);
}

async function setup() {
  const made = await makeCachedModels({
    // Not ".onnx": the gate would check a graph as its load would, and "aaaa" is no ONNX model.
    a: { repo: "org/a", files: { "model.bin": Buffer.from("aaaa"), "config.json": Buffer.from("{}") } },
    b: { repo: "org/b", files: { "weights.bin": Buffer.alloc(1000, 1) } },
  });
  const keys = await makeKeys(made.dir);
  made.lockfile.models.a = withSignature("a", made.lockfile.models.a!, keys.privateKey, keys.publicKey);
  await writeLockfile(made.lockfilePath, made.lockfile);
  const g = ["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir];
  return { ...made, keys, g };
}

describe("the verify report", () => {
  it("is one JSON document matching the documented schema, with bytes, signer and timings", async () => {
    const s = await setup();
    const res = await runCli([...s.g, "verify", "--json", "--key", s.keys.publicPath, "--allow-unsigned"]);
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expectValid(report);
    expect(report).toMatchObject({
      reportVersion: 1,
      ok: true,
      summary: { models: 2, modelsFailed: 0, files: 3, filesFailed: 0, bytesChecked: 1006 },
    });
    expect(report.models[0].signer).toMatchObject({ kind: "key", via: "model-signature" });
    expect(report.models[1].signer).toEqual({ kind: "unsigned" });
  });

  it("a file that failed its digest shows the bytes it checked; text and JSON say to pull or investigate", async () => {
    const s = await setup();
    const weights = snapshotFilePath(s.cacheDir, "org/b", s.lockfile.models.b!.revision, "weights.bin");
    const bytes = Buffer.alloc(1000, 1);
    bytes[500] = 2;
    await rm(weights);
    await writeFile(weights, bytes);
    const json = await runCli([...s.g, "verify", "--json", "--key", s.keys.publicPath, "--allow-unsigned", "b"]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expectValid(report);
    expect(report.models[0].files[0]).toMatchObject({ path: "weights.bin", ok: false, bytesChecked: 1000, error: { code: "DIGEST_MISMATCH" } });
    expect(report.summary.bytesChecked).toBe(1000);
    // What the lock says and what the file was, as fields (the schema above allows them).
    expect(report.models[0].files[0].error).toMatchObject({
      expected: { size: 1000, sha256: s.lockfile.models.b!.files["weights.bin"]!.sha256 },
      actual: { size: 1000, sha256: createHash("sha256").update(bytes).digest("hex") },
    });
    expect(report.models[0].files[0].error.message).toMatch(/run `modelguard pull b` to replace it from the Hub, or find out what changed it/);
    const text = await runCli([...s.g, "verify", "--key", s.keys.publicPath, "--allow-unsigned", "b"]);
    expect(text.stderr).toMatch(/^FAIL \[DIGEST_MISMATCH\] model b: weights\.bin has sha256 [0-9a-f]{64}, the lockfile says [0-9a-f]{64}; .*run `modelguard pull b`/m);
  });

  it("lists every failure, in the JSON and in the text output", async () => {
    const s = await setup();
    await appendFile(snapshotFilePath(s.cacheDir, "org/a", s.lockfile.models.a!.revision, "config.json"), " ");
    await rm(snapshotFilePath(s.cacheDir, "org/b", s.lockfile.models.b!.revision, "weights.bin"));
    const json = await runCli([...s.g, "verify", "--json", "--key", s.keys.publicPath]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expectValid(report);
    expect(report.summary).toMatchObject({ modelsFailed: 2, filesFailed: 2 });
    const b = report.models[1];
    expect(b).toMatchObject({ ok: false, signer: null, error: { code: "SIGNATURE_MISSING" } });
    expect(b.files[0]).toMatchObject({ ok: false, bytesChecked: 0, error: { code: "NOT_CACHED" } });
    const text = await runCli([...s.g, "verify", "--key", s.keys.publicPath]);
    expect(text.code).toBe(1);
    expect(text.stderr.match(/^FAIL /gm)).toHaveLength(3);
    expect(text.stderr).toMatch(/SIZE_MISMATCH.*model a: config\.json/);
    expect(text.stderr).toMatch(/SIGNATURE_MISSING.*model b/);
    expect(text.stderr).toMatch(/NOT_CACHED.*model b: weights\.bin/);
  });

  it("prints a schema-valid error document when verification cannot start", async () => {
    const s = await setup();
    await writeFile(s.lockfilePath, "{ nope");
    const res = await runCli([...s.g, "verify", "--json"]);
    expect(res.code).toBe(2);
    const doc = JSON.parse(res.stdout);
    expectValid(doc);
    expect(doc.error.code).toBe("LOCKFILE_INVALID");
  });

  it("is the object verifyAll() returns, and carries on the error it throws", async () => {
    const s = await setup();
    const guard = await ModelGuard.open({ lockfile: s.lockfilePath, cacheDir: s.cacheDir, trust: { keys: [s.keys.publicPath] }, allowUnsigned: true, offline: true });
    const report = await guard.verifyAll();
    expectValid(JSON.parse(JSON.stringify(report)));
    await appendFile(snapshotFilePath(s.cacheDir, "org/b", s.lockfile.models.b!.revision, "weights.bin"), "x");
    const err = (await guard.verifyAll().then(() => undefined, (e: unknown) => e)) as { code: string; report: unknown };
    expect(err).toMatchObject({ code: "SIZE_MISMATCH" });
    expectValid(JSON.parse(JSON.stringify(err.report)));
  });
});
