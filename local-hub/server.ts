/**
 * The local Hub's lifecycle: an HTTP server on loopback over a RepoStore, with the TS API tests use
 * to create repos, move branches, gate repos and arm faults, and a log of every request.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FaultRegistry, type FaultHandle, type FaultSpec } from "./faults.js";
import { handleRequest, type HubContext, type RequestLogEntry } from "./routes.js";
import { RepoStore, type CommitOptions, type CreateRepoOptions, type FileContent } from "./storage.js";

export interface LocalHubOptions {
  /** Folder of repos; a fresh temporary folder (removed on close) by default. */
  root?: string;
  /** Entries per tree page before a `Link: rel="next"`; small values exercise pagination. Default 1000. */
  pageSize?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /**
   * Where LFS redirects point. `same-origin` (default): a path on this server. `separate-origin`: a
   * second listener on another port, so a client's cross-origin rules apply as with the Hub's CDN
   * (fetch drops `Authorization` on a cross-origin redirect).
   */
  cdn?: "same-origin" | "separate-origin";
  /** Lifetime of the pre-signed CDN URLs a redirect hands out. Default 3600 s. */
  cdnUrlLifetimeSeconds?: number;
  /** Called with each request once it is answered (or dropped). */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Awaited before each request is handled (the CLI's `--folders` commits folder changes here); a rejection answers 500. */
  beforeRequest?: () => Promise<unknown>;
}

export interface RepoAccessOptions {
  /** Makes the repo private, readable with these bearer tokens only. */
  private?: string | string[];
  /** Makes the repo gated, its files readable with these bearer tokens only. */
  gated?: string | string[];
}

export interface LocalHub {
  /** "http://127.0.0.1:PORT", to pass as `hubUrl` / `HF_ENDPOINT`. */
  readonly url: string;
  /** Base URL of the CDN path LFS files redirect to (equal to `url` unless `cdn: "separate-origin"`). */
  readonly cdnUrl: string;
  readonly root: string;
  /** Every request, in arrival order; clear it with `requests.length = 0`. */
  readonly requests: RequestLogEntry[];
  readonly store: RepoStore;
  /** Creates "org/name" with one commit on `branch` (default main), tagged with `tags`; returns the commit sha. */
  createRepo(repo: string, opts: CreateRepoOptions & RepoAccessOptions): Promise<string>;
  /** Adds a commit on `opts.branch` (default main) and moves the branch to it; a `null` file deletes. Returns the sha. */
  commit(repo: string, files: Record<string, FileContent | null>, opts?: CommitOptions): Promise<string>;
  /** Points a tag (or, with kind "branch", a branch) at a revision. */
  tag(repo: string, name: string, revision?: string, kind?: "tag" | "branch"): Promise<void>;
  /** The commit sha a revision names, or undefined. */
  resolveRevision(repo: string, revision: string): Promise<string | undefined>;
  /** Private: only these tokens see the repo at all. `false` makes it public again. */
  setPrivate(repo: string, tokens: string | string[] | false): Promise<void>;
  /** Gated: only these tokens may read files. `false` removes the gate. */
  setGated(repo: string, tokens: string | string[] | false, mode?: "auto" | "manual"): Promise<void>;
  injectFault(spec: FaultSpec): FaultHandle;
  clearFaults(): void;
  /** Stops listening and destroys open connections (so a test runner does not hang). */
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolveListen(server.address() as AddressInfo);
    });
  });
}

const tokenList = (t: string | string[]) => (Array.isArray(t) ? t : [t]);

