import { spawn } from "node:child_process";
import { readdir, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { downloadFileToCacheDir, scanCacheDir } from "@huggingface/hub";
import { afterEach, describe, expect, it } from "vitest";
import ort from "onnxruntime-node";
import { ModelGuard } from "../../src/guard/guard.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { runCli } from "../helpers/run-cli.js";
import { lockedEntry, REVISION } from "../helpers/fixtures.js";
import { onnxRepoFiles, startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv;
afterEach(async () => {
  await env?.hub.close();
});

const BIN = fileURLToPath(new URL("../../bin/modelguard.js", import.meta.url));

async function lockTiny(e: HubTestEnv, args: string[] = []): Promise<string> {
  const sha = await e.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
  const res = await runCli([...e.g, "add", "org/tiny", ...args], { env: e.env });
  expect(res.code).toBe(0);
  return sha;
}

async function partFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((p) => p.endsWith(".part"));
}

describe("the cache is the Hugging Face cache", () => {
  it("is read by @huggingface/hub's own cache scanner", async () => {
    env = await startHubEnv();
    const sha = await lockTiny(env);
    const info = await scanCacheDir(env.cacheDir);
    expect(info.warnings).toEqual([]);
    const repo = info.repos.find((r) => r.id.name === "org/tiny")!;
    const revision = [...repo.revisions].find((r) => r.commitOid === sha)!;
    // @huggingface/hub's scanner does not descend into snapshot subfolders, so it sees the top-level files.
    const seen = [...revision.files].map((f) => [f.path.replace(/.*snapshots\/[0-9a-f]+\//, ""), f.blob.size]);
    expect(seen.sort()).toEqual([
      ["config.json", onnxRepoFiles()["config.json"]!.length],
      ["tokenizer.json", onnxRepoFiles()["tokenizer.json"]!.length],
    ]);
  });

  it("serves files another Hugging Face client cached, verified, with no download", async () => {
    env = await startHubEnv();
    const files = onnxRepoFiles();
    const sha = await env.hub.createRepo("org/tiny", { files });
    for (const path of ["onnx/model.onnx", "onnx/model.onnx_data"]) {
      await downloadFileToCacheDir({ repo: { type: "model", name: "org/tiny" }, path, revision: sha, hubUrl: env.hub.url, cacheDir: env.cacheDir });
    }
    const entry = lockedEntry("org/tiny", { "onnx/model.onnx": files["onnx/model.onnx"]!, "onnx/model.onnx_data": files["onnx/model.onnx_data"]! }, sha);
    await writeLockfile(env.lockfilePath, { lockfileVersion: 1, models: { tiny: entry } });
    env.hub.requests.length = 0;
    const guard = await ModelGuard.open({ lockfile: env.lockfilePath, cacheDir: env.cacheDir, hubUrl: env.hub.url, allowUnsigned: true });
    const session = await guard.createSession("tiny");
    const out = await session.run({ X: new ort.Tensor("float32", Float32Array.from([1, 1, 1, 1]), [4]) });
    expect(Array.from(out.Y!.data as Float32Array)).toEqual([2, 3, 4, 5]);
    expect(env.hub.requests).toEqual([]);
  });
});

/** A locked model whose cache was emptied, and a guard that may fetch from the local Hub. */
async function lockedWithEmptyCache(): Promise<ModelGuard> {
  env = await startHubEnv();
  await lockTiny(env);
  await rm(env.cacheDir, { recursive: true });
  env.hub.requests.length = 0;
  return ModelGuard.open({ lockfile: env.lockfilePath, cacheDir: env.cacheDir, hubUrl: env.hub.url, allowUnsigned: true, env: {} });
}

describe("ModelGuard fetches on demand", () => {
  it("downloads a locked model the cache lacks, loads the very bytes it hashed, and caches them", async () => {
    const guard = await lockedWithEmptyCache();
    const [a, b] = await Promise.all([guard.readFile("tiny", "config.json"), guard.readFile("tiny", "config.json")]);
    expect(a).toBe(b); // single flight: one download for two callers
    expect(env.hub.requests.filter((r) => r.url.includes("config.json"))).toHaveLength(1);
    const session = await guard.createSession("tiny");
    const out = await session.run({ X: new ort.Tensor("float32", Float32Array.from([0, 0, 0, 0]), [4]) });
    expect(Array.from(out.Y!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    // What was fetched was cached: an offline guard loads it without the Hub.
    const offline = await ModelGuard.open({ lockfile: env.lockfilePath, cacheDir: env.cacheDir, allowUnsigned: true, offline: true });
    await expect(offline.createSession("tiny")).resolves.toBeDefined();
  });

  it("many concurrent createSession calls read and verify each file once, and the sessions release", async () => {
    const guard = await lockedWithEmptyCache();
    const sessions = await Promise.all(Array.from({ length: 20 }, () => guard.createSession("tiny")));
    const downloads = env.hub.requests.filter((r) => r.endpoint === "resolve").map((r) => r.path);
    expect(downloads.sort()).toEqual(["onnx/model.onnx", "onnx/model.onnx_data"]);
    const outs = await Promise.all(sessions.map((s) => s.run({ X: new ort.Tensor("float32", Float32Array.from([1, 1, 1, 1]), [4]) })));
    for (const out of outs) expect(Array.from(out.Y!.data as Float32Array)).toEqual([2, 3, 4, 5]);
    await Promise.all(sessions.map((s) => s.release()));
  });

  it("loadAll fills an empty cache, graph or not, but never replaces a cached file that is wrong", async () => {
    const guard = await lockedWithEmptyCache();
    const { report, sessions } = await guard.loadAll();
    expect(report.summary).toMatchObject({ files: 4, filesFailed: 0 });
    expect(env.hub.requests.filter((r) => r.endpoint === "resolve").map((r) => r.path).sort()).toEqual(["config.json", "onnx/model.onnx", "onnx/model.onnx_data", "tokenizer.json"]);
    await sessions.get("tiny")!.release();
    const { appendFile } = await import("node:fs/promises");
    const { snapshotFilePath } = await import("../../src/hub/cache-layout.js");
    const entry = guard.lockedModel("tiny");
    await appendFile(snapshotFilePath(env.cacheDir, "org/tiny", entry.revision, "tokenizer.json"), " ");
    env.hub.requests.length = 0;
    const again = await ModelGuard.open({ lockfile: env.lockfilePath, cacheDir: env.cacheDir, hubUrl: env.hub.url, allowUnsigned: true, env: {} });
    await expect(again.loadAll()).rejects.toMatchObject({ code: "SIZE_MISMATCH", file: "tokenizer.json" });
    expect(env.hub.requests).toEqual([]);
  });

  it("offline, fails NOT_CACHED without a request", async () => {
    env = await startHubEnv();
    await writeLockfile(env.lockfilePath, { lockfileVersion: 1, models: { m: lockedEntry("org/tiny", { "a.json": Buffer.from("{}") }, REVISION) } });
    const guard = await ModelGuard.open({ lockfile: env.lockfilePath, cacheDir: env.cacheDir, hubUrl: env.hub.url, allowUnsigned: true, env: { HF_HUB_OFFLINE: "1" } });
    await expect(guard.readFile("m", "a.json")).rejects.toMatchObject({ code: "NOT_CACHED" });
    expect(env.hub.requests).toEqual([]);
  });
});

describe("pull under pressure", () => {
  it("several processes pulling one model at once all succeed, and the cache stays consistent", async () => {
    env = await startHubEnv();
    await lockTiny(env, ["--include", "**"]);
    await rm(env.cacheDir, { recursive: true });
    env.hub.injectFault({ kind: "slow", path: "weights/big.bin", bytesPerSecond: 400 * 1024, times: 3 });
    const results = await Promise.all([1, 2, 3].map(() => runCli([...env.g, "pull"], { env: env.env })));
    for (const r of results) expect(r).toMatchObject({ code: 0 });
    expect((await runCli([...env.g, "verify", "--allow-unsigned"], { env: env.env })).code).toBe(0);
    expect(await partFiles(env.cacheDir)).toEqual([]);
  });

  it("a process killed mid-download leaves nothing a loader reads, and the next pull succeeds", async () => {
    env = await startHubEnv();
    const sha = await lockTiny(env, ["--include", "**"]);
    const { stat } = await import("node:fs/promises");
    await rm(env.cacheDir, { recursive: true });
    env.hub.injectFault({ kind: "slow", path: "weights/big.bin", bytesPerSecond: 32 * 1024 });
    const child = spawn(process.execPath, [BIN, ...env.g, "pull"], { env: { ...process.env, ...env.env }, stdio: "ignore" });
    // Kill once the body of the big file is flowing.
    for (let i = 0; i < 200 && !env.hub.requests.some((r) => r.url.includes("big.bin") && r.status === 200); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const { snapshotFilePath } = await import("../../src/hub/cache-layout.js");
    await expect(stat(snapshotFilePath(env.cacheDir, "org/tiny", sha, "weights/big.bin"))).rejects.toMatchObject({ code: "ENOENT" });
    const guard = await ModelGuard.open({ lockfile: env.lockfilePath, cacheDir: env.cacheDir, allowUnsigned: true, offline: true });
    await expect(guard.readFile("tiny", "weights/big.bin")).rejects.toMatchObject({ code: "NOT_CACHED" });
    const again = await runCli([...env.g, "pull"], { env: env.env });
    expect(again.code).toBe(0);
    expect((await runCli([...env.g, "verify", "--allow-unsigned"], { env: env.env })).code).toBe(0);
  });
});
