/**
 * The JSON API: model info, tree listing with pagination, paths-info, refs.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BadRequest, checkAccess, commitAt, TRUE, type HubContext } from "./context.js";
import { entryNotFound, sendJson } from "./hub-errors.js";
import type { CommitRecord } from "./storage.js";

/** A stable 24-hex `_id`, the shape of the Hub's Mongo ids. */
function mongoId(repo: string): string {
  return createHash("sha1").update(repo).digest("hex").slice(0, 24);
}

// ---------------------------------------------------------------- tree entries

interface Entry {
  type: "file" | "directory";
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number; pointerSize: number };
  lastCommit?: { id: string; title: string; date: string };
  securityFileStatus?: { status: string };
}

function entryFor(commit: CommitRecord, path: string): Entry | undefined {
  const f = commit.files[path];
  if (f) return { type: "file", oid: f.oid, size: f.size, path, ...(f.lfs ? { lfs: { ...f.lfs } } : {}) };
  const d = commit.dirs[path];
  if (d && path !== "") return { type: "directory", oid: d, size: 0, path };
  return undefined;
}

/** Children of `dir` in git tree order; with `recursive`, every descendant, each directory before its contents. */
function listDir(commit: CommitRecord, dir: string, recursive: boolean): Entry[] {
  const prefix = dir === "" ? "" : `${dir}/`;
  const names = new Map<string, "file" | "directory">();
  for (const p of Object.keys(commit.files)) {
    if (!p.startsWith(prefix)) continue;
    const rest = p.slice(prefix.length);
    const slash = rest.indexOf("/");
    names.set(slash < 0 ? rest : rest.slice(0, slash), slash < 0 ? "file" : "directory");
  }
  const key = (n: string, k: string) => Buffer.from(k === "directory" ? `${n}/` : n);
  const sorted = [...names].sort(([a, ka], [b, kb]) => Buffer.compare(key(a, ka), key(b, kb)));
  const out: Entry[] = [];
  for (const [name, kind] of sorted) {
    const path = prefix + name;
    out.push(entryFor(commit, path)!);
    if (recursive && kind === "directory") out.push(...listDir(commit, path, true));
  }
  return out;
}

async function expandEntry(ctx: HubContext, repo: string, commit: CommitRecord, e: Entry): Promise<Entry> {
  const last = await ctx.store.lastCommitOf(repo, commit.id, e.path);
  return {
    ...e,
    ...(last ? { lastCommit: { id: last.id, title: last.message.split("\n")[0] ?? "", date: last.date } } : {}),
    // The Hub reports its malware/pickle scan here; nothing is scanned locally.
    ...(e.type === "file" ? { securityFileStatus: { status: "unscanned" } } : {}),
  };
}

/** `endless`: the page size of an `endless-pages` listing, carried from page to page. */
function encodeCursor(offset: number, endless?: number): string {
  return Buffer.from(JSON.stringify(endless === undefined ? { o: offset } : { o: offset, e: endless })).toString("base64url");
}

function decodeCursor(cursor: string): { offset: number; endless?: number } {
  try {
    const { o, e } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { o?: unknown; e?: unknown };
    const ok = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 0;
    if (ok(o) && (e === undefined || ok(e))) return { offset: o, ...(ok(e) ? { endless: e } : {}) };
  } catch {
    // fall through
  }
  throw new BadRequest("invalid cursor");
}

/** A page of an endless listing: made-up one-byte files, and always a next page. */
function endlessPage(ctx: HubContext, req: IncomingMessage, res: ServerResponse, url: URL, offset: number, perPage: number): void {
  const page: Entry[] = Array.from({ length: perPage }, (_, i) => ({
    type: "file",
    oid: createHash("sha1").update(`blob 1\0${(offset + i) % 256}`).digest("hex"),
    size: 1,
    path: `endless/${offset + i}.bin`,
  }));
  const next = new URL(url.pathname + url.search, ctx.hubBase(req));
  next.searchParams.set("cursor", encodeCursor(offset + perPage, perPage));
  sendJson(res, 200, page, { Link: `<${next.href}>; rel="next"` });
}

export async function handleTree(ctx: HubContext, req: IncomingMessage, res: ServerResponse, url: URL, repo: string, rest: string[]): Promise<void> {
  const [rev, ...pathSegs] = rest;
  if (rev === undefined || rev === "") throw new BadRequest("missing revision");
  if ((await checkAccess(ctx, req, res, repo, true)) === "handled") return;
  const commit = await commitAt(ctx, req, res, repo, rev);
  if (!commit) return;
  const dir = pathSegs.filter((s) => s !== "").join("/");
  if (dir !== "" && commit.dirs[dir] === undefined) {
    entryNotFound(res, { "X-Repo-Commit": commit.id }, false);
    return;
  }
  const recursive = TRUE.has(url.searchParams.get("recursive") ?? "");
  const expand = TRUE.has(url.searchParams.get("expand") ?? "");
  const cursor = url.searchParams.get("cursor");
  const { offset, endless } = cursor ? decodeCursor(cursor) : { offset: 0, endless: undefined };
  // An endless-pages fault hits the first page of a listing; its cursors carry it to every next one.
  const fault = cursor ? undefined : ctx.faults.take({ endpoint: "api", method: req.method ?? "GET", repo }, "listing");
  if (endless !== undefined || fault) return endlessPage(ctx, req, res, url, offset, endless ?? fault?.entriesPerPage ?? ctx.pageSize);
  const all = listDir(commit, dir, recursive);
  const page = all.slice(offset, offset + ctx.pageSize);
  const body = expand ? await Promise.all(page.map((e) => expandEntry(ctx, repo, commit, e))) : page;
  const headers: Record<string, string> = {};
  if (offset + ctx.pageSize < all.length) {
    // `@huggingface/hub` only follows an absolute http(s) URL in `<...>; rel="next"` (parseLinkHeader).
    const next = new URL(url.pathname + url.search, ctx.hubBase(req));
    next.searchParams.set("cursor", encodeCursor(offset + ctx.pageSize));
    headers["Link"] = `<${next.href}>; rel="next"`;
  }
  sendJson(res, 200, body, headers);
}

