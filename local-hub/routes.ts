/**
 * The Hub's HTTP surface for model repos, served from a RepoStore:
 *
 *   GET       /api/models/{org}/{name}                          model info at the default branch
 *   GET       /api/models/{org}/{name}/revision/{rev}           model info at a revision (`sha` = the commit)
 *   GET       /api/models/{org}/{name}/tree/{rev}[/{path}]      tree listing, `recursive`, `expand`, `cursor` + `Link`
 *   POST      /api/models/{org}/{name}/paths-info/{rev}         `paths`, `expand` as JSON or a form
 *   GET       /api/models/{org}/{name}/refs                     branches and tags
 *   GET|HEAD  /{org}/{name}/resolve/{rev}/{path}                bytes, or a 302 to the CDN path for LFS files
 *   GET|HEAD  /{org}/{name}/raw/{rev}/{path}                    what git stores (the pointer of an LFS file)
 *   GET|HEAD  /_cdn/{org}/{name}/{sha256}?Expires=&Signature=   LFS bytes, pre-signed like the Hub's CDN URLs
 *
 * Revisions in the URL may be percent-encoded (`refs%2Fheads%2Fmain`), as clients encode them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { handleModelInfo, handlePathsInfo, handleRefs, handleTree } from "./api-routes.js";
import { BadRequest, type HubContext, type RequestLogEntry } from "./context.js";
import type { FaultKind, RequestTarget } from "./faults.js";
import { handleCdn, handleFile } from "./file-routes.js";
import { sendError } from "./hub-errors.js";
import { isRepoId } from "./storage.js";

export type { HubContext, RequestLogEntry } from "./context.js";

function decodeSegments(pathname: string): string[] {
  try {
    return pathname.split("/").slice(1).map(decodeURIComponent);
  } catch {
    throw new BadRequest("malformed percent-encoding in the URL");
  }
}

function sendStatusFault(res: ServerResponse, kind: FaultKind, retryAfter: number, head: boolean): void {
  if (kind === "status-429") {
    // The Hub sends IETF draft RateLimit headers on 429 (huggingface_hub#3553); Retry-After is the standard one.
    sendError(res, 429, undefined, "Too Many Requests: rate limit reached", {
      head,
      headers: {
        "Retry-After": String(retryAfter),
        RateLimit: `"api";r=0;t=${retryAfter}`,
        "RateLimit-Policy": `"fixed window";"api";q=500;w=300`,
      },
    });
  } else if (kind === "status-503") sendError(res, 503, undefined, "Service Unavailable", { head });
  else sendError(res, 500, undefined, "Internal Error", { head });
}

export async function handleRequest(ctx: HubContext, req: IncomingMessage, res: ServerResponse, log: RequestLogEntry): Promise<void> {
  const head = req.method === "HEAD";
  try {
    const url = new URL(req.url ?? "/", "http://local-hub.invalid");
    const segs = decodeSegments(url.pathname);
    let route: (() => Promise<void>) | undefined;
    const target: RequestTarget = { endpoint: "api", method: req.method ?? "GET" };
    const isGet = req.method === "GET" || head;

    if (segs[0] === "api" && segs[1] === "models" && segs.length >= 4) {
      const repo = `${segs[2]}/${segs[3]}`;
      const [action, ...rest] = segs.slice(4);
      Object.assign(target, { endpoint: "api", repo });
      if ((action === undefined || action === "") && isGet) route = () => handleModelInfo(ctx, req, res, url, repo, undefined);
      else if (action === "revision" && isGet && rest.length > 0) route = () => handleModelInfo(ctx, req, res, url, repo, rest.join("/"));
      else if (action === "tree" && isGet) route = () => handleTree(ctx, req, res, url, repo, rest);
      else if (action === "paths-info" && req.method === "POST") route = () => handlePathsInfo(ctx, req, res, repo, rest);
      else if (action === "refs" && isGet) route = () => handleRefs(ctx, req, res, repo);
    } else if (segs[0] === "_cdn" && segs.length === 4 && isGet) {
      const repo = `${segs[1]}/${segs[2]}`;
      // The file path is looked up first so that faults aimed at a path hit its CDN requests too.
      const found = isRepoId(repo) ? await ctx.store.findLfsObject(repo, segs[3]!) : undefined;
      Object.assign(target, { endpoint: "cdn", repo, ...(found ? { path: found.path } : {}) });
      route = () => handleCdn(ctx, req, res, url, target, log, repo, segs[3]!, found);
    } else if ((segs[2] === "resolve" || segs[2] === "raw") && segs.length >= 5 && isGet) {
      const repo = `${segs[0]}/${segs[1]}`;
      const path = segs.slice(4).join("/");
      Object.assign(target, { endpoint: segs[2], repo, path });
      route = () => handleFile(ctx, req, res, target, log, repo, segs[3]!, path);
    }
    log.endpoint = target.endpoint;
    if (target.repo !== undefined) log.repo = target.repo;
    if (target.path !== undefined) log.path = target.path;
    if (!route) return sendError(res, 404, undefined, "Not Found", { head });

    const status = ctx.faults.take(target, "status");
    if (status) {
      log.fault = status.kind;
      req.resume();
      return sendStatusFault(res, status.kind, status.retryAfterSeconds ?? 1, head);
    }
    await route();
  } catch (e) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e instanceof BadRequest) return sendError(res, 400, undefined, e.message, { head });
    sendError(res, 500, undefined, `Internal Error: ${(e as Error).message}`, { head });
  }
}
