import { spawn } from "node:child_process";
import { readFile, readdir, rm, stat, lstat, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { sha256Hex } from "../../src/digest/sha256.js";
import { runCli } from "../helpers/run-cli.js";
import { makeKeys } from "../helpers/fixtures.js";
import { defaultLfsRule, gitBlobOid } from "../../local-hub/index.js";
import { onnxRepoFiles, startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv;
afterEach(async () => {
  await env?.hub.close();
});

async function lock(e: HubTestEnv) {
  return JSON.parse(await readFile(e.lockfilePath, "utf8"));
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) if (!entry.isDirectory()) out.push(join(entry.parentPath, entry.name));
  return out;
}

describe("modelguard add", () => {
  it("locks the default ONNX selection at the resolved commit, with external data, across paginated listings", async () => {
    env = await startHubEnv(2);
    const files = onnxRepoFiles();
    const sha = await env.hub.createRepo("org/tiny", { files });
    const res = await runCli([...env.g, "add", "org/tiny"], { env: env.env });
    expect(res.stderr).toMatch(/locked tiny: org\/tiny@/);
    expect(res.code).toBe(0);
    const entry = (await lock(env)).models.tiny;
    expect(entry).toMatchObject({ repo: "org/tiny", revision: sha, ref: "main" });
    expect(Object.keys(entry.files).sort()).toEqual(["config.json", "onnx/model.onnx", "onnx/model.onnx_data", "tokenizer.json"]);
    for (const [path, f] of Object.entries(entry.files) as [string, { size: number; sha256: string }][]) {
      expect(f).toEqual({ size: files[path]!.length, sha256: sha256Hex(files[path]!) });
      const snap = snapshotFilePath(env.cacheDir, "org/tiny", sha, path);
      expect((await lstat(snap)).isSymbolicLink()).toBe(true);
      // Named as huggingface_hub names blobs: LFS files by their sha256, git files by their blob id.
      const blob = (await readlink(snap)).split("/").pop();
      expect(blob).toBe(defaultLfsRule(path, f.size) ? f.sha256 : gitBlobOid(files[path]!));
      expect(await readlink(snap)).toMatch(/^(\.\.\/)+blobs\//);
      expect((await readFile(snap)).equals(Buffer.from(files[path]!))).toBe(true);
    }
    expect(await readFile(join(env.cacheDir, "models--org--tiny", "refs", "main"), "utf8")).toBe(sha);
    // Pagination was followed: more than one tree page was asked for.
    expect(env.hub.requests.filter((r) => r.url.includes("/tree/")).length).toBeGreaterThan(1);
  });

  it("takes --include/--exclude globs, LFS files from the CDN, and a tag", async () => {
    env = await startHubEnv();
    const files = onnxRepoFiles();
    const sha = await env.hub.createRepo("org/tiny", { files, tags: ["v1"] });
    const res = await runCli([...env.g, "add", "org/tiny@v1", "--name", "t", "--include", "weights/**", "--include", "*.md", "--exclude", "README.md"], { env: env.env });
    expect(res.code).toBe(0);
    const entry = (await lock(env)).models.t;
    expect(entry).toMatchObject({ revision: sha, ref: "v1" });
    expect(Object.keys(entry.files)).toEqual(["weights/big.bin"]);
    expect(env.hub.requests.some((r) => r.url.includes("big.bin") && r.status === 302)).toBe(true);
  });

  it("refuses wrong bytes served under the right digest: exit 1, no lockfile, nothing cached", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    env.hub.injectFault({ kind: "wrong-bytes", path: "onnx/model.onnx_data", times: Infinity });
    const res = await runCli([...env.g, "add", "org/tiny"], { env: env.env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/DIGEST_MISMATCH|onnx\/model\.onnx_data has (sha256|git blob id)/);
    await expect(stat(env.lockfilePath)).rejects.toMatchObject({ code: "ENOENT" });
    const cached = await allFiles(env.cacheDir).catch(() => []);
    expect(cached.filter((p) => p.includes("/snapshots/") || p.includes("/blobs/"))).toEqual([]);
  });

  it("reports drift when the branch moved after locking, and re-pins only with --update", async () => {
    env = await startHubEnv();
    const first = await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    expect((await runCli([...env.g, "add", "org/tiny"], { env: env.env })).code).toBe(0);
    env.hub.requests.length = 0;
    const same = await runCli([...env.g, "add", "org/tiny"], { env: env.env });
    expect(same).toMatchObject({ code: 0 });
    expect(same.stderr).toMatch(/up to date/);
    // What is cached at that commit and still matches the Hub's tree is not downloaded again.
    expect(env.hub.requests.filter((r) => r.endpoint === "resolve" || r.endpoint === "cdn")).toEqual([]);
    const moved = await env.hub.commit("org/tiny", { "config.json": Buffer.from('{"model_type":"add","v":2}\n') });
    const before = await readFile(env.lockfilePath, "utf8");
    const drift = await runCli([...env.g, "add", "org/tiny"], { env: env.env });
    expect(drift.code).toBe(1);
    expect(drift.stderr).toContain(`revision: ${first} -> ${moved}`);
    expect(drift.stderr).toMatch(/~ config\.json/);
    expect(await readFile(env.lockfilePath, "utf8")).toBe(before);
    // The pinned bytes still load from the pinned commit.
    expect((await runCli([...env.g, "verify", "--allow-unsigned"], { env: env.env })).code).toBe(0);
    expect((await runCli([...env.g, "add", "org/tiny", "--update"], { env: env.env })).code).toBe(0);
    expect((await lock(env)).models.tiny.revision).toBe(moved);
  });

  it("refuses a default selection with no model file, naming it; files chosen with --include are locked with a note", async () => {
    env = await startHubEnv();
    const files = onnxRepoFiles();
    await env.hub.createRepo("org/weights-only", { files: { "config.json": files["config.json"]!, "tokenizer.json": files["tokenizer.json"]!, "model.safetensors": Buffer.alloc(64, 1) } });
    const refused = await runCli([...env.g, "add", "org/weights-only"], { env: env.env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/org\/weights-only@main: the default selection \(config\.json, tokenizer\.json\) holds no model file \(\.onnx for onnxruntime, \.gguf for node-llama-cpp\); it has none \(.*model\.safetensors.*\): choose a repo with an ONNX or GGUF export\. Nothing was locked/);
    await expect(readFile(env.lockfilePath)).rejects.toMatchObject({ code: "ENOENT" });
    // A repo whose ONNX graph is not where the default looks: the message names it.
    await env.hub.createRepo("org/elsewhere", { files: { "config.json": files["config.json"]!, "exports/encoder.onnx": files["onnx/model.onnx"]! } });
    const named = await runCli([...env.g, "add", "org/elsewhere"], { env: env.env });
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/it has exports\/encoder\.onnx: name the one to lock with --include/);
    const chosen = await runCli([...env.g, "add", "org/weights-only", "--include", "tokenizer.json"], { env: env.env });
    expect(chosen.code).toBe(0);
    expect(chosen.stderr).toMatch(/note: the files chosen hold no model file a runtime loads \(tokenizer\.json\); locked as asked/);
  });

  it("says when the repo is already locked under another name, and what --update dropped", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    expect((await runCli([...env.g, "add", "org/tiny"], { env: env.env })).code).toBe(0);
    const again = await runCli([...env.g, "add", "org/tiny", "--name", "tiny-copy"], { env: env.env });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/note: org\/tiny is also locked as tiny in .*models\.lock\.json/);
    const keys = await makeKeys(env.dir);
    expect((await runCli([...env.g, "sign", "tiny", "--key", keys.privatePath], { env: env.env })).code).toBe(0);
    const first = (await lock(env)).models.tiny.revision as string;
    await env.hub.commit("org/tiny", { "config.json": Buffer.from('{"model_type":"add","v":2}\n') });
    const updated = await runCli([...env.g, "add", "org/tiny", "--update"], { env: env.env });
    expect(updated.code).toBe(0);
    expect(updated.stderr).toContain(`dropped 1 signature(s) of the old entry (they signed org/tiny@${first}, not the new files): sign tiny again with \`modelguard sign tiny --key KEY\``);
    expect((await lock(env)).models.tiny.signatures).toBeUndefined();
    const json = await runCli([...env.g, "--json", "add", "org/tiny", "--name", "tiny-copy", "--update"], { env: env.env });
    expect(JSON.parse(json.stdout)).toMatchObject({ name: "tiny-copy", droppedSignatures: 0, alsoLockedAs: ["tiny"] });
  });

  it("gives Hub errors exit 3 with the Hub's reason", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    const missing = await runCli([...env.g, "add", "org/nope"], { env: env.env });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/HTTP 40[14]: repository not found/);
    const rev = await runCli([...env.g, "add", "org/tiny@no-such-branch"], { env: env.env });
    expect(rev.code).toBe(3);
    expect(rev.stderr).toMatch(/revision not found/);
    await env.hub.setGated("org/tiny", "hf_good");
    const gated = await runCli([...env.g, "add", "org/tiny"], { env: env.env });
    expect(gated.code).toBe(3);
    expect(gated.stderr).toMatch(/gated/i);
    expect((await runCli([...env.g, "add", "org/tiny"], { env: { ...env.env, HF_TOKEN: "hf_good" } })).code).toBe(0);
    await env.hub.createRepo("org/secret", { files: onnxRepoFiles(), private: "hf_owner" });
    const hidden = await runCli([...env.g, "add", "org/secret"], { env: env.env });
    expect(hidden.code).toBe(3);
    expect(hidden.stderr).toMatch(/repository not found \(or private: set HF_TOKEN\)/);
    expect((await runCli([...env.g, "add", "org/secret"], { env: { ...env.env, HF_TOKEN: "hf_owner" } })).code).toBe(0);
  });

  it("pull names a locked file the Hub does not have (exit 3)", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    expect((await runCli([...env.g, "add", "org/tiny"], { env: env.env })).code).toBe(0);
    const lock = JSON.parse(await readFile(env.lockfilePath, "utf8"));
    lock.models.tiny.files["missing.json"] = { size: 2, sha256: "0".repeat(64) };
    await writeFile(env.lockfilePath, JSON.stringify(lock));
    const res = await runCli([...env.g, "pull"], { env: env.env });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/missing\.json: HTTP 404: file not found at this revision/);
  });
});

