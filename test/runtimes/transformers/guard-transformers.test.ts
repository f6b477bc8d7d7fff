import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { env, pipeline, type Tensor } from "@huggingface/transformers";
import { ModelGuard } from "../../../src/guard/guard.js";
import { isModelGuardError, type ErrorCode } from "../../../src/errors.js";
import { snapshotFilePath } from "../../../src/hub/cache-layout.js";
import { guardTransformers } from "../../../src/transformers.js";
import { TransformersFileServer } from "../../../src/runtimes/transformers/transformers-file-server.js";
import { tinyBertConfig, tinyBertFiles } from "../../../examples/tiny-bert.js";
import { makeCachedModels, REVISION, tempDir } from "../../helpers/fixtures.js";
import { rejection } from "../../helpers/errors.js";
import { refuseNetworkInEachTest } from "../../helpers/refuse-network.js";
import { expectValidAuditEvent } from "../../helpers/audit-schema.js";
import type { AuditEvent } from "../../../src/audit/audit-event.js";

const REPO = "modelguard-tests/tiny-bert";
const TEXT = ["Hello world, the cat sat!", "verified bytes load fast"];
const ENV_FIELDS = [
  "allowLocalModels",
  "allowRemoteModels",
  "remoteHost",
  "remotePathTemplate",
  "useFSCache",
  "useBrowserCache",
  "useCustomCache",
  "customCache",
  "fetch",
  "localModelPath",
  "cacheDir",
  "experimental_useCrossOriginStorage",
] as const;
const original = Object.fromEntries(ENV_FIELDS.map((k) => [k, env[k]]));
const network = refuseNetworkInEachTest();
let dirs: string[] = [];

afterEach(async () => {
  Object.assign(env, original);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function track(dir: Promise<string>): Promise<string> {
  const d = await dir;
  dirs.push(d);
  return d;
}

/** The model locked (at REVISION) and cached in the Hugging Face layout, and a guard over it. */
async function lockedModel(
  files: Record<string, Uint8Array>,
  extra: Record<string, { repo: string; files: Record<string, Uint8Array> }> = {},
  audit?: (event: AuditEvent) => void,
) {
  const cached = await makeCachedModels({ "tiny-bert": { repo: REPO, files }, ...extra });
  dirs.push(cached.dir);
  const guard = await ModelGuard.open({ lockfile: cached.lockfilePath, cacheDir: cached.cacheDir, allowUnsigned: true, offline: true, env: {}, ...(audit ? { audit } : {}) });
  return { ...cached, guard };
}

/** Installs the guard and counts calls to the env.fetch it installed (there must be none). */
function guardEnv(guard: ModelGuard) {
  const handle = guardTransformers(env, guard);
  const guardFetch = env.fetch;
  env.fetch = (input: string | URL, init?: unknown) => {
    network.calls.push(`env.fetch ${String(input)}`);
    return guardFetch(input, init);
  };
  return handle;
}

/** The pipeline's embeddings of TEXT, with these env settings for the call (put back after). */
async function embeddingsWith(settings: Partial<typeof env>, options: { dtype?: "fp32" | "q8"; revision?: string } = {}): Promise<Tensor> {
  const saved = Object.fromEntries(Object.keys(settings).map((k) => [k, env[k as keyof typeof env]]));
  Object.assign(env, settings);
  try {
    const embed = await pipeline("feature-extraction", REPO, options);
    const out = await embed(TEXT);
    await embed.dispose();
    return out;
  } finally {
    Object.assign(env, saved);
  }
}

/** What transformers.js computes reading the same files from a local folder, unguarded. */
async function unguardedEmbeddings(files: Record<string, Uint8Array>, options: { dtype?: "fp32" | "q8" } = {}): Promise<Tensor> {
  const root = await track(tempDir("mg-tjs-local-"));
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(root, REPO, path)), { recursive: true });
    await writeFile(join(root, REPO, path), bytes);
  }
  return embeddingsWith({ localModelPath: `${root}/`, allowRemoteModels: false, useFSCache: false }, options);
}

