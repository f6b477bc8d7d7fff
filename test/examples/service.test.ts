/**
 * The example service (examples/service/) as a real process on loopback: what it serves, what it
 * refuses to start on, and how it answers bad requests. Every case builds its own cache and
 * lockfile in a temp dir; examples/.hf-cache is never touched.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/digest/sha256.js";
import { parsePublicKey, publicKeyId } from "../../src/keys/load-key.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import type { Lockfile } from "../../src/lockfile/types.js";
import { buildAddModel, buildOnnxModel } from "../helpers/build-model.js";
import { TensorDataType } from "../../src/onnx/onnx-fields.js";
import { withSignature } from "../../src/signing/sign-locked-model.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { tinyLlamaGguf } from "../helpers/tiny-llama.js";
import { EXAMPLE_LOCKFILE, EXAMPLE_PUBLIC_KEY, fillExampleCache, snapshotDir, startExampleHub } from "../../examples/example-cache.js";
import { CLASSIFIER, EXAMPLE_MODEL, EXAMPLE_REPO, REGRESSOR, REGRESSOR_MODEL, REGRESSOR_REPO, tinyRegressorFiles } from "../../examples/tiny-model.js";
import { makeCachedModels, makeKeys, tempDir, type TestKeys } from "../helpers/fixtures.js";
import { parseAuditLog } from "../helpers/audit-schema.js";
import { portAccepts } from "../helpers/port-accepts.js";

const root = join(import.meta.dirname, "../..");
const SERVICE = join(root, "examples/service/main.ts");
const SERVE_EXAMPLE = join(root, "examples/serve-example.ts");

const work = await tempDir("mg-service-");
const children = new Set<ChildProcess>();

/** No HF_* or MODELGUARD_* from the developer's shell may steer a case. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HF_ENDPOINT: "",
    HF_TOKEN: "",
    HF_HUB_OFFLINE: "",
    HF_HUB_CACHE: "",
    HF_HOME: join(work, "hf-home"),
    MODELGUARD_LOCKFILE: "",
    MODELGUARD_TRUSTED_KEYS: "",
    MODELGUARD_ALLOW_UNSIGNED: "",
    MODELGUARD_IDENTITY: "",
    MODELGUARD_IDENTITY_PROVIDER: "",
    MODELGUARD_TRUSTED_ROOT: "",
    MODELGUARD_AUDIT_LOG: "",
    MODELGUARD_EXAMPLE_CACHE: join(work, "never-used-example-cache"),
    PORT: "",
    // The service's own default is every interface; loopback is enough here.
    HOST: "127.0.0.1",
    ...extra,
  };
}

function launch(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    children.delete(child);
    resolve(code);
  }));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

interface Service {
  url: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts a service and waits for its first stdout line, `listening on URL`. */
async function serve(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<Service> {
  const run = launch(script, args, env);
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const line = /^(.*)\n/.exec(run.stdout());
      if (!line) return;
      run.child.stdout!.off("data", onData);
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line[1]!);
      if (m) resolve(m[1]!);
      else reject(new Error(`first stdout line is not "listening on": ${line[1]}`));
    };
    run.child.stdout!.on("data", onData);
    void run.exited.then((code) => reject(new Error(`service exited ${code} before listening:\n${run.stderr()}`)));
  });
  return { url, child: run.child, exited: run.exited, stderr: run.stderr };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * Runs a service that must not start, knocking on its port the whole time: it has to exit
 * non-zero, print no `listening` line, and never accept a connection.
 */
