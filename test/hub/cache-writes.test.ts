/**
 * Writes into the cache stay in the cache: a symlinked folder someone planted inside it is refused
 * (UNSAFE_PATH), never written through; a directory in the way of a file and a cache that cannot be
 * written are named, with their code, and never crash the command or lose the other files' results.
 */
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ModelGuard } from "../../src/guard/guard.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { lockedEntry, tempDir } from "../helpers/fixtures.js";
import { canDropRoot, runCli } from "../helpers/run-cli.js";
import { onnxRepoFiles, startHubEnv, type HubTestEnv } from "./hub-fixture.js";

let env: HubTestEnv;
afterEach(async () => {
  await env?.hub.close();
});

/** A locked model (every file of the repo), nothing cached; `revision` is its commit. */
async function locked(): Promise<HubTestEnv & { revision: string; repoDir: string }> {
  env = await startHubEnv();
  const files = onnxRepoFiles();
  const revision = await env.hub.createRepo("org/tiny", { files });
  await writeLockfile(env.lockfilePath, { lockfileVersion: 1, models: { tiny: lockedEntry("org/tiny", files, revision) } });
  return { ...env, revision, repoDir: join(env.cacheDir, "models--org--tiny") };
}

/** A folder outside the cache holding a file someone cares about. */
async function elsewhere(name = "model.onnx"): Promise<{ dir: string; listing: () => Promise<string[]> }> {
  const dir = await tempDir("mg-elsewhere-");
  await writeFile(join(dir, name), "precious");
  return { dir, listing: async () => (await readdir(dir)).sort() };
}

describe("a symlinked folder inside the cache", () => {
  it.each([
    ["snapshots/{commit}/onnx", (e: { repoDir: string; revision: string }) => join(e.repoDir, "snapshots", e.revision, "onnx")],
    ["blobs", (e: { repoDir: string }) => join(e.repoDir, "blobs")],
    ["the repo folder models--org--tiny", (e: { repoDir: string }) => e.repoDir],
  ])("%s -> elsewhere: pull refuses it with UNSAFE_PATH and writes nothing outside the cache", async (_what, where) => {
    const e = await locked();
    const outside = await elsewhere();
    const link = where(e);
    await mkdir(join(link, ".."), { recursive: true });
    await symlink(outside.dir, link);
    const res = await runCli([...e.g, "pull"], { env: e.env });
    expect(res.stderr).toMatch(/is a symbolic link inside the cache; refusing to write through it/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.code).toBe(2);
    expect(await outside.listing()).toEqual(["model.onnx"]);
    expect(await readFile(join(outside.dir, "model.onnx"), "utf8")).toBe("precious");
  });

  it("the library's fetch on demand refuses it too (UNSAFE_PATH), leaving the outside untouched", async () => {
    const e = await locked();
    const outside = await elsewhere("notes.txt");
    const link = join(e.repoDir, "snapshots", e.revision, "onnx");
    await mkdir(join(link, ".."), { recursive: true });
    await symlink(outside.dir, link);
    const guard = await ModelGuard.open({ lockfile: e.lockfilePath, cacheDir: e.cacheDir, hubUrl: e.hub.url, allowUnsigned: true, env: {} });
    await expect(guard.readFile("tiny", "onnx/model.onnx")).rejects.toMatchObject({ name: "ModelGuardError", code: "UNSAFE_PATH", model: "tiny", file: "onnx/model.onnx" });
    expect(await outside.listing()).toEqual(["notes.txt"]);
  });

  it("add refuses a symlinked blobs folder: no lockfile, nothing outside", async () => {
    env = await startHubEnv();
    await env.hub.createRepo("org/tiny", { files: onnxRepoFiles() });
    const outside = await elsewhere();
    await mkdir(join(env.cacheDir, "models--org--tiny"), { recursive: true });
    await symlink(outside.dir, join(env.cacheDir, "models--org--tiny", "blobs"));
    const res = await runCli([...env.g, "add", "org/tiny"], { env: env.env });
    expect(res.stderr).toMatch(/UNSAFE_PATH|symbolic link inside the cache/);
    expect(res.code).toBe(2);
    await expect(readFile(env.lockfilePath)).rejects.toMatchObject({ code: "ENOENT" });
    expect(await outside.listing()).toEqual(["model.onnx"]);
  });
});

describe("in the way, or not writable", () => {
  it("a directory at a snapshot path: pull names it (UNSAFE_PATH, exit 2), pulls the rest, no stack trace", async () => {
    const e = await locked();
    const dir = snapshotFilePath(e.cacheDir, "org/tiny", e.revision, "config.json");
    await mkdir(join(dir, "inside"), { recursive: true });
    const res = await runCli([...e.g, "pull", "--json"], { env: e.env });
    expect(res.stderr).toMatch(/config\.json.*is a directory/);
    expect(res.stderr).not.toMatch(/\n\s+at |internal error/);
    expect(res.code).toBe(2);
    const verify = await runCli([...e.g, "verify", "--json", "--allow-unsigned"], { env: e.env });
    const failed = JSON.parse(verify.stdout).models[0].files.filter((f: { ok: boolean }) => !f.ok);
    expect(failed.map((f: { path: string; error: { code: string } }) => [f.path, f.error.code])).toEqual([["config.json", "UNSAFE_PATH"]]);
  });

  it.skipIf(!canDropRoot)("a read-only cache: pull is CACHE_WRITE_FAILED (exit 3) naming why, not a raw ENOENT", async () => {
    const e = await locked();
    await mkdir(e.cacheDir, { recursive: true });
    // Readable and searchable by everyone, writable by its owner only (root, or us when not root).
    await chmod(e.dir, 0o755);
    await chmod(e.cacheDir, process.getuid?.() === 0 ? 0o755 : 0o555);
    const res = await runCli([...e.g, "pull"], { env: e.env, unprivileged: true });
    expect(res.stderr).toMatch(/cannot write to the cache: (permission denied|the file system is read-only)/);
    expect(res.stderr).not.toMatch(/ENOENT|\n\s+at /);
    expect(res.code).toBe(3);
    await chmod(e.cacheDir, 0o755);
  });
});