describe("modelguard pull", () => {
  async function locked(): Promise<HubTestEnv> {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    expect((await runCli([...env.g, "add", "org/tiny", "--include", "**"], { env: env.env })).code).toBe(0);
    await rm(env.cacheDir, { recursive: true, force: true });
    env.hub.requests.length = 0;
    return env;
  }

  it("fills an empty cache, verifying every byte, then finds it all cached", async () => {
    const e = await locked();
    const res = await runCli([...e.g, "pull"], { env: e.env });
    expect(res.stderr).toMatch(/pulled 7 files: 7 downloaded/);
    expect(res.code).toBe(0);
    expect((await runCli([...e.g, "verify", "--allow-unsigned"], { env: e.env })).code).toBe(0);
    e.hub.requests.length = 0;
    const again = await runCli([...e.g, "pull"], { env: e.env });
    expect(again.stderr).toMatch(/7 already cached/);
    expect(e.hub.requests).toEqual([]);
  });

  it("offline: exit 3 NOT_CACHED without a request; with a cache, succeeds", async () => {
    const e = await locked();
    const offline = await runCli([...e.g, "pull"], { env: { ...e.env, HF_HUB_OFFLINE: "1" } });
    expect(offline.code).toBe(3);
    expect(offline.stderr).toMatch(/not cached and HF_HUB_OFFLINE is set/);
    expect(e.hub.requests).toEqual([]);
    expect((await runCli([...e.g, "pull"], { env: e.env })).code).toBe(0);
    e.hub.requests.length = 0;
    expect((await runCli([...e.g, "pull"], { env: { ...e.env, HF_HUB_OFFLINE: "1" } })).code).toBe(0);
    expect(e.hub.requests).toEqual([]);
  });

  it.each([
    ["a connection reset mid-body (resumed with Range)", { kind: "reset" as const, afterBytes: 100 * 1024 }, /bytes=\d+-/],
    ["a truncated body", { kind: "truncate" as const }, undefined],
    ["a 500", { kind: "status-500" as const, times: 2 }, undefined],
    ["a 429 with Retry-After", { kind: "status-429" as const, retryAfterSeconds: 1 }, undefined],
    ["a server that ignores Range after a reset", { kind: "reset" as const, afterBytes: 1000, then: "no-range" as const }, undefined],
  ])("retries %s and caches only verified bytes", async (_what, { then, ...fault }: { kind: "reset" | "truncate" | "status-500" | "status-429"; then?: "no-range" }, rangeHeader) => {
    const e = await locked();
    e.hub.injectFault({ ...fault, path: "weights/big.bin" });
    if (then) e.hub.injectFault({ kind: then, path: "weights/big.bin" });
    const res = await runCli([...e.g, "pull"], { env: e.env });
    expect(res.stderr).toMatch(/retrying/);
    expect(res.code).toBe(0);
    if (rangeHeader) expect(e.hub.requests.some((r) => r.url.includes("big.bin") && rangeHeader.test(r.range ?? ""))).toBe(true);
    expect((await runCli([...e.g, "verify", "--allow-unsigned"], { env: e.env })).code).toBe(0);
  });

  it.each([
    ["wrong bytes under the right digest", { kind: "wrong-bytes" as const }, 1, /DIGEST_MISMATCH|sha256/],
    ["a body longer than the locked size", { kind: "extra-bytes" as const }, 1, /runs past|SIZE_MISMATCH|serves/],
    ["a 500 on every try", { kind: "status-500" as const }, 3, /HTTP 500/],
  ])("refuses %s: nothing is cached for that file", async (_what, fault, code, message) => {
    const e = await locked();
    e.hub.injectFault({ ...fault, path: "weights/big.bin", times: Infinity });
    const res = await runCli([...e.g, "pull"], { env: e.env });
    expect(res.code).toBe(code);
    expect(res.stderr).toMatch(message);
    const cached = await allFiles(e.cacheDir);
    expect(cached.some((p) => p.endsWith("big.bin"))).toBe(false);
    expect(cached.some((p) => p.endsWith(".part"))).toBe(false);
  });

  it("replaces a corrupted cached file", async () => {
    const e = await locked();
    expect((await runCli([...e.g, "pull"], { env: e.env })).code).toBe(0);
    const entry = (await lock(e)).models.tiny;
    const p = snapshotFilePath(e.cacheDir, "org/tiny", entry.revision, "config.json");
    await rm(p);
    await writeFile(p, "corrupted");
    const res = await runCli([...e.g, "pull"], { env: e.env });
    expect(res.stderr).toMatch(/1 repaired/);
    expect((await runCli([...e.g, "verify", "--allow-unsigned"], { env: e.env })).code).toBe(0);
  });
});

