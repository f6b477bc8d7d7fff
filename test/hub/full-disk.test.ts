/**
 * A full file system (here: a file-size limit, which the kernel enforces the same way: a write
 * that crosses it is cut short, the next one fails) must never leave a short file at a blob or
 * snapshot path. The download checks what reached the disk, not what it received.
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli, runNode } from "../helpers/run-cli.js";
import { onnxRepoFiles, startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv;
afterEach(async () => {
  await env?.hub.close();
});

// 100 KiB in sh's 512-byte blocks (200 KiB where a shell counts 1024): below weights/big.bin's 300 KiB,
// above every other file of the repo.
const FILE_LIMIT = "ulimit -f 200";

async function cacheEntries(cacheDir: string): Promise<string[]> {
  return (await readdir(cacheDir, { recursive: true }).catch(() => [] as string[])).filter((p) => /\/(blobs|snapshots)\//.test(p));
}

async function lockedWithEmptyCache(): Promise<HubTestEnv> {
  env = await startHubEnv();
  await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
  expect((await runCli([...env.g, "add", "org/tiny", "--include", "**"], { env: env.env })).code).toBe(0);
  await rm(env.cacheDir, { recursive: true, force: true });
  return env;
}

describe("a write cut short (full disk, file-size limit)", () => {
  it("pull: exit 3 CACHE_WRITE_FAILED naming the file, nothing at a blob or snapshot path for it; the next pull succeeds", async () => {
    const e = await lockedWithEmptyCache();
    const res = await runCli([...e.g, "pull"], { env: e.env, limits: FILE_LIMIT });
    expect(res.stderr).toMatch(/weights\/big\.bin: cannot write to the cache: .*(EFBIG|full|limit)/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.code).toBe(3);
    const entries = await cacheEntries(e.cacheDir);
    expect(entries.filter((p) => p.endsWith("big.bin") || p.endsWith(".part"))).toEqual([]);
    // Only files that were whole were placed: a verify of the rest passes, big.bin is missing, not short.
    const verify = await runCli([...e.g, "verify", "--allow-unsigned", "--json"], { env: e.env });
    const big = JSON.parse(verify.stdout).models[0].files.find((f: { path: string }) => f.path === "weights/big.bin");
    expect(big.error.code).toBe("NOT_CACHED");
    expect((await runCli([...e.g, "pull"], { env: e.env })).code).toBe(0);
  });

  it("add: exit 3, no lockfile written, nothing placed in the cache", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    const res = await runCli([...env.g, "add", "org/tiny", "--include", "**"], { env: env.env, limits: FILE_LIMIT });
    expect(res.stderr).toMatch(/weights\/big\.bin: cannot write to the cache/);
    expect(res.code).toBe(3);
    await expect(readFile(env.lockfilePath)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await cacheEntries(env.cacheDir)).toEqual([]);
  });

  it("the library's fetch on demand: CACHE_WRITE_FAILED, no bytes handed out, nothing placed", async () => {
    const e = await lockedWithEmptyCache();
    const script = join(e.dir, "read.mjs");
    const dist = new URL("../../dist/index.js", import.meta.url).href;
    await writeFile(
      script,
      `import { ModelGuard } from ${JSON.stringify(dist)};
const guard = await ModelGuard.open({ lockfile: ${JSON.stringify(e.lockfilePath)}, cacheDir: ${JSON.stringify(e.cacheDir)}, hubUrl: ${JSON.stringify(e.hub.url)}, allowUnsigned: true, env: {} });
try {
  const bytes = await guard.readFile("tiny", "weights/big.bin");
  console.log(JSON.stringify({ ok: true, length: bytes.length }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, name: err.name, code: err.code, message: err.message }));
}
`,
    );
    const res = await runNode([script], { env: e.env, limits: FILE_LIMIT });
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ ok: false, name: "ModelGuardError", code: "CACHE_WRITE_FAILED" });
    expect((await cacheEntries(e.cacheDir)).filter((p) => p.endsWith("big.bin") || p.endsWith(".part"))).toEqual([]);
  });
});
