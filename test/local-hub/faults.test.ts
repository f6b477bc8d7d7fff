import { downloadFile, listFiles } from "@huggingface/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startLocalHub, type LocalHub } from "../../local-hub/index.js";
import { connect } from "node:net";
import { asBytes, createModel, MODEL, rawGet, sha256 } from "./helpers.js";

/** Every byte the server sends for a GET, read from the raw socket until the server closes it. */
function socketGet(url: string): Promise<Buffer> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

let hub: LocalHub;
beforeAll(async () => {
  hub = await startLocalHub({ pageSize: 2 });
  await createModel(hub);
});
afterEach(() => {
  hub.clearFaults();
  hub.requests.length = 0;
});
afterAll(() => hub.close());

const onnx = asBytes("onnx/model.onnx");
const config = asBytes("config.json");
const resolveUrl = (path: string) => `${hub.url}/${MODEL}/resolve/main/${path}`;
/** The CDN URL an LFS file redirects to. */
async function cdnUrl(path: string): Promise<string> {
  const res = await fetch(resolveUrl(path), { redirect: "manual" });
  await res.body?.cancel();
  return res.headers.get("location")!;
}

describe("status faults", () => {
  it("status-500 hits once by default, then the request succeeds", async () => {
    const fault = hub.injectFault({ kind: "status-500", path: "config.json" });
    const first = await fetch(resolveUrl("config.json"));
    expect([first.status, await first.json()]).toEqual([500, { error: "Internal Error" }]);
    expect([fault.hits, fault.remaining]).toEqual([1, 0]);
    expect((await fetch(resolveUrl("config.json"))).status).toBe(200);
    expect(hub.requests.map((r) => [r.status, r.fault])).toEqual([
      [500, "status-500"],
      [200, undefined],
    ]);
  });

  it("status-429 sends Retry-After (default 1 s, or as set) and the Hub's RateLimit headers", async () => {
    hub.injectFault({ kind: "status-429", path: "config.json" });
    const res = await fetch(resolveUrl("config.json"));
    expect([res.status, res.headers.get("retry-after"), res.headers.get("ratelimit")]).toEqual([429, "1", '"api";r=0;t=1']);
    hub.injectFault({ kind: "status-429", retryAfterSeconds: 7 });
    expect((await fetch(`${hub.url}/api/models/${MODEL}`)).headers.get("retry-after")).toBe("7");
  });

  it("`times` counts hits, Infinity stays until cleared, a handle clears one fault", async () => {
    hub.injectFault({ kind: "status-500", path: "config.json", times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(resolveUrl("config.json"))).status);
    expect(statuses).toEqual([500, 500, 200]);
    const forever = hub.injectFault({ kind: "status-500", times: Infinity });
    for (let i = 0; i < 5; i++) expect((await fetch(resolveUrl("config.json"))).status).toBe(500);
    expect(forever.hits).toBe(5);
    forever.clear();
    expect((await fetch(resolveUrl("config.json"))).status).toBe(200);
  });

  it("a fault without path hits the next request of any kind; `endpoint` and `repo` narrow it", async () => {
    hub.injectFault({ kind: "status-500", endpoint: "cdn" });
    hub.injectFault({ kind: "status-500", repo: "org/other" });
    const tree = listFiles({ repo: { type: "model", name: MODEL }, hubUrl: "" + hub.url, recursive: true });
    let n = 0;
    for await (const _ of tree) n++;
    expect(n).toBe(7);
    const res = await fetch(resolveUrl("onnx/model.onnx"));
    expect(res.status).toBe(500);
    expect(hub.requests.at(-1)).toMatchObject({ endpoint: "cdn", status: 500, fault: "status-500", path: "onnx/model.onnx" });
    hub.clearFaults();
    hub.injectFault({ kind: "status-500" });
    const err = await listFiles({ repo: { type: "model", name: MODEL }, hubUrl: hub.url }).next().catch((e: { statusCode: number }) => e.statusCode);
    expect(err).toBe(500);
  });

  it("a glob path matches across folders with ** and within one with *", async () => {
    const a = hub.injectFault({ kind: "status-500", path: "**/*.onnx", times: Infinity, endpoint: "resolve" });
    expect((await fetch(resolveUrl("onnx/model.onnx"), { redirect: "manual" })).status).toBe(500);
    expect((await fetch(resolveUrl("onnx/model_quantized.onnx"), { redirect: "manual" })).status).toBe(500);
    expect((await fetch(resolveUrl("onnx/model.onnx_data"), { redirect: "manual" })).status).toBe(302);
    expect((await fetch(resolveUrl("config.json"))).status).toBe(200);
    a.clear();
    hub.injectFault({ kind: "status-500", path: "*.json", times: Infinity });
    expect((await fetch(resolveUrl("config.json"))).status).toBe(500);
    expect((await fetch(resolveUrl("onnx/model.onnx"), { redirect: "manual" })).status).toBe(302);
  });
});