/** Runs a shell command on a pseudo-terminal (`script`), as from a person's shell; async, so the in-process Hub keeps answering. */
function inTerminal(command: string, extraEnv: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { env: { ...process.env, ...extraEnv }, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout }));
  });
}

describe("progress", () => {
  it("draws per-file bars and a total on a terminal, and nothing off one or with --quiet", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    expect((await runCli([...env.g, "add", "org/tiny", "--include", "**"], { env: env.env })).code).toBe(0);
    await rm(env.cacheDir, { recursive: true, force: true });
    const plain = await runCli([...env.g, "pull"], { env: env.env });
    expect(plain.stderr).not.toMatch(/total|ETA/);
    await rm(env.cacheDir, { recursive: true, force: true });
    // `script` gives the CLI a pseudo-terminal, as a person's shell would.
    const bin = new URL("../../bin/modelguard.js", import.meta.url).pathname;
    const command = [process.execPath, bin, ...env.g, "pull"].map((a) => `'${a}'`).join(" ");
    // Slow enough that the bars get drawn (they redraw a few times a second).
    env.hub.injectFault({ kind: "slow", path: "weights/big.bin", bytesPerSecond: 600 * 1024 });
    const tty = await inTerminal(command, env.env);
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/total/);
    expect(tty.stdout).toMatch(/weights\/big\.bin/);
    expect(tty.stdout).toMatch(/\d+(\.\d)? [KMG]?B\/\d+(\.\d)? [KMG]?B \| .*\/s \| ETA/);
    expect(tty.stdout).not.toMatch(/\{\w+\}/); // every placeholder filled in
    await rm(env.cacheDir, { recursive: true, force: true });
    const quiet = await inTerminal(`${command} --quiet`, env.env);
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).not.toMatch(/ETA/);
  });
});
