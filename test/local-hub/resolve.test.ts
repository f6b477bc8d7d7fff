import { lstat, mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { downloadFile, downloadFileToCacheDir, fileDownloadInfo, fileExists, snapshotDownload } from "@huggingface/hub";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { gitBlobOid, lfsPointer, startLocalHub, type LocalHub } from "../../local-hub/index.js";
import { asBytes, createModel, MODEL, rawGet, sha256 } from "./helpers.js";

let hub: LocalHub;
let sha: string;
beforeAll(async () => {
  hub = await startLocalHub();
  sha = await createModel(hub);
});
afterAll(() => hub.close());

const repo = { type: "model" as const, name: MODEL };
const config = asBytes("config.json");
const onnx = asBytes("onnx/model.onnx");
const resolveUrl = (path: string, rev = "main") => `${hub.url}/${MODEL}/resolve/${rev}/${path}`;

describe("resolve, regular files", () => {
  it("GET: 200, the bytes, ETag = git blob oid, X-Repo-Commit, Content-Length", async () => {
    const res = await fetch(resolveUrl("config.json"));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(config);
    expect(res.headers.get("etag")).toBe(`"${gitBlobOid(config)}"`);
    expect(res.headers.get("x-repo-commit")).toBe(sha);
    expect(res.headers.get("content-length")).toBe(String(config.length));
    expect(res.headers.get("accept-ranges")).toBe("bytes");
  });

  it("HEAD: the same headers, no body", async () => {
    const res = await rawGet(resolveUrl("config.json"), {}, "HEAD");
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(res.headers["content-length"]).toBe(String(config.length));
    expect(res.headers.etag).toBe(`"${gitBlobOid(config)}"`);
  });

  it("Range: 206 with Content-Range for a-b, a- and -n; 416 past the end; an invalid or multi range is a full 200", async () => {
    const cases: Array<[string, number, string | null, Buffer]> = [
      ["bytes=0-0", 206, `bytes 0-0/${config.length}`, config.subarray(0, 1)],
      ["bytes=5-", 206, `bytes 5-${config.length - 1}/${config.length}`, config.subarray(5)],
      ["bytes=-4", 206, `bytes ${config.length - 4}-${config.length - 1}/${config.length}`, config.subarray(-4)],
      ["bytes=3-1000", 206, `bytes 3-${config.length - 1}/${config.length}`, config.subarray(3)],
      [`bytes=${config.length}-`, 416, `bytes */${config.length}`, Buffer.alloc(0)],
      ["bytes=5-2", 200, null, config],
      ["bytes=0-1,4-5", 200, null, config],
      ["items=0-1", 200, null, config],
    ];
    for (const [range, status, contentRange, body] of cases) {
      const res = await fetch(resolveUrl("config.json"), { headers: { Range: range } });
      expect([range, res.status, res.headers.get("content-range")]).toEqual([range, status, contentRange]);
      if (status !== 416) expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
      else await res.body?.cancel();
    }
  });

  it("by tag and by commit, and a moved branch leaves the old commit's bytes in place", async () => {
    const r = "org/moving";
    const v1 = await hub.createRepo(r, { files: { "config.json": "v1" } });
    const v2 = await hub.commit(r, { "config.json": "v2" });
    const get = async (rev: string) => (await fetch(`${hub.url}/${r}/resolve/${rev}/config.json`)).text();
    expect([await get("main"), await get(v1), await get(v2)]).toEqual(["v2", "v1", "v2"]);
    expect(await get("v1.0").catch(() => "")).toMatch(/Invalid rev id/);
    expect(await (await fetch(resolveUrl("config.json", "v1.0"))).text()).toBe(config.toString());
  });
});

describe("resolve, LFS files", () => {
  it("is a 302 to a CDN path, with X-Linked-Etag (sha256), X-Linked-Size, X-Repo-Commit and the pointer's ETag", async () => {
    for (const method of ["GET", "HEAD"]) {
      const res = await fetch(resolveUrl("onnx/model.onnx"), { method, redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("x-linked-etag")).toBe(`"${sha256(onnx)}"`);
      expect(res.headers.get("x-linked-size")).toBe(String(onnx.length));
      expect(res.headers.get("x-repo-commit")).toBe(sha);
      expect(res.headers.get("etag")).toBe(`"${gitBlobOid(lfsPointer(sha256(onnx), onnx.length))}"`);
      const location = new URL(res.headers.get("location")!);
      expect(location.origin).toBe(hub.url);
      expect(location.pathname).toBe(`/_cdn/${MODEL}/${sha256(onnx)}`);
      expect(location.searchParams.get("Signature")).toMatch(/^[0-9a-f]{64}$/);
      await res.body?.cancel();
    }
  });

  it("the CDN path serves the bytes with Range, 206/416 and HEAD; fetch follows the redirect", async () => {
    const followed = await fetch(resolveUrl("onnx/model.onnx"));
    expect(followed.status).toBe(200);
    expect(followed.headers.get("etag")).toBe(`"${sha256(onnx)}"`);
    expect(sha256(Buffer.from(await followed.arrayBuffer()))).toBe(sha256(onnx));
    const cdn = (await fetch(resolveUrl("onnx/model.onnx"), { redirect: "manual" })).headers.get("location")!;
    const part = await fetch(cdn, { headers: { Range: "bytes=100-" } });
    expect([part.status, part.headers.get("content-range"), part.headers.get("content-length")]).toEqual([206, `bytes 100-19999/20000`, "19900"]);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(onnx.subarray(100));
    const past = await fetch(cdn, { headers: { Range: "bytes=20000-" } });
    expect([past.status, past.headers.get("content-range")]).toEqual([416, "bytes */20000"]);
    const head = await rawGet(cdn, {}, "HEAD");
    expect([head.status, head.headers["content-length"], head.body.length]).toEqual([200, "20000", 0]);
  });

  it("the CDN refuses an unsigned, tampered or expired URL", async () => {
    const cdn = new URL((await fetch(resolveUrl("onnx/model.onnx"), { redirect: "manual" })).headers.get("location")!);
    expect((await fetch(`${cdn.origin}${cdn.pathname}`)).status).toBe(403);
    cdn.searchParams.set("Signature", "0".repeat(64));
    expect((await fetch(cdn)).status).toBe(403);
    const expiring = await startLocalHub({ cdnUrlLifetimeSeconds: -1 });
    try {
      await createModel(expiring);
      expect((await fetch(`${expiring.url}/${MODEL}/resolve/main/onnx/model.onnx`)).status).toBe(403);
    } finally {
      await expiring.close();
    }
  });

  it("raw serves what git stores: the pointer file of an LFS file", async () => {
    const res = await fetch(`${hub.url}/${MODEL}/raw/main/onnx/model.onnx`);
    expect(await res.text()).toBe(lfsPointer(sha256(onnx), onnx.length).toString());
    expect(res.headers.get("etag")).toBe(`"${gitBlobOid(lfsPointer(sha256(onnx), onnx.length))}"`);
    expect(Buffer.from(await (await fetch(`${hub.url}/${MODEL}/raw/main/config.json`)).arrayBuffer())).toEqual(config);
  });

  it("with a separate CDN origin, fetch drops the Authorization header on the redirect", async () => {
    const split = await startLocalHub({ cdn: "separate-origin" });
    try {
      await createModel(split);
      expect(split.cdnUrl).not.toBe(split.url);
      const res = await fetch(`${split.url}/${MODEL}/resolve/main/onnx/model.onnx`, { headers: { Authorization: "Bearer hf_test" } });
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(onnx));
      expect(split.requests.map((r) => [r.endpoint, r.authorization])).toEqual([
        ["resolve", true],
        ["cdn", false],
      ]);
    } finally {
      await split.close();
    }
  });
});

describe("@huggingface/hub download functions against it", () => {
  it("fileDownloadInfo: size from Content-Range of a bytes=0-0 probe, etag from the final response", async () => {
    const lfs = await fileDownloadInfo({ repo, path: "onnx/model.onnx", hubUrl: hub.url });
    expect(lfs).toMatchObject({ size: onnx.length, etag: `"${sha256(onnx)}"` });
    expect(new URL(lfs!.url).pathname).toBe(`/_cdn/${MODEL}/${sha256(onnx)}`);
    const plain = await fileDownloadInfo({ repo, path: "config.json", hubUrl: hub.url, revision: sha });
    expect(plain).toEqual({ size: config.length, etag: `"${gitBlobOid(config)}"`, url: resolveUrl("config.json", sha), xet: undefined });
    expect(hub.requests.filter((r) => r.range === "bytes=0-0").length).toBeGreaterThanOrEqual(2);
  });

  it("downloadFile returns a lazy Blob whose bytes and stream are the file", async () => {
    const blob = (await downloadFile({ repo, path: "onnx/model.onnx", hubUrl: hub.url }))!;
    expect(blob.size).toBe(onnx.length);
    expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(sha256(onnx));
    const chunks: Buffer[] = [];
    for await (const c of blob.stream() as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
    expect(Buffer.concat(chunks)).toEqual(onnx);
    hub.requests.length = 0;
    const tail = await blob.slice(19_990).arrayBuffer();
    expect(Buffer.from(tail)).toEqual(onnx.subarray(19_990));
    expect(hub.requests.find((r) => r.endpoint === "cdn")?.range).toBe("bytes=19990-19999");
  });

  it("downloadFileToCacheDir and snapshotDownload fill the HF cache layout (blobs by sha256 / git oid, snapshots by commit)", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "local-hub-cache-"));
    const debug = vi.spyOn(console, "debug").mockImplementation(() => undefined);
    try {
      const pointer = await downloadFileToCacheDir({ repo, path: "onnx/model.onnx", hubUrl: hub.url, revision: sha, cacheDir });
      expect(pointer).toBe(join(cacheDir, "models--org--model", "snapshots", sha, "onnx/model.onnx"));
      expect(await readlink(pointer)).toBe(join("..", "..", "..", "blobs", sha256(onnx)));
      const snapshot = await snapshotDownload({ repo, hubUrl: hub.url, revision: "v1.0", cacheDir });
      expect(snapshot).toBe(join(cacheDir, "models--org--model", "snapshots", sha));
      expect(await readFile(join(snapshot, "config.json"))).toEqual(config);
      expect((await lstat(join(cacheDir, "models--org--model", "blobs", gitBlobOid(config)))).isFile()).toBe(true);
      expect(await readFile(join(cacheDir, "models--org--model", "refs", "v1.0"), "utf8")).toBe(sha);
    } finally {
      debug.mockRestore();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it("fileExists (HEAD on raw) is true for a file and false for a missing one", async () => {
    expect(await fileExists({ repo, path: "onnx/model.onnx_data", hubUrl: hub.url })).toBe(true);
    expect(await fileExists({ repo, path: "nope.bin", hubUrl: hub.url })).toBe(false);
  });
});
