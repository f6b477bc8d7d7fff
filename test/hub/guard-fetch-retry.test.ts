/**
 * `ModelGuard.open({ fetch, retry, onRetry })`: every Hub call of the guard goes through the
 * caller's `fetch` (as `@huggingface/hub` functions take one) under the caller's retry policy, in
 * the one retry loop that API calls use too, reporting retries in one shape.
 */
import { readdir } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/digest/sha256.js";
import type { ModelGuardError } from "../../src/errors.js";
import { ModelGuard } from "../../src/guard/guard.js";
import { hubFetchFor, resolveHubOptions } from "../../src/hub/hub-options.js";
import { resolveRevision } from "../../src/hub/resolve-revision.js";
import type { RetryInfo } from "../../src/hub/retry.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { lockedEntry } from "../helpers/fixtures.js";
import { onnxRepoFiles, startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv | undefined;
afterEach(async () => {
  await env?.hub.close();
  env = undefined;
});

const files = onnxRepoFiles();

async function locked(): Promise<HubTestEnv> {
  env = await startHubEnv();
  const revision = await env.hub.createRepo("org/tiny", { files });
  await writeLockfile(env.lockfilePath, { lockfileVersion: 1, models: { tiny: lockedEntry("org/tiny", files, revision) } });
  return env;
}

/** A fetch that counts its calls by URL and passes them on to the global one. */
function countingFetch(): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: (input, init) => {
      calls.push(input instanceof Request ? input.url : String(input));
      return fetch(input, init);
    },
  };
}

const FAST = { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

async function open(e: HubTestEnv, options: Partial<Parameters<typeof ModelGuard.open>[0]> = {}): Promise<ModelGuard> {
  return ModelGuard.open({ lockfile: e.lockfilePath, cacheDir: e.cacheDir, hubUrl: e.hub.url, allowUnsigned: true, env: {}, ...options });
}

describe("ModelGuard.open({ fetch, retry, onRetry })", () => {
  it("downloads a locked file through the caller's fetch, retrying 503s as the policy says", async () => {
    const e = await locked();
    const counting = countingFetch();
    const retries: RetryInfo[] = [];
    e.hub.injectFault({ kind: "status-503", path: "weights/big.bin", times: 2 });
    const guard = await open(e, { fetch: counting.fetch, retry: FAST, onRetry: (info) => retries.push(info) });
    const bytes = await guard.readFile("tiny", "weights/big.bin");
    expect(sha256Hex(bytes)).toBe(sha256Hex(files["weights/big.bin"]!));
    // Two 503s, then the file: three calls of the caller's fetch for it, two retries reported.
    expect(counting.calls.filter((u) => u.endsWith("/weights/big.bin"))).toHaveLength(3);
    expect(retries).toHaveLength(2);
    expect(retries.map((r) => [r.attempt, r.reason])).toEqual([[1, "HTTP 503"], [2, "HTTP 503"]]);
    expect(retries[0]!.url).toMatch(/\/org\/tiny\/resolve\/[0-9a-f]{40}\/weights\/big\.bin$/);
    expect(retries.every((r) => r.delayMs >= 1 && r.delayMs <= 5)).toBe(true);
    // Small (non-LFS) files take the same road.
    await guard.readFile("tiny", "config.json");
    expect(counting.calls.filter((u) => u.endsWith("/config.json"))).toHaveLength(1);
  });

  it("gives up after the policy's attempts: FETCH_FAILED, the caller's fetch called exactly that often, nothing cached", async () => {
    const e = await locked();
    const counting = countingFetch();
    e.hub.injectFault({ kind: "status-503", path: "config.json", times: Infinity });
    const guard = await open(e, { fetch: counting.fetch, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    const err = (await guard.readFile("tiny", "config.json").catch((x: unknown) => x)) as ModelGuardError;
    expect(err).toMatchObject({ code: "FETCH_FAILED", model: "tiny", file: "config.json" });
    expect(err.message).toMatch(/HTTP 503, after 2 attempts/);
    expect(counting.calls.filter((u) => u.endsWith("/config.json"))).toHaveLength(2);
    expect((await readdir(e.cacheDir, { recursive: true })).filter((p) => p.endsWith("config.json") || p.endsWith(".part"))).toEqual([]);
  });

  it("refuses a retry policy that cannot work", async () => {
    const e = await locked();
    await expect(open(e, { retry: { attempts: 0 } })).rejects.toMatchObject({ code: "USAGE" });
    await expect(open(e, { retry: { baseDelayMs: -1 } })).rejects.toMatchObject({ code: "USAGE" });
  });

  it("a download that is not the locked file fails DIGEST_MISMATCH with expected and actual on the error", async () => {
    const e = await locked();
    e.hub.injectFault({ kind: "wrong-bytes", path: "config.json", times: Infinity });
    const guard = await open(e, { retry: FAST });
    const err = (await guard.readFile("tiny", "config.json").catch((x: unknown) => x)) as ModelGuardError;
    const config = files["config.json"]!;
    expect(err).toMatchObject({ code: "DIGEST_MISMATCH", model: "tiny", file: "config.json" });
    expect(err.message).toMatch(/nothing was cached/);
    expect(err.expected).toEqual({ size: config.length, sha256: sha256Hex(config) });
    expect(err.actual?.size).toBe(config.length);
    expect(err.actual?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(err.actual?.sha256).not.toBe(sha256Hex(config));
  });
});

describe("API calls take the same fetch, policy and onRetry shape", () => {
  it("resolving a revision through hubFetchFor retries a 503 through the caller's fetch", async () => {
    const e = await locked();
    const counting = countingFetch();
    const retries: RetryInfo[] = [];
    const hub = resolveHubOptions({ hubUrl: e.hub.url, cacheDir: e.cacheDir, env: {}, fetch: counting.fetch, retry: FAST, onRetry: (info) => retries.push(info) });
    e.hub.injectFault({ kind: "status-503", endpoint: "api", times: 1 });
    const revision = await resolveRevision("org/tiny", "main", hub, hubFetchFor(hub));
    expect(revision).toMatch(/^[0-9a-f]{40}$/);
    expect(counting.calls.length).toBeGreaterThanOrEqual(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, reason: "HTTP 503" });
    expect(retries[0]!.url).toContain("/api/models/org/tiny");
  });
});
