/**
 * Sending a file body the way the Hub and its CDN do (single byte ranges, 206/416), and the body
 * faults a test can arm: wrong bytes, truncation, a reset connection, a slow body, an ignored
 * Range, bytes past the end.
 */
import { createReadStream } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ArmedFault } from "./faults.js";

export interface BodySource {
  size: number;
  /** Bytes [start, end] (inclusive), streamed. */
  read(start: number, end: number): Readable;
}

export function fileSource(path: string, size: number): BodySource {
  return { size, read: (start, end) => createReadStream(path, { start, end, highWaterMark: 256 * 1024 }) };
}

export function bufferSource(buf: Buffer): BodySource {
  return { size: buf.length, read: (start, end) => Readable.from([buf.subarray(start, end + 1)]) };
}

export type RangeResult = { kind: "full" } | { kind: "partial"; start: number; end: number } | { kind: "unsatisfiable" };

/**
 * RFC 9110 §14: one `bytes=` range, `a-b`, `a-` or a suffix `-n`. A syntactically invalid header, a
 * multi-range or another unit is ignored (a full 200), as S3 and CloudFront behind the Hub do; a
 * valid range that starts at or past the end is a 416.
 */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: "full" };
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "full" };
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? Infinity : Number(m[2]);
  if (end < start) return { kind: "full" };
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", start, end: Math.min(end, size - 1) };
}

function waitDrainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function writeAndFlush(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve();
    res.write(chunk, () => resolve());
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Flips one byte, so a wrong body keeps the right length: only a digest check can tell. */
function corrupt(chunks: AsyncIterable<Buffer>, start: number, end: number, offset: number): AsyncIterable<Buffer> {
  const target = offset >= start && offset <= end ? offset : start;
  return (async function* () {
    let pos = start;
    for await (const c of chunks) {
      if (target >= pos && target < pos + c.length) {
        const copy = Buffer.from(c);
        copy[target - pos] = copy[target - pos]! ^ 0xff;
        yield copy;
      } else yield c;
      pos += c.length;
    }
  })();
}

/** Slices chunks to at most `n` bytes, so throttling and cut-offs are byte-exact. */
async function* rechunk(chunks: AsyncIterable<Buffer>, n: number): AsyncIterable<Buffer> {
  for await (const c of chunks) for (let i = 0; i < c.length; i += n) yield c.subarray(i, i + n);
}

export interface SendOptions {
  /** Status, ETag and the like; Content-Length, Content-Range and Accept-Ranges are set here. */
  headers: Record<string, string>;
  /** Takes the body fault for this request, if one is armed; only called when a body goes out. */
  takeFault: () => ArmedFault | undefined;
}

export async function sendBody(req: IncomingMessage, res: ServerResponse, src: BodySource, opts: SendOptions): Promise<void> {
  const fault = req.method === "GET" ? opts.takeFault() : undefined;
  const range = fault?.kind === "no-range" ? ({ kind: "full" } as const) : parseRange(req.headers.range, src.size);
  const headers: Record<string, string> = { "Accept-Ranges": "bytes", ...opts.headers };

  if (range.kind === "unsatisfiable") {
    const body = JSON.stringify({ error: "Requested Range Not Satisfiable" });
    res.writeHead(416, {
      ...headers,
      "Content-Range": `bytes */${src.size}`,
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": String(Buffer.byteLength(body)),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return;
  }
  const start = range.kind === "partial" ? range.start : 0;
  const end = range.kind === "partial" ? range.end : src.size - 1;
  const length = Math.max(0, end - start + 1);
  if (range.kind === "partial") headers["Content-Range"] = `bytes ${start}-${end}/${src.size}`;
  headers["Content-Length"] = String(length);
  const status = range.kind === "partial" ? 206 : 200;

  const extra = fault?.kind === "extra-bytes" ? (fault.extraBytes ?? 1024) : 0;
  if (fault?.kind === "extra-bytes") {
    const mode = fault.contentLength ?? "none";
    if (mode === "none") delete headers["Content-Length"];
    if (mode === "actual") headers["Content-Length"] = String(length + extra);
    // A body that runs past its Content-Length poisons a kept-alive connection.
    if (mode === "declared") headers["Connection"] = "close";
  }
  res.writeHead(status, headers);
  if (req.method === "HEAD" || length === 0) {
    if (extra > 0 && req.method !== "HEAD") res.write(Buffer.alloc(extra, 0x5a));
    res.end();
    return;
  }

  const stream = src.read(start, end);
  res.on("close", () => stream.destroy());
  let chunks: AsyncIterable<Buffer> = stream as AsyncIterable<Buffer>;
  if (fault?.kind === "wrong-bytes") chunks = corrupt(chunks, start, end, fault.offset ?? Math.floor(src.size / 2));

  const cuts = fault?.kind === "truncate" || fault?.kind === "reset" || fault?.kind === "stall";
  const cutAt = cuts ? Math.min(fault.afterBytes ?? Math.floor(length / 2), length) : undefined;
  const slowRate = fault?.kind === "slow" ? (fault.bytesPerSecond ?? 16 * 1024) : undefined;
  const rate = slowRate === undefined ? undefined : slowRate > 0 ? slowRate : 1;
  const TICK_MS = 50;
  if (rate) chunks = rechunk(chunks, Math.max(1, Math.floor((rate * TICK_MS) / 1000)));

  let sent = 0;
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      let c = chunk;
      if (cutAt !== undefined && sent + c.length >= cutAt) c = c.subarray(0, cutAt - sent);
      if (c.length > 0) {
        if (cutAt !== undefined || rate) await writeAndFlush(res, c);
        else if (!res.write(c)) await waitDrainOrClose(res);
      }
      sent += c.length;
      if (cutAt !== undefined && sent >= cutAt) break;
      if (rate) await sleep((c.length / rate) * 1000);
    }
  } catch {
    res.destroy();
    return;
  }
  if (res.destroyed) return;

  if (cutAt !== undefined) {
    if (fault?.kind === "stall") {
      // Silent, with the connection open, until the client gives up (or the Hub closes).
      await new Promise((resolve) => res.once("close", resolve));
      return;
    }
    // Give the client time to read what was sent: a reset discards unread data on the receiving side.
    await sleep(25);
    const socket = res.socket;
    if (fault?.kind === "reset") socket?.resetAndDestroy();
    else socket?.end();
    return;
  }
  if (extra > 0) res.write(Buffer.alloc(extra, 0x5a));
  res.end();
}
