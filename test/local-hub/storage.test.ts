import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { gitBlobOid, lfsPointer } from "../../local-hub/git-oid.js";
import { RepoStore } from "../../local-hub/storage.js";

let root: string;
let store: RepoStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "local-hub-store-"));
  store = new RepoStore(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

const big = Buffer.alloc(12 * 1024, 1);

describe("RepoStore", () => {
  it("lays repos out as refs.json + commits/{sha}/files + commits/{sha}.json", async () => {
    const sha = await store.createRepo("org/m", { files: { "config.json": "{}", "onnx/model.onnx": "weights" }, tags: ["v1.0"] });
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(JSON.parse(await readFile(join(root, "org/m/refs.json"), "utf8"))).toEqual({ branches: { main: sha }, tags: { "v1.0": sha } });
    expect(await readFile(join(root, "org/m/commits", sha, "onnx/model.onnx"), "utf8")).toBe("weights");
    const manifest = JSON.parse(await readFile(join(root, "org/m/commits", `${sha}.json`), "utf8"));
    expect(manifest.files["config.json"]).toEqual({ size: 2, oid: gitBlobOid(Buffer.from("{}")), sha256: expect.any(String) });
    expect(manifest.message).toBe("initial commit");
  });

  it("decides LFS by size or weight extension unless told otherwise, and stores the pointer's oid", async () => {
    const sha = await store.createRepo("org/m", {
      files: { "a.onnx": "x", "big.json": big, "small.json": "{}", "forced.txt": "y" },
      lfs: (p, size) => p === "forced.txt" || size >= 10 * 1024,
    });
    const c = (await store.getCommit("org/m", sha))!;
    expect(c.files["a.onnx"]!.lfs).toBeUndefined();
    expect(c.files["forced.txt"]!.lfs).toBeDefined();
    const lfs = c.files["big.json"]!.lfs!;
    expect(lfs.size).toBe(big.length);
    expect(c.files["big.json"]!.oid).toBe(gitBlobOid(lfsPointer(lfs.oid, lfs.size)));
    const sha2 = await store.createRepo("org/d", { files: { "a.onnx": "x", "w.safetensors": "y", "d.onnx_data": "z", "p.bin": "b" } });
    const d = (await store.getCommit("org/d", sha2))!;
    expect(Object.values(d.files).every((f) => f.lfs)).toBe(true);
  });

  it("derives the sha from content: same files, same sha; any change, another", async () => {
    const a = await store.createRepo("org/a", { files: { "x.txt": "1" } });
    const b = await store.createRepo("org/b", { files: { "x.txt": "1" } });
    const c = await store.createRepo("org/c", { files: { "x.txt": "2" } });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it("commits on a branch, keeping unchanged files, deleting nulls, moving the branch", async () => {
    const first = await store.createRepo("org/m", { files: { "keep.txt": "k", "gone.txt": "g", "model.onnx": "v1" } });
    const second = await store.commit("org/m", { "model.onnx": "v2", "gone.txt": null, "dir/new.txt": "n" }, { message: "v2" });
    expect(await store.resolveRevision("org/m", "main")).toBe(second);
    const c = (await store.getCommit("org/m", second))!;
    expect(c.parents).toEqual([first]);
    expect(Object.keys(c.files).sort()).toEqual(["dir/new.txt", "keep.txt", "model.onnx"]);
    expect(await readFile(store.filePath("org/m", first, "model.onnx"), "utf8")).toBe("v1");
    expect(await readFile(store.filePath("org/m", second, "model.onnx"), "utf8")).toBe("v2");
    expect((await stat(store.filePath("org/m", second, "keep.txt"))).nlink).toBeGreaterThan(1);
    expect((await store.lastCommitOf("org/m", second, "keep.txt"))!.id).toBe(first);
    expect((await store.lastCommitOf("org/m", second, "model.onnx"))!.id).toBe(second);
    const dev = await store.commit("org/m", { "x.txt": "x" }, { branch: "dev" });
    expect((await store.getCommit("org/m", dev))!.parents).toEqual([]);
    expect(await store.resolveRevision("org/m", "main")).toBe(second);
  });

  it("resolves branches, tags, full shas, HEAD and refs/heads|tags names; nothing else", async () => {
    const sha = await store.createRepo("org/m", { files: { "a.txt": "a" }, tags: ["v1"] });
    for (const rev of ["main", "v1", sha, "HEAD", "refs/heads/main", "refs/tags/v1"]) {
      expect(await store.resolveRevision("org/m", rev)).toBe(sha);
    }
    for (const rev of ["dev", sha.slice(0, 7), "0".repeat(40), "refs/heads/v1"]) {
      expect(await store.resolveRevision("org/m", rev)).toBeUndefined();
    }
  });

  it("serves hand-made folders: a flat refs.json and a commit folder without manifest", async () => {
    const sha = "ab".repeat(20);
    await mkdir(join(root, "hand/made/commits", sha, "onnx"), { recursive: true });
    await writeFile(join(root, "hand/made/refs.json"), JSON.stringify({ main: sha }));
    await writeFile(join(root, "hand/made/commits", sha, "onnx/model.onnx"), "w");
    await writeFile(join(root, "hand/made/commits", sha, "config.json"), "{}");
    expect(await store.resolveRevision("hand/made", "main")).toBe(sha);
    const c = (await store.getCommit("hand/made", sha))!;
    expect(c.files["onnx/model.onnx"]!.lfs?.size).toBe(1);
    expect(c.files["config.json"]!.lfs).toBeUndefined();
    expect(await store.findLfsObject("hand/made", c.files["onnx/model.onnx"]!.sha256)).toEqual({ commit: sha, path: "onnx/model.onnx" });
  });

  it("copies big files in from a local path without holding them in memory", async () => {
    const src = join(root, "src.bin");
    await writeFile(src, big);
    const sha = await store.createRepo("org/m", { files: { "w.bin": { path: src } } });
    expect((await store.getCommit("org/m", sha))!.files["w.bin"]!.size).toBe(big.length);
  });

  it("refuses bad repo ids, paths, ref names and duplicates", async () => {
    await expect(store.createRepo("nope", { files: {} })).rejects.toThrow(/invalid repo id/);
    await expect(store.createRepo("a/../b", { files: {} })).rejects.toThrow(/invalid repo id/);
    for (const p of ["../x", "/abs", "a//b", "a\\b", "a/./b", ""]) {
      await expect(store.createRepo(`org/p${p.length}`, { files: { [p]: "x" } })).rejects.toThrow(/invalid file path/);
    }
    await expect(store.createRepo("org/conflict", { files: { a: "1", "a/b": "2" } })).rejects.toThrow(/both a file and a directory/);
    await store.createRepo("org/m", { files: {} });
    await expect(store.createRepo("org/m", { files: {} })).rejects.toThrow(/already exists/);
    await expect(store.commit("org/m", { x: "1" }, { branch: "../x" })).rejects.toThrow(/invalid branch/);
    await expect(store.commit("org/none", { x: "1" })).rejects.toThrow(/no repo/);
  });

  it("an empty repo is the empty git tree", async () => {
    const sha = await store.createRepo("org/empty", { files: {} });
    expect((await store.getCommit("org/empty", sha))!.tree).toBe("4b825dc642cb6eb9a060e54bf8d69288fbee4904");
  });
});
