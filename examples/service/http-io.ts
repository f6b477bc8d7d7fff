import type { IncomingMessage, ServerResponse } from "node:http";
import { RequestError } from "./validate-request.js";

/** An answer other than 200, with the `{"error": {"code", "message"}}` body every error has. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { code, message } }, headers);
}

/** The client went away before its request was whole: there is no one to answer. */
export class ClientGone extends Error {
  override name = "ClientGone";
}

/**
 * The request body, at most `limit` bytes. A body somewhat over the limit is read to its end and
 * dropped, so a client that is still sending gets the 400 instead of a reset connection; one far
 * over it is not read on (the answer then closes the connection).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new RequestError("BODY_TOO_LARGE", `the request body is larger than ${limit} bytes`);
  const drainLimit = limit * 8;
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > drainLimit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > drainLimit) {
        // Not destroy(): that would take the socket, and the answer, with it.
        req.off("data", onData);
        req.pause();
        reject(tooLarge());
      }
    };
    const gone = () => reject(new ClientGone("the client closed the connection before the request body was complete"));
    req.on("data", onData);
    req.once("end", () => (size > limit ? reject(tooLarge()) : resolve(Buffer.concat(chunks, size))));
    // A connection dropped mid-body: node:http says "aborted" (ECONNRESET), or just closes.
    req.once("error", gone);
    req.once("close", () => {
      if (!req.complete) gone();
    });
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new RequestError("INVALID_JSON", "the request body is not UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RequestError("INVALID_JSON", `the request body is not JSON: ${(err as Error).message}`);
  }
}