describe("body faults", () => {
  it("wrong-bytes: same length and digest headers, one byte flipped (LFS on the CDN, regular on resolve)", async () => {
    hub.injectFault({ kind: "wrong-bytes", path: "onnx/model.onnx" });
    const res = await fetch(resolveUrl("onnx/model.onnx"));
    const body = Buffer.from(await res.arrayBuffer());
    expect([res.status, res.headers.get("etag"), body.length]).toEqual([200, `"${sha256(onnx)}"`, onnx.length]);
    expect(sha256(body)).not.toBe(sha256(onnx));
    expect([...body].filter((b, i) => b !== onnx[i])).toHaveLength(1);
    expect(body[10_000]).toBe(onnx[10_000]! ^ 0xff);
    expect(Buffer.from(await (await fetch(resolveUrl("onnx/model.onnx"))).arrayBuffer())).toEqual(onnx);

    hub.injectFault({ kind: "wrong-bytes", path: "config.json", offset: 0 });
    const plain = Buffer.from(await (await fetch(resolveUrl("config.json"))).arrayBuffer());
    expect(plain.subarray(1)).toEqual(config.subarray(1));
    expect(plain[0]).not.toBe(config[0]);
  });

  it("wrong-bytes inside a range flips the byte at `offset`, or the first byte served", async () => {
    const cdn = await cdnUrl("onnx/model.onnx");
    hub.injectFault({ kind: "wrong-bytes", offset: 150 });
    const inRange = Buffer.from(await (await fetch(cdn, { headers: { Range: "bytes=100-199" } })).arrayBuffer());
    expect(inRange[50]).toBe(onnx[150]! ^ 0xff);
    hub.injectFault({ kind: "wrong-bytes", offset: 5 });
    const outside = Buffer.from(await (await fetch(cdn, { headers: { Range: "bytes=100-199" } })).arrayBuffer());
    expect(outside[0]).toBe(onnx[100]! ^ 0xff);
  });

  it("truncate: the full Content-Length is announced, then the connection closes early", async () => {
    const cdn = await cdnUrl("onnx/model.onnx");
    hub.injectFault({ kind: "truncate", afterBytes: 5000 });
    const res = await rawGet(cdn);
    expect([res.status, res.headers["content-length"], res.body.length, res.error]).toEqual([200, "20000", 5000, "aborted"]);
    expect(res.body).toEqual(onnx.subarray(0, 5000));
    hub.injectFault({ kind: "truncate", path: "onnx/model.onnx" });
    await expect((await fetch(resolveUrl("onnx/model.onnx"))).arrayBuffer()).rejects.toThrow();
  });

  it("reset: the socket is reset after N bytes; a client resumes with Range and the log shows it", async () => {
    const cdn = await cdnUrl("onnx/model.onnx");
    hub.injectFault({ kind: "reset", afterBytes: 8000 });
    const cut = await rawGet(cdn);
    expect(cut.error).toMatch(/ECONNRESET/);
    expect(cut.body.length).toBeLessThanOrEqual(8000);
    expect(cut.body).toEqual(onnx.subarray(0, cut.body.length));
    const rest = await rawGet(cdn, { Range: `bytes=${cut.body.length}-` });
    expect(rest.status).toBe(206);
    expect(Buffer.concat([cut.body, rest.body])).toEqual(onnx);
    expect(hub.requests.filter((r) => r.endpoint === "cdn").map((r) => [r.range, r.fault])).toEqual([
      [undefined, "reset"],
      [`bytes=${cut.body.length}-`, undefined],
    ]);
  });

  it("slow: the body is throttled to bytesPerSecond", async () => {
    hub.injectFault({ kind: "slow", path: "onnx/model.onnx", bytesPerSecond: 40_000 });
    const started = Date.now();
    const body = Buffer.from(await (await fetch(resolveUrl("onnx/model.onnx"))).arrayBuffer());
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(body).toEqual(onnx);
  });

  it("stall: N bytes, then silence on an open connection until the client leaves", async () => {
    hub.injectFault({ kind: "stall", path: "onnx/model.onnx", afterBytes: 3000 });
    const controller = new AbortController();
    const res = await fetch(resolveUrl("onnx/model.onnx"), { signal: controller.signal });
    const reader = res.body!.getReader();
    let got = 0;
    while (got < 3000) got += (await reader.read()).value!.length;
    expect(got).toBe(3000);
    const more = await Promise.race([reader.read().then(() => "data"), new Promise((r) => setTimeout(() => r("silence"), 300))]);
    expect(more).toBe("silence");
    controller.abort();
  });

  it("slow below one byte a second: a trickle", async () => {
    hub.injectFault({ kind: "slow", path: "config.json", bytesPerSecond: 1 / 3 });
    const res = await fetch(resolveUrl("config.json"));
    const reader = res.body!.getReader();
    expect((await reader.read()).value!.length).toBe(1);
    const next = await Promise.race([reader.read().then(() => "data"), new Promise((r) => setTimeout(() => r("silence"), 1000))]);
    expect(next).toBe("silence");
    await reader.cancel();
  });

  it("no-range: Range is ignored, a 200 with the whole file", async () => {
    const cdn = await cdnUrl("onnx/model.onnx");
    hub.injectFault({ kind: "no-range" });
    const res = await fetch(cdn, { headers: { Range: "bytes=100-" } });
    expect([res.status, res.headers.get("content-range"), res.headers.get("content-length")]).toEqual([200, null, "20000"]);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(onnx);
  });

  it("no-range shows a trap in @huggingface/hub: Blob.slice() trusts a 200 as if it were the slice", async () => {
    const blob = (await downloadFile({ repo: { type: "model", name: MODEL }, path: "onnx/model.onnx", hubUrl: hub.url }))!;
    hub.injectFault({ kind: "no-range", endpoint: "cdn" });
    const tail = Buffer.from(await blob.slice(19_990).arrayBuffer());
    expect(tail.length).toBe(onnx.length);
    expect(tail).toEqual(onnx);
  });

  it("extra-bytes shows another: Blob.stream() passes on more bytes than Blob.size", async () => {
    const blob = (await downloadFile({ repo: { type: "model", name: MODEL }, path: "onnx/model.onnx", hubUrl: hub.url }))!;
    hub.injectFault({ kind: "extra-bytes", extraBytes: 10 });
    let n = 0;
    for await (const c of blob.stream() as unknown as AsyncIterable<Uint8Array>) n += c.length;
    expect([blob.size, n]).toEqual([20_000, 20_010]);
  });

  it("extra-bytes: past the end, chunked (default), with an honest longer length, or beyond a correct one", async () => {
    const cdn = await cdnUrl("onnx/model.onnx");
    hub.injectFault({ kind: "extra-bytes", extraBytes: 100 });
    const chunked = await rawGet(cdn);
    expect([chunked.headers["content-length"], chunked.headers["transfer-encoding"], chunked.body.length]).toEqual([undefined, "chunked", 20_100]);
    expect(chunked.body.subarray(0, 20_000)).toEqual(onnx);
    hub.injectFault({ kind: "extra-bytes", extraBytes: 100, contentLength: "actual" });
    const longer = await rawGet(cdn);
    expect([longer.headers["content-length"], longer.body.length]).toEqual(["20100", 20_100]);
    hub.injectFault({ kind: "extra-bytes", extraBytes: 100, contentLength: "declared" });
    // Read off the socket itself: whether an HTTP client notices bytes past Content-Length
    // depends on how they are split into packets, which is not the server's to decide.
    const declared = await socketGet(cdn);
    const headerEnd = declared.indexOf("\r\n\r\n");
    const head = declared.subarray(0, headerEnd).toString("latin1");
    expect(head).toMatch(/\r\ncontent-length: 20000\r\n/i);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    expect(declared.length - headerEnd - 4).toBe(20_100);
  });

  it("endless-pages: every page of a listing links to another; one hit is one endless listing", async () => {
    hub.injectFault({ kind: "endless-pages", entriesPerPage: 3 });
    const seen: string[] = [];
    for await (const entry of listFiles({ repo: MODEL, recursive: true, hubUrl: hub.url })) {
      seen.push(entry.path);
      if (seen.length === 12) break;
    }
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `endless/${i}.bin`));
    // Cleared after its one hit: the next listing is the repo's own.
    const real: string[] = [];
    for await (const entry of listFiles({ repo: MODEL, hubUrl: hub.url })) real.push(entry.path);
    expect(real).toContain("config.json");
  });

  it("HEAD and redirects do not consume body faults", async () => {
    const fault = hub.injectFault({ kind: "wrong-bytes", path: "onnx/model.onnx" });
    await rawGet(resolveUrl("onnx/model.onnx"), {}, "HEAD");
    await rawGet(await cdnUrl("onnx/model.onnx"), {}, "HEAD");
    expect(fault.remaining).toBe(1);
    expect(hub.requests.map((r) => r.endpoint)).toEqual(["resolve", "resolve", "cdn"]);
  });

  it("refuses an unknown fault kind or a non-positive count", () => {
    expect(() => hub.injectFault({ kind: "explode" as never })).toThrow(/unknown fault kind/);
    expect(() => hub.injectFault({ kind: "reset", times: 0 })).toThrow(/times/);
  });
});