async function refusedStart(args: string[], env: NodeJS.ProcessEnv) {
  const port = await freePort();
  const run = launch(SERVICE, [...args, "--port", String(port)], env);
  let done = false;
  let opened = false;
  const knocking = (async () => {
    while (!done) {
      if (await portAccepts(port)) opened = true;
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  const status = await run.exited;
  done = true;
  await knocking;
  return { status, stdout: run.stdout(), stderr: run.stderr(), opened };
}

async function request(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

function post(url: string, body: unknown) {
  return request(url, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

// The expected outputs, computed here in float64 from the models' parameters.
function classify(features: number[]): number[] {
  const logits = [0, 1, 2].map((j) => features.reduce((s, x, i) => s + x * CLASSIFIER.W[i * 3 + j]!, 0) + CLASSIFIER.B[j]!);
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

function regress(rows: number[][]): number[] {
  return rows.map((r) => r.reduce((s, x, i) => s + x * REGRESSOR.w[i]!, 0) + REGRESSOR.b[0]!);
}

function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i]!, 5));
}

const classifierInput = (features: number[]) => ({ inputs: { features: { type: "float32", dims: [1, 4], data: features } } });
const regressorInput = (rows: number[][]) => ({ inputs: { x: { type: "float32", dims: [rows.length, 3], data: rows.flat() } } });

const exampleKeyId = publicKeyId(parsePublicKey(await readFile(EXAMPLE_PUBLIC_KEY, "utf8")));
const exampleLock = JSON.parse(await readFile(EXAMPLE_LOCKFILE, "utf8")) as Lockfile;
const regressorRevision = exampleLock.models[REGRESSOR_MODEL]!.revision;
const classifierRevision = exampleLock.models[EXAMPLE_MODEL]!.revision;

/** The example cache, filled the way `npm run serve` fills it; each failure case copies it. */
const goodCache = join(work, "good-cache");
let mallory: TestKeys;
let alice: TestKeys;

beforeAll(async () => {
  await fillExampleCache(goodCache);
  alice = await makeKeys(work, "alice");
  mallory = await makeKeys(work, "mallory");
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await rm(work, { recursive: true, force: true });
});

async function copyOfGoodCache(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(goodCache, dir, { recursive: true });
  return dir;
}

async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at]! ^= 0x01;
  await writeFile(path, bytes);
}

describe("the example service on the bundled models", () => {
  let svc: Service;
  const auditLog = join(work, "service-audit.log");

  beforeAll(async () => {
    // Configured through the environment only, as a container would be.
    svc = await serve(SERVICE, [], cleanEnv({
      PORT: "0",
      MODELGUARD_LOCKFILE: EXAMPLE_LOCKFILE,
      MODELGUARD_TRUSTED_KEYS: EXAMPLE_PUBLIC_KEY,
      HF_HUB_CACHE: goodCache,
      HF_HUB_OFFLINE: "1",
      MODELGUARD_AUDIT_LOG: auditLog,
    }));
  });

  it("wrote one valid audit event per model it loaded at start (MODELGUARD_AUDIT_LOG)", async () => {
    const events = parseAuditLog(await readFile(auditLog, "utf8"));
    expect(events.map((e) => [e.action, e.runtime, e.model, e.outcome, e.pid])).toEqual([
      ["load", "onnxruntime", EXAMPLE_MODEL, "verified", svc.child.pid],
      ["load", "onnxruntime", REGRESSOR_MODEL, "verified", svc.child.pid],
    ]);
    expect(events[0]).toMatchObject({ repo: EXAMPLE_REPO, revision: classifierRevision, signer: { kind: "key", fingerprint: exampleKeyId }, error: null });
    expect((events[0]!.files as { path: string }[]).map((f) => f.path)).toEqual(Object.keys(exampleLock.models[EXAMPLE_MODEL]!.files));
  });

  afterAll(async () => {
    svc?.child.kill("SIGTERM");
    if (svc) expect(await svc.exited).toBe(0);
  });

  it("is live and ready as soon as it listens", async () => {
    expect(await request(`${svc.url}/healthz`)).toMatchObject({ status: 200 });
    expect(await request(`${svc.url}/readyz`)).toMatchObject({ status: 200, body: { status: "ready" } });
    expect(svc.stderr()).toMatch(/^ok tiny-classifier .*signed by key/m);
  });

  it("lists each model with its pinned revision, locked files and signer", async () => {
    const { status, body } = await request(`${svc.url}/v1/models`);
    expect(status).toBe(200);
    const signer = { kind: "key", fingerprint: exampleKeyId, via: "model-signature" };
    expect(body).toEqual([
      expect.objectContaining({
        name: EXAMPLE_MODEL,
        repo: EXAMPLE_REPO,
        revision: classifierRevision,
        files: ["config.json", "onnx/model.onnx", "onnx/model.onnx_data"],
        signer,
        inputs: [{ name: "features", type: "float32", shape: [1, 4] }],
      }),
      expect.objectContaining({
        name: REGRESSOR_MODEL,
        repo: REGRESSOR_REPO,
        revision: regressorRevision,
        files: ["model.onnx"],
        signer,
        inputs: [{ name: "x", type: "float32", shape: ["batch", 3] }],
      }),
    ]);
  });

  it("serves correct results from both models (external data and single file)", async () => {
    const features = [1.0, 0.2, -0.5, 0.3];
    const c = await post(`${svc.url}/v1/models/${EXAMPLE_MODEL}/infer`, classifierInput(features));
    expect(c.status).toBe(200);
    expect(c.body.outputs.probabilities).toMatchObject({ type: "float32", dims: [1, 3] });
    expectClose(c.body.outputs.probabilities.data, classify(features));

    const rows = [[1, 2, 3], [0, 0, 0], [-4.5, 0.25, 10]];
    const r = await post(`${svc.url}/v1/models/${REGRESSOR_MODEL}/infer`, regressorInput(rows));
    expect(r.status).toBe(200);
    expect(r.body.outputs.y).toMatchObject({ type: "float32", dims: [3, 1] });
    expectClose(r.body.outputs.y.data, regress(rows));
  });

  const x = (fields: object) => ({ inputs: { x: { type: "float32", dims: [1, 3], data: [1, 2, 3], ...fields } } });
  it.each([
    ["malformed JSON", '{"inputs": {"x": ', "INVALID_JSON"],
    ["not UTF-8", Buffer.from([0x7b, 0xff, 0x7d]), "INVALID_JSON"],
    ["a body without inputs", { input: {} }, "INVALID_REQUEST"],
    ["an unknown top-level field", { ...x({}), outputs: ["y"] }, "INVALID_REQUEST"],
    ["an unknown input", { inputs: { ...x({}).inputs, z: { type: "float32", dims: [1], data: [1] } } }, "UNKNOWN_INPUT"],
    ["a missing input", { inputs: {} }, "MISSING_INPUT"],
    ["dims whose product is not the data length", x({ dims: [2, 3] }), "INVALID_DIMS"],
    ["a negative dim", x({ dims: [-1, 3] }), "INVALID_DIMS"],
    ["a fractional dim", x({ dims: [1.5, 2] }), "INVALID_DIMS"],
    ["the wrong rank", x({ dims: [3] }), "INVALID_DIMS"],
    ["a dim the model fixes otherwise", x({ dims: [3, 1] }), "INVALID_DIMS"],
    ["the wrong type", x({ type: "int32" }), "INVALID_TYPE"],
    ["an unknown type", x({ type: "complex128" }), "INVALID_TYPE"],
    ["a non-finite number (1e999)", '{"inputs": {"x": {"type": "float32", "dims": [1, 3], "data": [1, 1e999, 3]}}}', "INVALID_DATA"],
    ["a number beyond float32", x({ data: [1, 1e300, 3] }), "INVALID_DATA"],
    ["a string for a number", x({ data: [1, "NaN", 3] }), "INVALID_DATA"],
    ["nested data", x({ data: [[1, 2, 3]] }), "INVALID_DIMS"],
    ["too many elements", x({ dims: [50_000, 3], data: [] }), "TOO_MANY_ELEMENTS"],
    ["an oversized body", JSON.stringify(x({})) + " ".repeat(1024 * 1024 + 1), "BODY_TOO_LARGE"],
  ] as const)("answers %s with a 400 and keeps serving", async (_what, body, code) => {
    const res = await request(`${svc.url}/v1/models/${REGRESSOR_MODEL}/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
    const after = await post(`${svc.url}/v1/models/${REGRESSOR_MODEL}/infer`, regressorInput([[1, 2, 3]]));
    expect(after.status).toBe(200);
    expectClose(after.body.outputs.y.data, regress([[1, 2, 3]]));
  });

  it("refuses a body far over the limit before it arrives, and keeps serving", async () => {
    // Announce 16 MiB, send 1 KiB, wait: the answer must come without the rest of the body.
    const { port } = new URL(svc.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        socket.write(`POST /v1/models/${REGRESSOR_MODEL}/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: ${16 * 1024 * 1024}\r\n\r\n`);
        socket.write(" ".repeat(1024));
      });
      let text = "";
      socket.setEncoding("utf8").on("data", (d: string) => (text += d));
      socket.once("close", () => resolve(text));
      socket.once("error", reject);
      socket.setTimeout(5000, () => reject(new Error(`no answer; got ${JSON.stringify(text)}`)));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toMatch(/^connection: close\r$/im);
    expect(answer).toContain('"code":"BODY_TOO_LARGE"');
    expect((await post(`${svc.url}/v1/models/${REGRESSOR_MODEL}/infer`, regressorInput([[1, 2, 3]]))).status).toBe(200);
  });

  it("answers an unknown model 404, an unknown path 404 and a wrong method 405", async () => {
    expect(await post(`${svc.url}/v1/models/no-such-model/infer`, regressorInput([[1, 2, 3]]))).toMatchObject({
      status: 404,
      body: { error: { code: "MODEL_NOT_FOUND" } },
    });
    expect(await request(`${svc.url}/v2/anything`)).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
    const wrong = await request(`${svc.url}/v1/models/${REGRESSOR_MODEL}/infer`);
    expect(wrong).toMatchObject({ status: 405, body: { error: { code: "METHOD_NOT_ALLOWED" } } });
    expect(wrong.headers.get("allow")).toBe("POST");
    expect((await request(`${svc.url}/healthz`, { method: "POST" })).status).toBe(405);
  });

  it("answers a request target that is no URL with a 400, not a 500", async () => {
    const { hostname, port } = new URL(svc.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.write("GET http://[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      let text = "";
      socket.on("data", (d: Buffer) => (text += d.toString()));
      socket.on("error", reject);
      socket.on("close", () => resolve(text));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/"code":"INVALID_REQUEST"/);
    expect((await request(`${svc.url}/healthz`)).status).toBe(200);
  });

  it("answers 200 concurrent inference requests, each with its own correct result", async () => {
    const jobs = Array.from({ length: 200 }, (_, i) => {
      if (i % 2 === 0) {
        const features = [i / 100, -i / 50, 1 - i / 200, (i % 7) / 3];
        return post(`${svc.url}/v1/models/${EXAMPLE_MODEL}/infer`, classifierInput(features)).then((res) => {
          expect(res.status).toBe(200);
          expectClose(res.body.outputs.probabilities.data, classify(features));
        });
      }
      const rows = Array.from({ length: 1 + (i % 5) }, (_, k) => [i, k, -i / 10]);
      return post(`${svc.url}/v1/models/${REGRESSOR_MODEL}/infer`, regressorInput(rows)).then((res) => {
        expect(res.status).toBe(200);
        expect(res.body.outputs.y.dims).toEqual([rows.length, 1]);
        expectClose(res.body.outputs.y.data, regress(rows));
      });
    });
    await Promise.all(jobs);
  });
});

describe("the example service on models built here", () => {
  let svc: Service;

  beforeAll(async () => {
    // C = A + B over int64, with one symbolic length: a mismatch only onnxruntime can see.
    const pair = buildOnnxModel({
      graph: {
        name: "pair",
        inputs: [{ name: "A", dims: ["n"], elemType: TensorDataType.INT64 }, { name: "B", dims: ["n"], elemType: TensorDataType.INT64 }],
        outputs: [{ name: "C", dims: ["n"], elemType: TensorDataType.INT64 }],
        nodes: [{ opType: "Add", inputs: ["A", "B"], outputs: ["C"], name: "add" }],
      },
    });
    const made = await makeCachedModels({
      pair: { repo: "org/pair", files: { "model.onnx": pair.model } },
      vocab: { repo: "org/vocab", files: { "vocab.txt": Buffer.from("a\nb\n") } },
    });
    for (const name of ["pair", "vocab"]) made.lockfile.models[name] = withSignature(name, made.lockfile.models[name]!, alice.privateKey, alice.publicKey);
    await writeLockfile(made.lockfilePath, made.lockfile);
    svc = await serve(SERVICE, ["--port", "0", "--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir, "--key", alice.publicPath, "--offline"], cleanEnv());
  });

  afterAll(() => void svc?.child.kill("SIGTERM"));

  it("carries int64 values beyond 2^53 as decimal strings, both ways", async () => {
    const res = await post(`${svc.url}/v1/models/pair/infer`, {
      inputs: { A: { type: "int64", dims: [3], data: [1, -5, "9007199254740993"] }, B: { type: "int64", dims: [3], data: [1, 2, 1] } },
    });
    expect(res).toMatchObject({ status: 200, body: { outputs: { C: { type: "int64", dims: [3], data: [2, -3, "9007199254740994"] } } } });
  });

  it("answers an input onnxruntime refuses with a 400 carrying its message, and keeps serving", async () => {
    const res = await post(`${svc.url}/v1/models/pair/infer`, {
      inputs: { A: { type: "int64", dims: [3], data: [1, 2, 3] }, B: { type: "int64", dims: [4], data: [1, 2, 3, 4] } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("INFERENCE_FAILED");
    expect(res.body.error.message).toMatch(/onnxruntime refused the inputs: .*broadcast/i);
    expect((await request(`${svc.url}/healthz`)).status).toBe(200);
  });

  it("lists a model without a graph but runs nothing for it", async () => {
    const { body } = await request(`${svc.url}/v1/models`);
    expect(body.map((m: { name: string }) => m.name)).toEqual(["pair", "vocab"]);
    expect(body[1]).not.toHaveProperty("inputs");
    expect(await post(`${svc.url}/v1/models/vocab/infer`, { inputs: {} })).toMatchObject({ status: 404, body: { error: { code: "MODEL_NOT_FOUND" } } });
  });
});

describe("the example service on a GGUF model (node-llama-cpp)", () => {
  let svc: Service;
  let made: Awaited<ReturnType<typeof makeCachedModels>>;
  const ggufAuditLog = join(work, "gguf-audit.log");

  beforeAll(async () => {
    made = await makeCachedModels({
      "tiny-llama": { repo: "org/tiny-llama-GGUF", files: { "tiny-F32.gguf": tinyLlamaGguf() } },
      vocab: { repo: "org/vocab", files: { "vocab.txt": Buffer.from("a\nb\n") } },
    });
    made.lockfile.models["tiny-llama"]!.gguf = { entry: "tiny-F32.gguf" };
    for (const name of ["tiny-llama", "vocab"]) made.lockfile.models[name] = withSignature(name, made.lockfile.models[name]!, alice.privateKey, alice.publicKey);
    await writeLockfile(made.lockfilePath, made.lockfile);
    svc = await serve(SERVICE, ["--port", "0", "--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir, "--key", alice.publicPath, "--offline", "--llama-threads", "1", "--audit-log", ggufAuditLog], cleanEnv());
  });

  afterAll(() => void svc?.child.kill("SIGTERM"));

  it("loaded the GGUF model in the gate's pass: one load event (node-llama-cpp) listing its file, no second verification", async () => {
    const events = parseAuditLog(await readFile(ggufAuditLog, "utf8"));
    expect(events.map((e) => [e.action, e.runtime, e.model, e.outcome, (e.files as { path: string }[]).map((f) => f.path)])).toEqual([
      ["load", "node-llama-cpp", "tiny-llama", "verified", ["tiny-F32.gguf"]],
      ["verify", null, "vocab", "verified", ["vocab.txt"]],
    ]);
  });

  it("lists it with its runtime and completes prompts greedily, one request at a time per model", async () => {
    const { body } = await request(`${svc.url}/v1/models`);
    expect(body.map((m: { name: string; runtime: string | null }) => [m.name, m.runtime])).toEqual([["tiny-llama", "node-llama-cpp"], ["vocab", null]]);
    const answers = await Promise.all(
      ["only verified", "hello", "only verified"].map((prompt) => post(`${svc.url}/v1/models/tiny-llama/completions`, { prompt, maxTokens: 2 })),
    );
    expect(answers.map((a) => [a.status, a.body.completion])).toEqual([[200, "bytes reach"], [200, "only verified"], [200, "bytes reach"]]);
  });

  it("validates a completion request like /infer: 400 with a code, 404 for what it cannot run", async () => {
    const url = `${svc.url}/v1/models/tiny-llama/completions`;
    expect(await post(url, { prompt: 5 })).toMatchObject({ status: 400, body: { error: { code: "INVALID_REQUEST" } } });
    expect(await post(url, { prompt: "hi", maxTokens: 0 })).toMatchObject({ status: 400, body: { error: { code: "INVALID_REQUEST" } } });
    expect(await post(url, { prompt: "hi", maxTokens: 100_000 })).toMatchObject({ status: 400, body: { error: { code: "TOO_MANY_TOKENS" } } });
    expect(await post(url, { prompt: "hi", temperature: 2 })).toMatchObject({ status: 400, body: { error: { code: "INVALID_REQUEST" } } });
    expect(await post(url, "{not json")).toMatchObject({ status: 400 });
    expect(await post(url, { prompt: "x".repeat(20_000) })).toMatchObject({ status: 400, body: { error: { code: "INVALID_REQUEST" } } });
    const infer = await post(`${svc.url}/v1/models/tiny-llama/infer`, { inputs: {} });
    expect(infer).toMatchObject({ status: 404, body: { error: { code: "MODEL_NOT_FOUND" } } });
    expect(infer.body.error.message).toContain("/v1/models/tiny-llama/completions");
    expect(await post(`${svc.url}/v1/models/vocab/completions`, { prompt: "hi" })).toMatchObject({ status: 404, body: { error: { code: "MODEL_NOT_FOUND" } } });
    expect(await post(`${svc.url}/v1/models/nope/completions`, { prompt: "hi" })).toMatchObject({ status: 404, body: { error: { code: "MODEL_NOT_FOUND" } } });
    expect((await post(url, { prompt: "only verified", maxTokens: 1 })).body.completion).toBe("bytes");
  });

  it("refuses to start when a byte of the GGUF file changed", async () => {
    const cached = snapshotFilePath(made.cacheDir, "org/tiny-llama-GGUF", made.lockfile.models["tiny-llama"]!.revision, "tiny-F32.gguf");
    const bytes = await readFile(cached);
    bytes[bytes.length - 100]! ^= 0x01;
    const cacheDir = join(work, "gguf-flipped");
    await cp(made.cacheDir, cacheDir, { recursive: true });
    await writeFile(snapshotFilePath(cacheDir, "org/tiny-llama-GGUF", made.lockfile.models["tiny-llama"]!.revision, "tiny-F32.gguf"), bytes);
    const log = join(work, "gguf-flipped-audit.log");
    const run = await refusedStart(["--lockfile", made.lockfilePath, "--cache-dir", cacheDir, "--key", alice.publicPath, "--offline", "--audit-log", log], cleanEnv());
    expect(run).toMatchObject({ status: 1, opened: false });
    expect(run.stdout).not.toContain("listening");
    expect(run.stderr).toContain("DIGEST_MISMATCH");
    const events = parseAuditLog(await readFile(log, "utf8"));
    expect(events.map((e) => [e.action, e.runtime, e.model, e.outcome, (e.error as { code: string } | null)?.code ?? null])).toEqual([
      ["load", "node-llama-cpp", "tiny-llama", "refused", "DIGEST_MISMATCH"],
      ["verify", null, "vocab", "verified", null],
    ]);
  });
});

describe("the example service refuses to start", () => {
  const exampleArgs = (cacheDir: string) => ["--lockfile", EXAMPLE_LOCKFILE, "--key", EXAMPLE_PUBLIC_KEY, "--cache-dir", cacheDir];

  it.concurrent("on a tampered byte, even with a Hub that could serve the right one, listing every failure", async () => {
    const cache = await copyOfGoodCache("tampered");
    await flipByte(join(snapshotDir(cache, EXAMPLE_REPO, classifierRevision), "onnx/model.onnx_data"), 5);
    // Not part of the graph: only the start-up verification of every locked file notices it.
    await flipByte(join(snapshotDir(cache, EXAMPLE_REPO, classifierRevision), "config.json"), 3);
    await flipByte(join(snapshotDir(cache, REGRESSOR_REPO, regressorRevision), "model.onnx"), 40);
    const hub = await startExampleHub();
    try {
      const run = await refusedStart(exampleArgs(cache), cleanEnv({ HF_ENDPOINT: hub.url }));
      expect(run).toMatchObject({ status: 1, stdout: "", opened: false });
      expect(run.stderr).toMatch(/^FAIL \[DIGEST_MISMATCH\] model tiny-classifier, file onnx\/model\.onnx_data: .*sha256/m);
      expect(run.stderr).toMatch(/^FAIL \[DIGEST_MISMATCH\] model tiny-classifier, file config\.json: /m);
      expect(run.stderr).toMatch(/^FAIL \[DIGEST_MISMATCH\] model tiny-regressor, file model\.onnx: /m);
      // Nothing was fetched to paper over the tampering.
      expect(hub.requests).toEqual([]);
    } finally {
      await hub.close();
    }
  });

  it.concurrent("on a tampered byte, leaving one refusal event in MODELGUARD_AUDIT_LOG; and on an audit log it cannot open", async () => {
    const cache = await copyOfGoodCache("tampered-audited");
    await flipByte(join(snapshotDir(cache, REGRESSOR_REPO, regressorRevision), "model.onnx"), 40);
    const log = join(work, "tampered-audit.log");
    const run = await refusedStart([...exampleArgs(cache), "--offline"], cleanEnv({ MODELGUARD_AUDIT_LOG: log }));
    expect(run).toMatchObject({ status: 1, stdout: "", opened: false });
    const events = parseAuditLog(await readFile(log, "utf8"));
    expect(events.filter((e) => e.outcome === "refused")).toEqual([
      expect.objectContaining({ action: "load", runtime: "onnxruntime", model: REGRESSOR_MODEL, repo: REGRESSOR_REPO, error: expect.objectContaining({ code: "DIGEST_MISMATCH", file: "model.onnx" }) }),
    ]);
    // The intact model was verified and loaded before the start was refused (its session released).
    expect(events.filter((e) => e.outcome === "verified").map((e) => e.model)).toEqual([EXAMPLE_MODEL]);

    const unopenable = await refusedStart([...exampleArgs(goodCache), "--offline", "--audit-log", join(work, "no-such-dir", "audit.log")], cleanEnv());
    expect(unopenable).toMatchObject({ status: 2, stdout: "", opened: false });
    expect(unopenable.stderr).toMatch(/audit log .*no-such-dir/);
  });

  it.concurrent("on a missing file when offline", async () => {
    const cache = await copyOfGoodCache("missing");
    await rm(join(snapshotDir(cache, REGRESSOR_REPO, regressorRevision), "model.onnx"));
    const run = await refusedStart([...exampleArgs(cache), "--offline"], cleanEnv());
    expect(run).toMatchObject({ status: 3, stdout: "", opened: false });
    expect(run.stderr).toMatch(/^FAIL \[NOT_CACHED\] model tiny-regressor, file model\.onnx: /m);
  });

  it.concurrent("on a lockfile edited after signing (new weights, matching digest)", async () => {
    // The attacker swaps the regressor's weight 2.0 for -2.0 in the cache and updates the lockfile
    // to match: every digest checks out, only the signature can tell.
    const original = Buffer.from(tinyRegressorFiles()["model.onnx"]!);
    const weights = Buffer.from(Float32Array.from(REGRESSOR.w).buffer);
    const at = original.indexOf(weights);
    expect(at).toBeGreaterThan(0);
    const evil = Buffer.from(original);
    evil.writeFloatLE(-2.0, at + 8);
    const cache = await copyOfGoodCache("edited");
    await writeFile(join(snapshotDir(cache, REGRESSOR_REPO, regressorRevision), "model.onnx"), evil);
    const lock = structuredClone(exampleLock);
    lock.models[REGRESSOR_MODEL]!.files["model.onnx"] = { size: evil.length, sha256: sha256Hex(evil) };
    const lockfile = join(work, "edited.lock.json");
    await writeLockfile(lockfile, lock);

    const run = await refusedStart(["--lockfile", lockfile, "--key", EXAMPLE_PUBLIC_KEY, "--cache-dir", cache, "--offline"], cleanEnv());
    expect(run).toMatchObject({ status: 1, stdout: "", opened: false });
    expect(run.stderr).toMatch(/^FAIL \[SIGNATURE_INVALID\] model tiny-regressor: .*changed after signing/m);
    expect(run.stderr).not.toMatch(/DIGEST_MISMATCH|tiny-classifier:/);
  });

  it.concurrent("on an untrusted signer (the --key flag wins over MODELGUARD_TRUSTED_KEYS)", async () => {
    const run = await refusedStart(
      ["--lockfile", EXAMPLE_LOCKFILE, "--cache-dir", goodCache, "--offline", "--key", mallory.publicPath],
      cleanEnv({ MODELGUARD_TRUSTED_KEYS: EXAMPLE_PUBLIC_KEY }),
    );
    expect(run).toMatchObject({ status: 1, stdout: "", opened: false });
    expect(run.stderr).toMatch(/^FAIL \[UNTRUSTED_SIGNER\] model tiny-classifier: .*not trusted/m);
    expect(run.stderr).toMatch(/^FAIL \[UNTRUSTED_SIGNER\] model tiny-regressor: /m);
  });

  it.concurrent("on external data that is not a locked file", async () => {
    // Signed and intact: only the graph's reference to an unlocked file gives it away.
    const model = buildAddModel({ weights: Float32Array.from([1, 2, 3, 4]), dims: [4], external: { location: "model.onnx_data" } });
    const made = await makeCachedModels({ adder: { repo: "org/adder", files: { "onnx/model.onnx": model.model } } });
    made.lockfile.models.adder = withSignature("adder", made.lockfile.models.adder!, alice.privateKey, alice.publicKey);
    await writeLockfile(made.lockfilePath, made.lockfile);
    // The data sits next to the graph in the cache, where a loader by path would find it.
    await writeFile(join(snapshotDir(made.cacheDir, "org/adder", made.lockfile.models.adder!.revision), "onnx/model.onnx_data"), model.externalFiles["model.onnx_data"]!);

    const run = await refusedStart(["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir, "--key", alice.publicPath, "--offline"], cleanEnv());
    expect(run).toMatchObject({ status: 1, stdout: "", opened: false });
    expect(run.stderr).toMatch(/^FAIL \[EXTERNAL_DATA_UNVERIFIED\] model adder, file onnx\/model\.onnx: /m);
  });

  it.concurrent("on an unknown flag, with exit 2", async () => {
    const run = await refusedStart(["--no-such-flag"], cleanEnv());
    expect(run).toMatchObject({ status: 2, stdout: "", opened: false });
    expect(run.stderr).toMatch(/FAIL \[USAGE\]: Unknown option '--no-such-flag'/);
  });
});

describe("npm run serve (examples/serve-example.ts)", () => {
  it("fills the example cache and serves the bundled models", async () => {
    const exampleCache = join(work, "serve-example-cache");
    const svc = await serve(SERVE_EXAMPLE, ["--port", "0"], cleanEnv({ MODELGUARD_EXAMPLE_CACHE: exampleCache, HOST: "" }));
    try {
      expect(existsSync(join(snapshotDir(exampleCache, REGRESSOR_REPO, regressorRevision), "model.onnx"))).toBe(true);
      const r = await post(`${svc.url}/v1/models/${REGRESSOR_MODEL}/infer`, regressorInput([[2, 4, 8]]));
      expectClose(r.body.outputs.y.data, regress([[2, 4, 8]]));
    } finally {
      svc.child.kill("SIGTERM");
      expect(await svc.exited).toBe(0);
    }
  });

  it("with --hub, fetches into an empty cache, is ready on its first answer, and cleans up on SIGTERM", async () => {
    const port = await freePort();
    // No HOST: `npm run serve` itself keeps to loopback.
    const run = launch(SERVE_EXAMPLE, ["--hub", "--port", String(port)], cleanEnv({ HOST: "" }));
    // Knock from the start: the first answer /readyz ever gives must be 200.
    let first: number | undefined;
    while (first === undefined) {
      first = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => undefined);
      if (first === undefined) {
        expect(run.child.exitCode, run.stderr()).toBeNull();
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    expect(first).toBe(200);
    expect(run.stdout()).toBe(`listening on http://127.0.0.1:${port}\n`);
    // Every locked file, graph or not, was fetched into the empty cache while the models loaded.
    expect(run.stderr()).not.toMatch(/FAIL/);
    const features = [0.5, -1, 2, 0];
    const c = await post(`http://127.0.0.1:${port}/v1/models/${EXAMPLE_MODEL}/infer`, classifierInput(features));
    expectClose(c.body.outputs.probabilities.data, classify(features));

    const cache = /the cache (\S+) starts empty/.exec(run.stderr())![1]!;
    expect(existsSync(join(snapshotDir(cache, EXAMPLE_REPO, classifierRevision), "onnx/model.onnx_data"))).toBe(true);
    expect(existsSync(join(snapshotDir(cache, EXAMPLE_REPO, classifierRevision), "config.json"))).toBe(true);
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(existsSync(cache)).toBe(false);
  });
});
