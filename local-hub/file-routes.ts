/**
 * File bytes: `resolve` (bytes, or a 302 to the CDN path for LFS files), `raw` (what git stores) and
 * the CDN path itself, with body faults applied where a body goes out.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { checkAccess, commitAt, type HubContext, type RequestLogEntry } from "./context.js";
import type { RequestTarget } from "./faults.js";
import { lfsPointer } from "./git-oid.js";
import { entryNotFound, sendError } from "./hub-errors.js";
import { bufferSource, fileSource, sendBody } from "./http-body.js";

function contentTypeOf(path: string): string {
  if (/\.json$/i.test(path)) return "application/json; charset=utf-8";
  if (/\.(txt|md)$/i.test(path)) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

function cdnSignature(secret: Buffer, repo: string, sha256: string, expires: number): string {
  return createHmac("sha256", secret).update(`${repo}\n${sha256}\n${expires}`).digest("hex");
}

export async function handleFile(
  ctx: HubContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: RequestTarget,
  log: RequestLogEntry,
  repo: string,
  rev: string,
  path: string,
): Promise<void> {
  const head = req.method === "HEAD";
  if ((await checkAccess(ctx, req, res, repo, true)) === "handled") return;
  const commit = await commitAt(ctx, req, res, repo, rev);
  if (!commit) return;
  const file = commit.files[path];
  // huggingface_hub caches "this file does not exist at this commit" from X-Repo-Commit on a 404.
  if (!file) return entryNotFound(res, { "X-Repo-Commit": commit.id }, head);
  const takeFault = () => {
    const f = ctx.faults.take(target, "body");
    if (f) log.fault = f.kind;
    return f;
  };
  const common = { "X-Repo-Commit": commit.id, ETag: `"${file.oid}"` };

  if (file.lfs && target.endpoint === "raw") {
    const pointer = lfsPointer(file.lfs.oid, file.lfs.size);
    return sendBody(req, res, bufferSource(pointer), { headers: { ...common, "Content-Type": "text/plain; charset=utf-8" }, takeFault });
  }
  if (file.lfs && target.endpoint === "resolve") {
    // Like the Hub: a 302 to a pre-signed CDN URL, with the LFS object's digest and size on the
    // redirect itself, since a client that follows it only sees the CDN's headers.
    const expires = Math.floor(Date.now() / 1000) + ctx.cdnUrlLifetimeSeconds;
    const sig = cdnSignature(ctx.secret, repo, file.lfs.oid, expires);
    const location = `${ctx.cdnBase(req)}/_cdn/${repo}/${file.lfs.oid}?Expires=${expires}&Signature=${sig}`;
    const body = `Found. Redirecting to ${location}`;
    res.writeHead(302, {
      ...common,
      Location: location,
      "X-Linked-Etag": `"${file.lfs.oid}"`,
      "X-Linked-Size": String(file.lfs.size),
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": String(Buffer.byteLength(body)),
    });
    res.end(head ? undefined : body);
    return;
  }
  const src = fileSource(ctx.store.filePath(repo, commit.id, path), file.size);
  return sendBody(req, res, src, { headers: { ...common, "Content-Type": contentTypeOf(path) }, takeFault });
}

export async function handleCdn(
  ctx: HubContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  target: RequestTarget,
  log: RequestLogEntry,
  repo: string,
  sha256: string,
  found: { commit: string; path: string } | undefined,
): Promise<void> {
  const head = req.method === "HEAD";
  const expires = Number(url.searchParams.get("Expires"));
  const given = Buffer.from(url.searchParams.get("Signature") ?? "", "utf8");
  const wanted = Buffer.from(cdnSignature(ctx.secret, repo, sha256, expires), "utf8");
  const signed = given.length === wanted.length && timingSafeEqual(given, wanted);
  if (!signed || !(expires * 1000 > Date.now())) return sendError(res, 403, undefined, "Access denied: missing, invalid or expired signature", { head });
  if (!found) return sendError(res, 404, undefined, "Not found", { head });
  const commit = (await ctx.store.getCommit(repo, found.commit))!;
  const file = commit.files[found.path]!;
  const takeFault = () => {
    const f = ctx.faults.take(target, "body");
    if (f) log.fault = f.kind;
    return f;
  };
  const src = fileSource(ctx.store.filePath(repo, found.commit, found.path), file.size);
  // S3 behind the Hub's CDN names an LFS object by its sha256; its ETag is that digest here.
  return sendBody(req, res, src, { headers: { ETag: `"${sha256}"`, "Content-Type": "application/octet-stream" }, takeFault });
}