// ---------------------------------------------------------------- paths-info

const MAX_BODY = 1 << 20;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new BadRequest("request body too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** `@huggingface/hub` posts JSON; huggingface_hub posts a form with repeated `paths` and `expand=True`. */
async function pathsInfoParams(req: IncomingMessage): Promise<{ paths: string[]; expand: boolean }> {
  const raw = await readBody(req);
  const type = req.headers["content-type"] ?? "";
  if (type.includes("application/json")) {
    let json: { paths?: unknown; expand?: unknown };
    try {
      json = JSON.parse(raw) as typeof json;
    } catch {
      throw new BadRequest("invalid JSON body");
    }
    const paths = typeof json.paths === "string" ? [json.paths] : json.paths;
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === "string")) throw new BadRequest("paths must be a list of strings");
    return { paths, expand: json.expand === true || TRUE.has(String(json.expand)) };
  }
  const form = new URLSearchParams(raw);
  return { paths: form.getAll("paths"), expand: TRUE.has(form.get("expand") ?? "") };
}

export async function handlePathsInfo(ctx: HubContext, req: IncomingMessage, res: ServerResponse, repo: string, rest: string[]): Promise<void> {
  const rev = rest.join("/");
  if (rev === "") throw new BadRequest("missing revision");
  const params = await pathsInfoParams(req);
  if ((await checkAccess(ctx, req, res, repo, true)) === "handled") return;
  const commit = await commitAt(ctx, req, res, repo, rev);
  if (!commit) return;
  // Paths that do not exist are left out, not an error (HfApi.get_paths_info).
  const found = [...new Set(params.paths.map((p) => p.replace(/^\/+|\/+$/g, "")))]
    .map((p) => entryFor(commit, p))
    .filter((e): e is Entry => e !== undefined);
  const body = params.expand ? await Promise.all(found.map((e) => expandEntry(ctx, repo, commit, e))) : found;
  sendJson(res, 200, body);
}

// ---------------------------------------------------------------- model info and refs

async function rootCommitDate(ctx: HubContext, repo: string, commit: CommitRecord): Promise<string> {
  let cur = commit;
  for (let parent = cur.parents[0]; parent; parent = cur.parents[0]) {
    const p = await ctx.store.getCommit(repo, parent);
    if (!p) break;
    cur = p;
  }
  return cur.date;
}

export async function handleModelInfo(ctx: HubContext, req: IncomingMessage, res: ServerResponse, url: URL, repo: string, rev: string | undefined): Promise<void> {
  if ((await checkAccess(ctx, req, res, repo, rev !== undefined)) === "handled") return;
  const commit = await commitAt(ctx, req, res, repo, rev ?? "HEAD");
  if (!commit) return;
  const settings = await ctx.store.readSettings(repo);
  const blobs = TRUE.has(url.searchParams.get("blobs") ?? "");
  const siblings = Object.entries(commit.files).map(([rfilename, f]) =>
    blobs
      ? { rfilename, size: f.size, blobId: f.oid, ...(f.lfs ? { lfs: { sha256: f.lfs.oid, size: f.lfs.size, pointerSize: f.lfs.pointerSize } } : {}) }
      : { rfilename },
  );
  const info: Record<string, unknown> = {
    _id: mongoId(repo),
    id: repo,
    modelId: repo,
    author: repo.split("/")[0],
    sha: commit.id,
    lastModified: commit.date,
    createdAt: await rootCommitDate(ctx, repo, commit),
    private: Boolean(settings.private),
    gated: settings.gated ? settings.gated.mode : false,
    disabled: false,
    downloads: 0,
    likes: 0,
    tags: [],
    siblings,
    spaces: [],
  };
  // With `expand`, the Hub returns only the listed properties (plus `_id` and `id`); `modelInfo`
  // always sends some, so it sees `sha` only when asked for with `additionalFields: ["sha"]`.
  const expand = [...url.searchParams.getAll("expand"), ...url.searchParams.getAll("expand[]")];
  const body = expand.length === 0 ? info : Object.fromEntries(Object.entries(info).filter(([k]) => k === "_id" || k === "id" || expand.includes(k)));
  sendJson(res, 200, body);
}

export async function handleRefs(ctx: HubContext, req: IncomingMessage, res: ServerResponse, repo: string): Promise<void> {
  if ((await checkAccess(ctx, req, res, repo, true)) === "handled") return;
  const refs = await ctx.store.readRefs(repo);
  const list = (m: Record<string, string>, prefix: string) =>
    Object.entries(m).map(([name, targetCommit]) => ({ name, ref: `${prefix}${name}`, targetCommit }));
  sendJson(res, 200, { branches: list(refs.branches, "refs/heads/"), tags: list(refs.tags, "refs/tags/"), converts: [] });
}