/**
 * What transformers.js computes with a naive custom cache answering the same files as Responses
 * (a cache that checked the bytes, say): graphs are then loaded from bytes, which is when
 * onnxruntime resolves external data transformers.js did not pass by itself.
 */
async function naiveCacheEmbeddings(files: Record<string, Uint8Array>): Promise<Tensor> {
  const customCache = {
    match: async (key: string) => {
      const path = /\/resolve\/[^/]+\/(.*)$/.exec(key)?.[1];
      const bytes = path === undefined ? undefined : files[path];
      return bytes ? new Response(bytes, { headers: { "content-length": String(bytes.length) } }) : undefined;
    },
    put: async () => {},
  };
  return embeddingsWith({ customCache, useCustomCache: true, allowLocalModels: false });
}

/** Through whatever the env holds now (the guard, in the tests below). */
const guardedEmbeddings = (options: { dtype?: "fp32" | "q8"; revision?: string } = {}) => embeddingsWith({}, options);

async function expectRefused(p: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const err = await rejection(p);
  expect(isModelGuardError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(message);
}

describe("guardTransformers", () => {
  for (const externalData of [false, true]) {
    const layout = externalData ? "external data" : "single file";
    it(`serves a pipeline only the verified bytes, equal to an unguarded load, with no fetch (${layout})`, async () => {
      const files = tinyBertFiles({ externalData });
      const expected = await unguardedEmbeddings(files);
      const expectedQ8 = await unguardedEmbeddings(files, { dtype: "q8" });
      const { guard } = await lockedModel(files);
      const handle = guardEnv(guard);
      try {
        const out = await guardedEmbeddings();
        expect(out.dims).toEqual(expected.dims);
        expect(Array.from(out.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
        const q8 = await guardedEmbeddings({ dtype: "q8" });
        expect(Array.from(q8.data as Float32Array)).toEqual(Array.from(expectedQ8.data as Float32Array));
      } finally {
        handle.dispose();
      }
      expect(network.calls).toEqual([]);
    });
  }

  it("refuses a flipped byte in the cache with DIGEST_MISMATCH, as the error pipeline() throws", async () => {
    const files = tinyBertFiles();
    const { guard, cacheDir } = await lockedModel(files);
    const target = snapshotFilePath(cacheDir, REPO, REVISION, "onnx/model.onnx");
    const bytes = await readFile(target);
    bytes[bytes.length - 5]! ^= 0x01;
    await writeFile(target, bytes);
    const handle = guardEnv(guard);
    try {
      await expectRefused(guardedEmbeddings(), "DIGEST_MISMATCH", /onnx\/model\.onnx/);
      // The tokenizer's bytes are checked too.
      const tok = snapshotFilePath(cacheDir, REPO, REVISION, "tokenizer.json");
      await writeFile(tok, Buffer.from((await readFile(tok, "utf8")).replace('"hello"', '"jello"')));
      await expectRefused(guardedEmbeddings(), "DIGEST_MISMATCH", /tokenizer\.json/);
    } finally {
      handle.dispose();
    }
    expect(network.calls).toEqual([]);
  });

  it("refuses a repo the lockfile does not lock, and a file it does not lock, naming the add command", async () => {
    const { "onnx/model_quantized.onnx": _q8, ...withoutQ8 } = tinyBertFiles();
    const { guard } = await lockedModel(withoutQ8);
    const handle = guardEnv(guard);
    try {
      await expectRefused(pipeline("feature-extraction", "someone/other-model"), "MODEL_NOT_LOCKED", /someone\/other-model .*does not lock; lock it with: modelguard add someone\/other-model --preset/);
      // A local folder is no way around the lock.
      const top = await track(tempDir("mg-tjs-folder-"));
      const nested = join(top, "models", "tiny-bert");
      for (const folder of [top, nested]) {
        for (const [path, bytes] of Object.entries(tinyBertFiles())) {
          await mkdir(dirname(join(folder, path)), { recursive: true });
          await writeFile(join(folder, path), bytes);
        }
      }
      await expectRefused(pipeline("feature-extraction", nested), "MODEL_NOT_LOCKED", /names no file of a model repo/);
      await expectRefused(pipeline("feature-extraction", top), "MODEL_NOT_LOCKED", /does not lock/);
      await expectRefused(
        guardedEmbeddings({ dtype: "q8" }),
        "FILE_NOT_LOCKED",
        new RegExp(`onnx/model_quantized\\.onnx, which is not a locked file of ${REPO}@${REVISION}; lock what the pipeline needs with: modelguard add ${REPO}@${REVISION} --name tiny-bert --preset <task>:q8 --update`),
      );
    } finally {
      handle.dispose();
    }
    expect(network.calls).toEqual([]);
  });

  it("answers main and no revision from the locked commit, serves the locked commit, and refuses any other revision", async () => {
    const files = tinyBertFiles();
    const expected = await unguardedEmbeddings(files);
    const { guard } = await lockedModel(files);
    const handle = guardEnv(guard);
    try {
      for (const revision of [undefined, "main", REVISION]) {
        const out = await guardedEmbeddings(revision === undefined ? {} : { revision });
        expect(Array.from(out.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
      }
      // transformers.js reads config.json at main whatever the revision; the other files ask for v2.
      await expectRefused(guardedEmbeddings({ revision: "v2" }), "MODEL_NOT_LOCKED", new RegExp(`at revision v2, .*locked: tiny-bert: ${REVISION}`));
    } finally {
      handle.dispose();
    }
    expect(network.calls).toEqual([]);
  });

  it("never reads transformers.js's local model folder or writes its file cache", async () => {
    const files = tinyBertFiles();
    const expected = await unguardedEmbeddings(files);
    // A different model under the same repo name in the local folder, which unguarded transformers.js would prefer.
    const decoy = await track(tempDir("mg-tjs-decoy-"));
    const other = tinyBertFiles({ quantized: false });
    other["onnx/model.onnx"] = tinyBertFiles()["onnx/model_quantized.onnx"]!;
    for (const [path, bytes] of Object.entries(other)) {
      await mkdir(dirname(join(decoy, REPO, path)), { recursive: true });
      await writeFile(join(decoy, REPO, path), bytes);
    }
    const cacheDir = join(await track(tempDir("mg-tjs-cache-")), "transformers-cache");
    Object.assign(env, { localModelPath: `${decoy}/`, allowLocalModels: true, useFSCache: true, cacheDir });
    const { guard } = await lockedModel(files);
    const handle = guardEnv(guard);
    try {
      const out = await guardedEmbeddings();
      expect(Array.from(out.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
    } finally {
      handle.dispose();
    }
    expect(existsSync(cacheDir)).toBe(false);
    expect(network.calls).toEqual([]);
  });

  it("dispose() puts every env setting back, and a second guard on a guarded env is refused", async () => {
    const { guard } = await lockedModel(tinyBertFiles());
    const before = Object.fromEntries(ENV_FIELDS.map((k) => [k, env[k]]));
    const handle = guardTransformers(env, guard);
    expect(env.customCache).not.toBe(before.customCache);
    expect(env.allowLocalModels).toBe(false);
    expect(() => guardTransformers(env, guard)).toThrow(/already guarded/);
    handle.dispose();
    handle.dispose();
    expect(Object.fromEntries(ENV_FIELDS.map((k) => [k, env[k]]))).toEqual(before);
    expect(env.fetch).toBe(before.fetch);
    guardTransformers(env, guard).dispose();
  });
});

describe("guardTransformers and external data", () => {
  /** Runs the pipeline with the working directory set to a folder holding a decoy `model.onnx_data`. */
  async function inPlantedFolder<T>(fn: () => Promise<T>): Promise<T> {
    const cwd = await track(tempDir("mg-tjs-cwd-"));
    const decoy = new Uint8Array(tinyBertFiles({ externalData: true })["onnx/model.onnx_data"]!.length).fill(0x3f);
    await writeFile(join(cwd, "model.onnx_data"), decoy);
    const saved = process.cwd();
    process.chdir(cwd);
    try {
      return await fn();
    } finally {
      process.chdir(saved);
    }
  }

  /** The external-data model with a config that does not declare it, as a careless or hostile repo has it. */
  function undeclared(): Record<string, Uint8Array> {
    const files = tinyBertFiles({ externalData: true });
    files["config.json"] = Buffer.from(JSON.stringify(tinyBertConfig(false)));
    return files;
  }

  it("shows the attack: with a naive cache, an undeclared external-data graph runs on weights planted in the working directory", async () => {
    const files = undeclared();
    const planted = await inPlantedFolder(() => naiveCacheEmbeddings(files));
    const honest = await naiveCacheEmbeddings(tinyBertFiles());
    expect(Array.from(honest.data as Float32Array)).toEqual(Array.from((await unguardedEmbeddings(tinyBertFiles())).data as Float32Array));
    expect(Array.from(planted.data as Float32Array)).not.toEqual(Array.from(honest.data as Float32Array));
    expect(network.calls).toEqual([]);
  });

  it("refuses a graph whose external data the config does not declare, before onnxruntime sees it", async () => {
    const { guard } = await lockedModel(undeclared());
    const handle = guardEnv(guard);
    try {
      await inPlantedFolder(() =>
        expectRefused(guardedEmbeddings(), "EXTERNAL_DATA_UNVERIFIED", /onnx\/model\.onnx: has external data model\.onnx_data that config\.json does not declare .*working directory/),
      );
    } finally {
      handle.dispose();
    }
    expect(network.calls).toEqual([]);
  });

  it("serves the declared, locked external data, not a planted copy in the working directory", async () => {
    const files = tinyBertFiles({ externalData: true });
    const expected = await unguardedEmbeddings(files);
    const { guard } = await lockedModel(files);
    const handle = guardEnv(guard);
    try {
      const out = await inPlantedFolder(() => guardedEmbeddings());
      expect(Array.from(out.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
    } finally {
      handle.dispose();
    }
  });

  it("refuses external data that is not a locked file of the model, and a tampered data file", async () => {
    const { "onnx/model.onnx_data": _data, ...withoutData } = tinyBertFiles({ externalData: true });
    const unlocked = await lockedModel(withoutData);
    let handle = guardEnv(unlocked.guard);
    try {
      await expectRefused(guardedEmbeddings(), "EXTERNAL_DATA_UNVERIFIED", /onnx\/model\.onnx_data is not a locked file of the model/);
    } finally {
      handle.dispose();
    }
    const { guard, cacheDir } = await lockedModel(tinyBertFiles({ externalData: true }));
    const target = snapshotFilePath(cacheDir, REPO, REVISION, "onnx/model.onnx_data");
    const bytes = await readFile(target);
    bytes[7]! ^= 0x40;
    await writeFile(target, bytes);
    handle = guardEnv(guard);
    try {
      await expectRefused(guardedEmbeddings(), "DIGEST_MISMATCH", /onnx\/model\.onnx_data/);
    } finally {
      handle.dispose();
    }
    expect(network.calls).toEqual([]);
  });

  it("on transformers.js 3.x (which never passes external data in Node), refuses external-data graphs and serves single-file ones", async () => {
    const { guard } = await lockedModel(tinyBertFiles({ externalData: true }), {
      "tiny-bert-single": { repo: `${REPO}-single`, files: tinyBertFiles() },
    });
    const version = env.version;
    (env as { version: string }).version = "3.8.1";
    try {
      const handle = guardEnv(guard);
      try {
        await expectRefused(guardedEmbeddings(), "EXTERNAL_DATA_UNVERIFIED", /transformers\.js 3\.x never hands/);
        const embed = await pipeline("feature-extraction", `${REPO}-single`);
        expect((await embed(TEXT)).dims).toEqual([2, 9, 16]);
        await embed.dispose();
      } finally {
        handle.dispose();
      }
    } finally {
      (env as { version: string }).version = version;
    }
    expect(network.calls).toEqual([]);
  });
});


describe("guardTransformers and audit events", () => {
  it("one transformers.js event per file the pipeline reads; a graph's event lists its data and the config that declares it", async () => {
    const events: AuditEvent[] = [];
    const { guard } = await lockedModel(tinyBertFiles({ externalData: true }), {}, (e) => void events.push(e));
    const handle = guardEnv(guard);
    try {
      await guardedEmbeddings();
    } finally {
      handle.dispose();
    }
    events.forEach(expectValidAuditEvent);
    expect(new Set(events.map((e) => `${e.action} ${e.runtime} ${e.outcome} ${e.model}`))).toEqual(new Set(["load transformers.js verified tiny-bert"]));
    const graphs = events.filter((e) => e.files.some((f) => f.path.endsWith(".onnx")));
    expect(graphs.map((e) => e.files.map((f) => f.path))).toEqual([["config.json", "onnx/model.onnx", "onnx/model.onnx_data"]]);
    // The data file is handed over within the graph's load, never as an event of its own.
    expect(events.filter((e) => e !== graphs[0] && e.files.some((f) => f.path.includes(".onnx")))).toEqual([]);
    expect(events.map((e) => e.files.map((f) => f.path).join())).toContain("tokenizer.json");
  });

  it("a data chunk read before its graph still goes into the graph's event, not into events of its own", async () => {
    const events: AuditEvent[] = [];
    const { guard } = await lockedModel(tinyBertFiles({ externalData: true }), {}, (e) => void events.push(e));
    const server = new TransformersFileServer(guard, 4);
    const request = (path: string) => ({ repo: REPO, revision: "main", path, url: `https://huggingface.co/${REPO}/resolve/main/${path}` });
    const graph = server.respond(request("onnx/model.onnx"));
    const chunk = server.respond(request("onnx/model.onnx_data"));
    const data = await chunk.read();
    expect(data.length).toBe(tinyBertFiles({ externalData: true })["onnx/model.onnx_data"]!.length);
    expect(events).toEqual([]);
    await graph.read();
    events.forEach(expectValidAuditEvent);
    expect(events.map((e) => [e.runtime, e.outcome, e.files.map((f) => f.path)])).toEqual([
      ["transformers.js", "verified", ["config.json", "onnx/model.onnx", "onnx/model.onnx_data"]],
    ]);
  });

  it("a refused graph is one refusal event; a repo that is not locked is one with no repo", async () => {
    const events: AuditEvent[] = [];
    const { guard, cacheDir } = await lockedModel(tinyBertFiles({ externalData: true }), {}, (e) => void events.push(e));
    const target = snapshotFilePath(cacheDir, REPO, REVISION, "onnx/model.onnx_data");
    const bytes = await readFile(target);
    bytes[7]! ^= 0x40;
    await writeFile(target, bytes);
    const handle = guardEnv(guard);
    try {
      await expectRefused(guardedEmbeddings(), "DIGEST_MISMATCH", /onnx\/model\.onnx_data/);
      await expectRefused(pipeline("feature-extraction", "someone/other-model"), "MODEL_NOT_LOCKED", /someone\/other-model/);
    } finally {
      handle.dispose();
    }
    events.forEach(expectValidAuditEvent);
    const refused = events.filter((e) => e.outcome === "refused");
    expect(refused.map((e) => [e.runtime, e.model, e.repo, e.error?.code, e.error?.file])).toEqual([
      ["transformers.js", "tiny-bert", REPO, "DIGEST_MISMATCH", "onnx/model.onnx_data"],
      ["transformers.js", "someone/other-model", null, "MODEL_NOT_LOCKED", "config.json"],
    ]);
  });
});
