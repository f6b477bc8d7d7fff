import { listFiles, modelInfo, pathsInfo, repoExists, type ListFileEntry } from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitBlobOid, lfsPointer, startLocalHub, type LocalHub } from "../../local-hub/index.js";
import { asBytes, createModel, MODEL, sha256 } from "./helpers.js";

let hub: LocalHub;
let sha: string;
beforeAll(async () => {
  hub = await startLocalHub({ pageSize: 2 });
  sha = await createModel(hub);
});
afterAll(() => hub.close());

const repo = { type: "model" as const, name: MODEL };

async function collect(it: AsyncIterable<ListFileEntry>): Promise<ListFileEntry[]> {
  const out: ListFileEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe("model info: GET /api/models/{repo}/revision/{rev}", () => {
  it("gives the commit as `sha` to @huggingface/hub's modelInfo when asked with additionalFields", async () => {
    const info = await modelInfo({ name: MODEL, hubUrl: hub.url, revision: "v1.0", additionalFields: ["sha", "filePaths"] });
    expect(info.sha).toBe(sha);
    expect(info.name).toBe(MODEL);
    expect(info.private).toBe(false);
    expect(info.gated).toBe(false);
    expect(info.filePaths.sort()).toEqual(["README.md", "config.json", "onnx/model.onnx", "onnx/model.onnx_data", "onnx/model_quantized.onnx", "tokenizer.json"]);
    // modelInfo always sends `expand`, and with `expand` only the named fields come back: no sha unless asked.
    const plain = (await modelInfo({ name: MODEL, hubUrl: hub.url })) as unknown as Record<string, unknown>;
    expect(plain.sha).toBeUndefined();
  });

  it("defaults to HEAD (the main branch) and accepts an encoded refs/heads/main", async () => {
    expect((await modelInfo({ name: MODEL, hubUrl: hub.url, additionalFields: ["sha"] })).sha).toBe(sha);
    expect((await modelInfo({ name: MODEL, hubUrl: hub.url, revision: "refs/heads/main", additionalFields: ["sha"] })).sha).toBe(sha);
    expect(hub.requests.some((r) => r.url.startsWith(`/api/models/${MODEL}/revision/refs%2Fheads%2Fmain?`))).toBe(true);
  });

  it("without expand returns the full object, siblings with blobs=true carry sizes and LFS digests", async () => {
    const res = await fetch(`${hub.url}/api/models/${MODEL}/revision/${sha}`);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const full = (await res.json()) as Record<string, unknown>;
    expect(full).toMatchObject({ id: MODEL, modelId: MODEL, author: "org", sha, private: false, gated: false, disabled: false });
    expect(full._id).toMatch(/^[0-9a-f]{24}$/);
    expect(full.siblings).toContainEqual({ rfilename: "config.json" });
    const blobs = (await (await fetch(`${hub.url}/api/models/${MODEL}/revision/main?blobs=true`)).json()) as { siblings: unknown[] };
    expect(blobs.siblings).toContainEqual({
      rfilename: "onnx/model.onnx",
      size: 20_000,
      blobId: gitBlobOid(lfsPointer(sha256(asBytes("onnx/model.onnx")), 20_000)),
      lfs: { sha256: sha256(asBytes("onnx/model.onnx")), size: 20_000, pointerSize: 130 },
    });
    expect(blobs.siblings).toContainEqual({ rfilename: "config.json", size: asBytes("config.json").length, blobId: gitBlobOid(asBytes("config.json")) });
  });

  it("answers /api/models/{repo} (what repoExists asks) and lists refs", async () => {
    expect(await repoExists({ repo, hubUrl: hub.url })).toBe(true);
    expect(await repoExists({ repo: { type: "model", name: "org/missing" }, hubUrl: hub.url })).toBe(false);
    const refs = await (await fetch(`${hub.url}/api/models/${MODEL}/refs`)).json();
    expect(refs).toEqual({
      branches: [{ name: "main", ref: "refs/heads/main", targetCommit: sha }],
      tags: [{ name: "v1.0", ref: "refs/tags/v1.0", targetCommit: sha }],
      converts: [],
    });
  });
});

describe("tree: GET /api/models/{repo}/tree/{rev}/{path}", () => {
  it("lists recursively across pages, following Link rel=next with a cursor, as listFiles does", async () => {
    hub.requests.length = 0;
    const entries = await collect(listFiles({ repo, revision: sha, recursive: true, hubUrl: hub.url }));
    expect(entries.map((e) => e.path)).toEqual([
      "README.md",
      "config.json",
      "onnx",
      "onnx/model.onnx",
      "onnx/model.onnx_data",
      "onnx/model_quantized.onnx",
      "tokenizer.json",
    ]);
    const pages = hub.requests.filter((r) => r.url.includes("/tree/"));
    expect(pages).toHaveLength(4);
    expect(pages.slice(1).every((p) => /[?&]cursor=/.test(p.url))).toBe(true);
    const onnx = asBytes("onnx/model.onnx");
    expect(entries.find((e) => e.path === "onnx/model.onnx")).toEqual({
      type: "file",
      path: "onnx/model.onnx",
      size: 20_000,
      oid: gitBlobOid(lfsPointer(sha256(onnx), onnx.length)),
      lfs: { oid: sha256(onnx), size: 20_000, pointerSize: 130 },
    });
    expect(entries.find((e) => e.path === "config.json")).toEqual({ type: "file", path: "config.json", size: asBytes("config.json").length, oid: gitBlobOid(asBytes("config.json")) });
    expect(entries.find((e) => e.path === "onnx")).toMatchObject({ type: "directory", size: 0, oid: expect.stringMatching(/^[0-9a-f]{40}$/) });
  });

  it("sends the Link header in the Hub's format, absolute and only while more pages remain", async () => {
    const first = await fetch(`${hub.url}/api/models/${MODEL}/tree/main?recursive=true&expand=false`);
    const link = first.headers.get("link")!;
    expect(link).toMatch(new RegExp(`^<${hub.url}/api/models/${MODEL}/tree/main\\?recursive=true&expand=false&cursor=[^>]+>; rel="next"$`));
    let next: string | undefined = /<([^>]+)>/.exec(link)![1];
    let pages = 1;
    while (next) {
      const res = await fetch(next);
      pages++;
      next = /<([^>]+)>/.exec(res.headers.get("link") ?? "")?.[1];
    }
    expect(pages).toBe(4);
    expect((await fetch(`${hub.url}/api/models/${MODEL}/tree/main?cursor=garbage`)).status).toBe(400);
  });

  it("lists one level without recursive, a sub-folder by path, and adds lastCommit with expand", async () => {
    const root = await collect(listFiles({ repo, hubUrl: hub.url }));
    expect(root.map((e) => `${e.type}:${e.path}`)).toEqual(["file:README.md", "file:config.json", "directory:onnx", "file:tokenizer.json"]);
    const sub = await collect(listFiles({ repo, hubUrl: hub.url, path: "onnx", expand: true }));
    expect(sub.map((e) => e.path)).toEqual(["onnx/model.onnx", "onnx/model.onnx_data", "onnx/model_quantized.onnx"]);
    expect(sub[0]!.lastCommit).toEqual({ id: sha, title: "initial commit", date: "2023-11-14T22:13:20.000Z" });
    expect(sub[0]!.securityFileStatus).toEqual({ status: "unscanned" });
    const missing = await fetch(`${hub.url}/api/models/${MODEL}/tree/main/nope`);
    expect([missing.status, missing.headers.get("x-error-code")]).toEqual([404, "EntryNotFound"]);
  });

  it("reports per file the commit that last changed it, across a branch that moved", async () => {
    const r = "org/history";
    const first = await hub.createRepo(r, { files: { "a.txt": "a", "b.txt": "b" } });
    const second = await hub.commit(r, { "b.txt": "b2" }, { message: "Update b.txt\n\nbody" });
    const entries = await collect(listFiles({ repo: { type: "model", name: r }, hubUrl: hub.url, expand: true }));
    expect(entries.map((e) => [e.path, e.lastCommit?.id, e.lastCommit?.title])).toEqual([
      ["a.txt", first, "initial commit"],
      ["b.txt", second, "Update b.txt"],
    ]);
    const old = await collect(listFiles({ repo: { type: "model", name: r }, hubUrl: hub.url, revision: first }));
    expect(old.find((e) => e.path === "b.txt")!.oid).toBe(gitBlobOid(Buffer.from("b")));
  });
});

describe("paths-info: POST /api/models/{repo}/paths-info/{rev}", () => {
  it("answers @huggingface/hub's JSON request, leaving out paths that do not exist", async () => {
    const infos = await pathsInfo({ repo, hubUrl: hub.url, revision: "v1.0", paths: ["onnx/model.onnx", "missing.txt", "onnx", "config.json"] });
    expect(infos.map((i) => [i.path, i.type])).toEqual([
      ["onnx/model.onnx", "file"],
      ["onnx", "directory"],
      ["config.json", "file"],
    ]);
    expect(infos[0]!.lfs).toEqual({ oid: sha256(asBytes("onnx/model.onnx")), size: 20_000, pointerSize: 130 });
    expect(infos[0]!.lastCommit).toBeUndefined();
    const expanded = await pathsInfo({ repo, hubUrl: hub.url, paths: ["config.json"], expand: true });
    expect(expanded[0]!.lastCommit.id).toBe(sha);
    expect(expanded[0]!.lastCommit.date).toBeInstanceOf(Date);
  });

  it("answers huggingface_hub's form request (repeated `paths`, expand=True)", async () => {
    const res = await fetch(`${hub.url}/api/models/${MODEL}/paths-info/main`, {
      method: "POST",
      body: new URLSearchParams([["paths", "config.json"], ["paths", "onnx/model.onnx_data"], ["expand", "True"]]),
    });
    const body = (await res.json()) as Array<{ path: string; lastCommit?: unknown; lfs?: unknown }>;
    expect(body.map((e) => e.path)).toEqual(["config.json", "onnx/model.onnx_data"]);
    expect(body.every((e) => e.lastCommit)).toBe(true);
    expect(body[1]!.lfs).toBeDefined();
    const bad = await fetch(`${hub.url}/api/models/${MODEL}/paths-info/main`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(bad.status).toBe(400);
  });
});
