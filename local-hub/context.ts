/**
 * What every route shares: the server context, the request log entry, who is calling, and the two
 * checks every repo-scoped route starts with (may this caller see the repo, does the revision exist).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { gatedRepo, repoNotFound, revisionNotFound, type Caller } from "./hub-errors.js";
import type { Endpoint, FaultKind, FaultRegistry } from "./faults.js";
import type { CommitRecord, RepoStore } from "./storage.js";

export interface RequestLogEntry {
  method: string;
  /** Path and query, as received. */
  url: string;
  endpoint?: Endpoint;
  repo?: string;
  /** File path in the repo, for resolve/raw/CDN requests. */
  path?: string;
  /** The Range header, if any ("bytes=N-"). */
  range?: string;
  /** Whether an Authorization header came with it (to check a token is not sent to the CDN). */
  authorization: boolean;
  /** Set once the status line is sent. */
  status?: number;
  fault?: FaultKind;
}

export interface HubContext {
  store: RepoStore;
  faults: FaultRegistry;
  pageSize: number;
  /** Base URL of the Hub as the client reached it (for `Link` and error messages). */
  hubBase(req: IncomingMessage): string;
  /** Base URL LFS redirects point to. */
  cdnBase(req: IncomingMessage): string;
  /** Key that signs CDN URLs: only a `resolve` answer hands out a working one, as on the Hub. */
  secret: Buffer;
  cdnUrlLifetimeSeconds: number;
}

export class BadRequest extends Error {}

export const TRUE = new Set(["1", "true", "True"]);

export function callerOf(req: IncomingMessage): Caller {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  return m ? { token: m[1] } : {};
}

type Access = "ok" | "handled";

/**
 * Private repos are invisible (RepoNotFound) without a token that may read them. Gated repos show
 * their card (`/api/models/{repo}`) but refuse files and revision-scoped API calls (GatedRepo).
 */
export async function checkAccess(ctx: HubContext, req: IncomingMessage, res: ServerResponse, repo: string, gatedApplies: boolean): Promise<Access> {
  const caller = callerOf(req);
  const head = req.method === "HEAD";
  if (!(await ctx.store.exists(repo))) {
    repoNotFound(res, caller, head);
    return "handled";
  }
  const settings = await ctx.store.readSettings(repo);
  if (settings.private && !(caller.token && settings.private.tokens.includes(caller.token))) {
    repoNotFound(res, caller, head);
    return "handled";
  }
  if (gatedApplies && settings.gated && !(caller.token && settings.gated.tokens.includes(caller.token))) {
    gatedRepo(res, caller, repo, ctx.hubBase(req), head);
    return "handled";
  }
  return "ok";
}

export async function commitAt(ctx: HubContext, req: IncomingMessage, res: ServerResponse, repo: string, rev: string): Promise<CommitRecord | undefined> {
  const sha = await ctx.store.resolveRevision(repo, rev);
  const commit = sha ? await ctx.store.getCommit(repo, sha) : undefined;
  if (!commit) revisionNotFound(res, rev, req.method === "HEAD");
  return commit;
}
