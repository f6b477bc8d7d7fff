/**
 * A Hub that stalls, trickles or pages forever must not keep a command waiting: every request has
 * an idle limit, every download and listing a deadline, and a listing a cap on pages and entries.
 * Short limits through the documented variables and options keep these tests fast.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { readdir, readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { ModelGuard } from "../../src/guard/guard.js";
import { listRepoFiles } from "../../src/hub/list-repo-files.js";
import { resolveHubOptions } from "../../src/hub/hub-options.js";
import { createHubFetch } from "../../src/hub/hub-fetch.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { lockedEntry } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";
import { onnxRepoFiles, startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv;
afterEach(async () => {
  await env?.hub.close();
});

async function locked(): Promise<HubTestEnv> {
  env = await startHubEnv();
  const files = onnxRepoFiles();
  const revision = await env.hub.createRepo("org/tiny", { files });
  await writeLockfile(env.lockfilePath, { lockfileVersion: 1, models: { tiny: lockedEntry("org/tiny", files, revision) } });
  return env;
}

async function parts(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((p) => p.endsWith(".part") || p.endsWith("big.bin"));
}

describe("downloads", () => {
  it("a body that stalls once is abandoned after the idle timeout and resumed: pull succeeds", async () => {
    const e = await locked();
    e.hub.injectFault({ kind: "stall", path: "weights/big.bin", afterBytes: 100 * 1024 });
    const res = await runCli([...e.g, "pull"], { env: { ...e.env, HF_HUB_DOWNLOAD_TIMEOUT: "0.5" }, timeoutMs: 30_000 });
    expect(res.stderr).toMatch(/retrying .*big\.bin.*no data from the Hub for 0\.5 s/);
    expect(res.code).toBe(0);
    // Resumed where the bytes stopped (up to 100 KiB: under load the idle limit may hit mid-send).
    const ranges = e.hub.requests.filter((r) => r.path === "weights/big.bin" && r.range !== undefined).map((r) => r.range);
    expect(ranges.some((r) => /^bytes=[1-9]\d*-$/.test(r!) && Number(r!.slice(6, -1)) <= 102400)).toBe(true);
    expect(res.timedOut).toBeUndefined();
  });

  it("a body that trickles (one byte every 50 ms) stops at the deadline: exit 3, nothing cached", async () => {
    const e = await locked();
    e.hub.injectFault({ kind: "slow", path: "weights/big.bin", bytesPerSecond: 20, times: Infinity });
    const res = await runCli([...e.g, "pull"], { env: { ...e.env, MODELGUARD_DOWNLOAD_DEADLINE: "1.5" }, timeoutMs: 30_000 });
    expect(res.timedOut).toBeUndefined();
    expect(res.stderr).toMatch(/weights\/big\.bin: not done within the deadline of 1\.5 s \(MODELGUARD_DOWNLOAD_DEADLINE\)/);
    expect(res.code).toBe(3);
    expect(await parts(e.cacheDir)).toEqual([]);
  });

  it("the library takes the same limits as options: a stalled fetch on demand is FETCH_FAILED", async () => {
    const e = await locked();
    e.hub.injectFault({ kind: "stall", path: "weights/big.bin", afterBytes: 1000, times: Infinity });
    const guard = await ModelGuard.open({
      lockfile: e.lockfilePath,
      cacheDir: e.cacheDir,
      hubUrl: e.hub.url,
      allowUnsigned: true,
      env: {},
      timeouts: { idleMs: 200, deadlineMs: 1500 },
    });
    await expect(guard.readFile("tiny", "weights/big.bin")).rejects.toMatchObject({ code: "FETCH_FAILED", model: "tiny", file: "weights/big.bin" });
    expect(await parts(e.cacheDir)).toEqual([]);
  });

  it("refuses limits that are no positive number", async () => {
    const e = await locked();
    const res = await runCli([...e.g, "pull"], { env: { ...e.env, HF_HUB_DOWNLOAD_TIMEOUT: "soon" } });
    expect(res.stderr).toMatch(/HF_HUB_DOWNLOAD_TIMEOUT must be a positive number of seconds/);
    expect(res.code).toBe(2);
    await expect(ModelGuard.open({ lockfile: e.lockfilePath, timeouts: { idleMs: -1 } })).rejects.toMatchObject({ code: "USAGE" });
  });

  it("refuses a Hub URL fetch cannot parse at once (exit 2), instead of retrying it as an unreachable Hub", async () => {
    const e = await locked();
    const res = await runCli([...e.g, "pull"], { env: { ...e.env, HF_ENDPOINT: "http://127.0.0.1:PORT" } });
    expect(res.stderr).toBe('modelguard: the Hub URL (HF_ENDPOINT, or the hubUrl option) must be an http or https URL, got "http://127.0.0.1:PORT"\n');
    expect(res.code).toBe(2);
    expect(() => resolveHubOptions({ hubUrl: "huggingface.co" })).toThrow(expect.objectContaining({ code: "USAGE" }));
    expect(resolveHubOptions({ env: { HF_ENDPOINT: "https://mirror.example/hf/" } }).hubUrl).toBe("https://mirror.example/hf");
  });
});

describe("listings", () => {
  it("add against a Hub that pages forever stops at the entry cap: exit 3, no lockfile", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    env.hub.injectFault({ kind: "endless-pages", entriesPerPage: 5000 });
    const res = await runCli([...env.g, "add", "org/tiny"], { env: env.env, timeoutMs: 60_000 });
    expect(res.timedOut).toBeUndefined();
    expect(res.stderr).toMatch(/the Hub lists more than 100000 entries; refusing to go on/);
    expect(res.code).toBe(3);
    await expect(readFile(env.lockfilePath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("empty pages forever stop at the page cap", async () => {
    env = await startHubEnv();
    const sha = await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    env.hub.injectFault({ kind: "endless-pages", entriesPerPage: 0 });
    const hub = resolveHubOptions({ hubUrl: env.hub.url, cacheDir: env.cacheDir, env: {} });
    await expect(listRepoFiles("org/tiny", sha, hub, createHubFetch(), { maxPages: 20 })).rejects.toMatchObject({
      code: "FETCH_FAILED",
      message: expect.stringMatching(/still paging after 20 pages/),
    });
  });

  it("an API answer that stalls or trickles is cut off by the idle limit and the deadline", async () => {
    // A hostile Hub of our own: the model info answer starts, then nothing (or a byte a while).
    const server = createServer((req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      if (req.url?.includes("trickle")) {
        const timer = setInterval(() => res.write(" "), 50);
        res.on("close", () => clearInterval(timer));
      } else res.write("{");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { resolveRevision } = await import("../../src/hub/resolve-revision.js");
      const fetchImpl = createHubFetch({ timeouts: { idleMs: 200 }, retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 } });
      const stall = resolveHubOptions({ hubUrl: url, env: {}, timeouts: { idleMs: 200 } });
      await expect(resolveRevision("org/stall", "main", stall, fetchImpl)).rejects.toMatchObject({ code: "FETCH_FAILED", message: expect.stringMatching(/no data from the Hub/) });
      const trickle = resolveHubOptions({ hubUrl: url, env: {}, timeouts: { idleMs: 200, deadlineMs: 800 } });
      await expect(resolveRevision("org/trickle", "main", trickle, fetchImpl)).rejects.toMatchObject({ code: "FETCH_FAILED", message: expect.stringMatching(/deadline of 0\.8 s/) });
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
