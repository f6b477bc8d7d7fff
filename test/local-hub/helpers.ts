import { createHash } from "node:crypto";
import { request } from "node:http";
import type { LocalHub } from "../../local-hub/index.js";

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Deterministic, non-repeating bytes, so a shifted or swapped range is caught. */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export const MODEL = "org/model";
export const FILES = {
  "config.json": '{"model_type":"bert"}\n',
  "tokenizer.json": '{"version":"1.0"}\n',
  "README.md": "# model\n",
  "onnx/model.onnx": bytes(20_000, 1),
  "onnx/model.onnx_data": bytes(30_000, 2),
  "onnx/model_quantized.onnx": bytes(12_000, 3),
} satisfies Record<string, string | Buffer>;
export type FileName = keyof typeof FILES;
export const asBytes = (f: FileName) => Buffer.from(FILES[f]);

/** org/model: three LFS files in onnx/, three regular files at the root, tagged v1.0. */
export function createModel(hub: LocalHub, repo = MODEL): Promise<string> {
  return hub.createRepo(repo, { files: FILES, tags: ["v1.0"] });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /**
   * Set when the body did not complete: node:http says "aborted" for a connection closed early
   * (FIN) and "read ECONNRESET" for a reset (RST).
   */
  error?: string;
}

/**
 * A GET with node:http, which (unlike fetch) hands over the bytes that arrived before a connection
 * was cut, so faults can be checked to the byte.
 */
export function rawGet(url: string, headers: Record<string, string> = {}, method = "GET"): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let error: string | undefined;
    let responded = false;
    const req = request(url, { method, headers, agent: false }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (e: Error) => (error ??= e.message));
      res.on("close", () => {
        // The request's own error (a reset, a parse error) can come just after the response closes.
        setImmediate(() => {
          if (!res.complete) error ??= "incomplete";
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ...(error ? { error } : {}) });
        });
      });
    });
    req.on("error", (e) => {
      if (responded) error ??= e.message;
      else reject(e);
    });
    req.end();
  });
}