export async function startLocalHub(opts: LocalHubOptions = {}): Promise<LocalHub> {
  const ownsRoot = opts.root === undefined;
  const root = ownsRoot ? await mkdtemp(join(tmpdir(), "local-hub-")) : resolve(opts.root!);
  await mkdir(root, { recursive: true });
  const host = opts.host ?? "127.0.0.1";
  const store = new RepoStore(root);
  const faults = new FaultRegistry();
  const requests: RequestLogEntry[] = [];
  const sockets = new Set<Socket>();
  let url = "";
  let cdnUrl = "";

  // The Host header is how the client reached us (it may differ from 127.0.0.1 behind a port forward).
  const baseFrom = (req: IncomingMessage, fallback: string) => (req.headers.host ? `http://${req.headers.host}` : fallback);
  const ctx: HubContext = {
    store,
    faults,
    pageSize: opts.pageSize ?? 1000,
    hubBase: (req) => baseFrom(req, url),
    cdnBase: (req) => (opts.cdn === "separate-origin" ? cdnUrl : baseFrom(req, url)),
    secret: randomBytes(32),
    cdnUrlLifetimeSeconds: opts.cdnUrlLifetimeSeconds ?? 3600,
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const range = req.headers.range;
    const entry: RequestLogEntry = {
      method: req.method ?? "GET",
      url: req.url ?? "/",
      ...(range ? { range } : {}),
      authorization: req.headers.authorization !== undefined,
    };
    requests.push(entry);
    res.setHeader("X-Request-Id", `local-${randomBytes(8).toString("hex")}`);
    // Recorded as the status line goes out, so a test that has just read a response sees it logged.
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    res.writeHead = ((...args: unknown[]) => {
      entry.status = args[0] as number;
      return writeHead(...args);
    }) as typeof res.writeHead;
    res.once("close", () => {
      if (res.headersSent) entry.status = res.statusCode;
      opts.onRequest?.(entry);
    });
    if (!opts.beforeRequest) {
      void handleRequest(ctx, req, res, entry);
      return;
    }
    opts.beforeRequest().then(
      () => handleRequest(ctx, req, res, entry),
      (err: unknown) => {
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: `local Hub: ${(err as Error).message}` }));
      },
    );
  };

  const servers: Server[] = [];
  const startServer = async (port: number) => {
    const server = createServer(onRequest);
    server.on("connection", (s) => {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    });
    // A client that resets a connection mid-request must not take the server down.
    server.on("clientError", (_err, socket) => socket.destroy());
    servers.push(server);
    const addr = await listen(server, port, host);
    return `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
  };
  url = await startServer(opts.port ?? 0);
  cdnUrl = opts.cdn === "separate-origin" ? await startServer(0) : url;

  let closed = false;
  const hub: LocalHub = {
    url,
    cdnUrl,
    root,
    requests,
    store,
    async createRepo(repo, o) {
      const sha = await store.createRepo(repo, o);
      if (o.private !== undefined) await hub.setPrivate(repo, o.private);
      if (o.gated !== undefined) await hub.setGated(repo, o.gated);
      return sha;
    },
    commit: (repo, files, o) => store.commit(repo, files, o),
    async tag(repo, name, revision = "main", kind = "tag") {
      const sha = await store.resolveRevision(repo, revision);
      if (!sha) throw new Error(`no revision ${revision} in ${repo}`);
      await store.setRef(repo, kind, name, sha);
    },
    resolveRevision: (repo, revision) => store.resolveRevision(repo, revision),
    setPrivate: (repo, tokens) =>
      store.updateSettings(repo, (s) => {
        const { private: _drop, ...rest } = s;
        return tokens === false ? rest : { ...rest, private: { tokens: tokenList(tokens) } };
      }),
    setGated: (repo, tokens, mode = "manual") =>
      store.updateSettings(repo, (s) => {
        const { gated: _drop, ...rest } = s;
        return tokens === false ? rest : { ...rest, gated: { mode, tokens: tokenList(tokens) } };
      }),
    injectFault: (spec) => faults.inject(spec),
    clearFaults: () => faults.clear(),
    async close() {
      if (closed) return;
      closed = true;
      const done = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      for (const s of sockets) s.destroy();
      await Promise.all(done);
      if (ownsRoot) await rm(root, { recursive: true, force: true });
    },
  };
  return hub;
}
