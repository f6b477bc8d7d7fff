/**
 * Repo storage on disk: what the local Hub serves, in a layout a person can read and edit.
 *
 *   ROOT/{org}/{name}/refs.json              {"branches": {"main": sha}, "tags": {"v1.0": sha}}
 *   ROOT/{org}/{name}/settings.json          {"private": {"tokens": [...]}, "gated": {"mode": "manual", "tokens": [...]}}
 *   ROOT/{org}/{name}/commits/{sha}/...      the files of that commit, as plain files (LFS files hold their real bytes)
 *   ROOT/{org}/{name}/commits/{sha}.json     the commit's manifest: parents, message, date, and per file
 *                                            size, sha256, git blob oid and LFS metadata (a cache: if it is
 *                                            missing the folder is indexed with the default LFS rule)
 *
 * Commit ids are real git commit ids over real git trees (LFS files enter the tree as their pointer
 * blobs, as on the Hub), so they are deterministic: the same files, parents, message and date give
 * the same sha. Files of a commit never change once written; a new commit hard-links what it keeps.
 */
import { randomBytes } from "node:crypto";
import { constants as fsConstants } from "node:fs";
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { digestBytes, digestFile, gitCommitOid, gitTreeOid, lfsPointer, type Digests, type TreeEntry } from "./git-oid.js";

/** Bytes, UTF-8 text, or a local file to copy in (for big files that should not sit in memory). */
export type FileContent = Uint8Array | string | { path: string };

export interface LfsInfo {
  /** sha256 of the real bytes: what the Hub calls the LFS oid. */
  oid: string;
  size: number;
  pointerSize: number;
}

export interface FileRecord {
  size: number;
  /** git blob SHA-1 of what git stores: the bytes, or the LFS pointer for an LFS file. */
  oid: string;
  sha256: string;
  lfs?: LfsInfo;
}

export interface CommitRecord {
  id: string;
  tree: string;
  parents: string[];
  message: string;
  author: string;
  date: string;
  files: Record<string, FileRecord>;
  /** Every directory ("" is the root) with its git tree oid. */
  dirs: Record<string, string>;
}

export interface Refs {
  branches: Record<string, string>;
  tags: Record<string, string>;
}

export interface RepoSettings {
  private?: { tokens: string[] };
  gated?: { mode: "auto" | "manual"; tokens: string[] };
}

export type LfsRule = (path: string, size: number) => boolean;

/**
 * The Hub stores big and binary files in LFS through `.gitattributes` patterns (and refuses plain git
 * files over 10 MB); this stand-in keeps small tests realistic: 10 KiB and up, or a model-weight
 * extension, is LFS.
 */
export const defaultLfsRule: LfsRule = (path, size) =>
  size >= 10 * 1024 || /\.(onnx|onnx_data|bin|safetensors)$/i.test(path);

export interface CommitOptions {
  branch?: string;
  message?: string;
  lfs?: LfsRule;
  author?: string;
  /** Commit date; defaults to a fixed epoch plus one minute per ancestor, so shas are reproducible. */
  date?: Date;
}

export interface CreateRepoOptions extends CommitOptions {
  files: Record<string, FileContent>;
  tags?: string[];
}

const REPO_ID = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?\/[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_-])?$/;
const SHA = /^[0-9a-f]{40}$/;
const REF_NAME = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;
const BASE_TIME = 1_700_000_000;
const DEFAULT_AUTHOR = "local-hub <local-hub@localhost>";

export function isRepoId(repo: string): boolean {
  return REPO_ID.test(repo) && !repo.includes("..");
}

export function assertRepoId(repo: string): void {
  if (!isRepoId(repo)) throw new Error(`invalid repo id ${JSON.stringify(repo)}: expected "org/name"`);
}

export function assertRepoPath(path: string): void {
  const bad =
    path === "" ||
    path.startsWith("/") ||
    path.includes("\\") ||
    path.includes("\0") ||
    path.split("/").some((s) => s === "" || s === "." || s === "..");
  if (bad) throw new Error(`invalid file path ${JSON.stringify(path)} in a repo`);
}

function assertRefName(name: string): void {
  if (!REF_NAME.test(name) || name.includes("..") || SHA.test(name) || name === "HEAD") {
    throw new Error(`invalid branch or tag name ${JSON.stringify(name)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + "\n");
  await rename(tmp, path);
}

function toRecord(d: Digests, lfs: boolean): FileRecord {
  if (!lfs) return { size: d.size, oid: d.blobOid, sha256: d.sha256 };
  const pointer = lfsPointer(d.sha256, d.size);
  return {
    size: d.size,
    oid: digestBytes(pointer).blobOid,
    sha256: d.sha256,
    lfs: { oid: d.sha256, size: d.size, pointerSize: pointer.length },
  };
}

/** Git tree oids of every directory of a file set, bottom-up. */
export function treeOids(files: Record<string, FileRecord>): Record<string, string> {
  const children = new Map<string, TreeEntry[]>([["", []]]);
  const dirOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
  const baseOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);
  for (const path of Object.keys(files)) {
    let dir = dirOf(path);
    while (!children.has(dir)) {
      children.set(dir, []);
      dir = dirOf(dir);
    }
  }
  for (const [path, rec] of Object.entries(files)) {
    const dir = children.get(dirOf(path))!;
    if (children.has(path)) throw new Error(`${path} is both a file and a directory`);
    dir.push({ name: baseOf(path), kind: "file", oid: rec.oid });
  }
  const dirs: Record<string, string> = {};
  // Deepest first, so every subtree oid is known before its parent is hashed.
  const ordered = [...children.keys()].sort((a, b) => b.split("/").length - a.split("/").length || (a < b ? 1 : -1));
  for (const dir of ordered) {
    if (dir === "") continue;
    dirs[dir] = gitTreeOid(children.get(dir)!);
    children.get(dirOf(dir))!.push({ name: baseOf(dir), kind: "directory", oid: dirs[dir] });
  }
  dirs[""] = gitTreeOid(children.get("")!);
  return dirs;
}

export class RepoStore {
  private readonly commitCache = new Map<string, CommitRecord>();
  private readonly lfsIndex = new Map<string, Map<string, { commit: string; path: string }>>();

  constructor(readonly root: string) {}

  repoDir(repo: string): string {
    assertRepoId(repo);
    return join(this.root, ...repo.split("/"));
  }

  async exists(repo: string): Promise<boolean> {
    return isRepoId(repo) && (await exists(join(this.repoDir(repo), "refs.json")));
  }

  async readRefs(repo: string): Promise<Refs> {
    const raw = await readJson<Record<string, unknown>>(join(this.repoDir(repo), "refs.json"));
    if (!raw) return { branches: {}, tags: {} };
    // A hand-written flat {"main": sha} is read as branches.
    if (!("branches" in raw) && !("tags" in raw)) return { branches: raw as Record<string, string>, tags: {} };
    return { branches: (raw.branches ?? {}) as Record<string, string>, tags: (raw.tags ?? {}) as Record<string, string> };
  }

  private async writeRefs(repo: string, refs: Refs): Promise<void> {
    await writeJsonAtomic(join(this.repoDir(repo), "refs.json"), refs);
  }

  async readSettings(repo: string): Promise<RepoSettings> {
    return (await readJson<RepoSettings>(join(this.repoDir(repo), "settings.json"))) ?? {};
  }

  async updateSettings(repo: string, change: (s: RepoSettings) => RepoSettings): Promise<void> {
    if (!(await this.exists(repo))) throw new Error(`no repo ${repo}`);
    await writeJsonAtomic(join(this.repoDir(repo), "settings.json"), change(await this.readSettings(repo)));
  }

  /**
   * A branch, a tag, a full commit sha, `HEAD` (the default branch, what `modelInfo` asks for when no
   * revision is given) or `refs/heads/x` / `refs/tags/x`. Short shas are not accepted.
   */
  async resolveRevision(repo: string, rev: string): Promise<string | undefined> {
    const refs = await this.readRefs(repo);
    if (rev === "HEAD") rev = "main";
    if (rev.startsWith("refs/heads/")) return refs.branches[rev.slice(11)];
    if (rev.startsWith("refs/tags/")) return refs.tags[rev.slice(10)];
    const named = refs.branches[rev] ?? refs.tags[rev];
    if (named) return named;
    if (SHA.test(rev) && (await this.getCommit(repo, rev))) return rev;
    return undefined;
  }

  commitDir(repo: string, sha: string): string {
    return join(this.repoDir(repo), "commits", sha);
  }

  /** Where the bytes of a file of a commit are. Only call with a path from that commit's manifest. */
  filePath(repo: string, sha: string, path: string): string {
    return join(this.commitDir(repo, sha), ...path.split("/"));
  }

  async getCommit(repo: string, sha: string): Promise<CommitRecord | undefined> {
    if (!SHA.test(sha)) return undefined;
    const key = `${repo}@${sha}`;
    const cached = this.commitCache.get(key);
    if (cached) return cached;
    let rec = await readJson<CommitRecord>(`${this.commitDir(repo, sha)}.json`);
    if (!rec && (await exists(this.commitDir(repo, sha)))) rec = await this.indexFolder(repo, sha);
    if (rec) this.commitCache.set(key, rec);
    return rec;
  }

  /** A commit folder made by hand has no manifest: index it with the default LFS rule, once. */
  private async indexFolder(repo: string, sha: string): Promise<CommitRecord> {
    const dir = this.commitDir(repo, sha);
    const files: Record<string, FileRecord> = {};
    const walk = async (d: string): Promise<void> => {
      for (const ent of await readdir(d, { withFileTypes: true })) {
        const full = join(d, ent.name);
        if (ent.isDirectory()) await walk(full);
        else if (ent.isFile()) {
          const path = relative(dir, full).split(sep).join("/");
          const size = (await stat(full)).size;
          files[path] = toRecord(await digestFile(full, size), defaultLfsRule(path, size));
        }
      }
    };
    await walk(dir);
    const dirs = treeOids(files);
    const rec: CommitRecord = {
      id: sha,
      tree: dirs[""]!,
      parents: [],
      message: "",
      author: DEFAULT_AUTHOR,
      date: (await stat(dir)).mtime.toISOString(),
      files,
      dirs,
    };
    await writeJsonAtomic(`${dir}.json`, rec).catch(() => undefined);
    return rec;
  }

  async listCommits(repo: string): Promise<string[]> {
    const names = await readdir(join(this.repoDir(repo), "commits")).catch(() => [] as string[]);
    return [...new Set(names.map((n) => n.replace(/\.json$/, "")).filter((n) => SHA.test(n)))];
  }

  /** The file of this repo whose LFS oid (sha256) is `sha256`: what the CDN path serves. */
  async findLfsObject(repo: string, sha256: string): Promise<{ commit: string; path: string } | undefined> {
    let index = this.lfsIndex.get(repo);
    if (!index) {
      index = new Map();
      for (const sha of await this.listCommits(repo)) this.indexLfs(index, (await this.getCommit(repo, sha))!);
      this.lfsIndex.set(repo, index);
    }
    return index.get(sha256);
  }

  private indexLfs(index: Map<string, { commit: string; path: string }>, rec: CommitRecord): void {
    for (const [path, f] of Object.entries(rec.files)) {
      if (f.lfs && !index.has(f.lfs.oid)) index.set(f.lfs.oid, { commit: rec.id, path });
    }
  }

  /** The commit that last changed `path` as seen from `sha`, following first parents (`lastCommit` on the Hub). */
  async lastCommitOf(repo: string, sha: string, path: string): Promise<CommitRecord | undefined> {
    const start = await this.getCommit(repo, sha);
    const oid: string | undefined = start?.files[path]?.oid ?? start?.dirs[path];
    if (!start || !oid) return undefined;
    let cur: CommitRecord = start;
    for (;;) {
      const parentSha: string | undefined = cur.parents[0];
      const parent: CommitRecord | undefined = parentSha ? await this.getCommit(repo, parentSha) : undefined;
      if (!parent || (parent.files[path]?.oid ?? parent.dirs[path]) !== oid) return cur;
      cur = parent;
    }
  }

  async createRepo(repo: string, opts: CreateRepoOptions): Promise<string> {
    assertRepoId(repo);
    if (await this.exists(repo)) throw new Error(`repo ${repo} already exists`);
    for (const path of Object.keys(opts.files)) assertRepoPath(path);
    for (const tag of opts.tags ?? []) assertRefName(tag);
    await mkdir(join(this.repoDir(repo), "commits"), { recursive: true });
    await this.writeRefs(repo, { branches: {}, tags: {} });
    try {
      const sha = await this.commit(repo, opts.files, { message: "initial commit", ...opts });
      for (const tag of opts.tags ?? []) await this.setRef(repo, "tag", tag, sha);
      return sha;
    } catch (e) {
      // No half-made repo: it would answer as an existing repo without a main branch.
      await rm(this.repoDir(repo), { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * A new commit on `branch` (default `main`) on top of its current head: `files` are added or
   * replaced, a `null` deletes. The branch then points at the new commit, like a push to the Hub.
   */
  async commit(repo: string, files: Record<string, FileContent | null>, opts: CommitOptions = {}): Promise<string> {
    if (!(await this.exists(repo))) throw new Error(`no repo ${repo}`);
    const branch = opts.branch ?? "main";
    assertRefName(branch);
    const refs = await this.readRefs(repo);
    const parentSha = refs.branches[branch];
    const parent = parentSha ? await this.getCommit(repo, parentSha) : undefined;
    const lfsRule = opts.lfs ?? defaultLfsRule;
    for (const path of Object.keys(files)) assertRepoPath(path);
    const finalPaths = new Set([...Object.keys(parent?.files ?? {}), ...Object.keys(files)]);
    for (const [path, content] of Object.entries(files)) if (content === null) finalPaths.delete(path);
    for (const path of finalPaths) {
      for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
        if (finalPaths.has(path.slice(0, i))) throw new Error(`${path.slice(0, i)} is both a file and a directory`);
      }
    }

    const staging = join(this.repoDir(repo), `.staging-${randomBytes(6).toString("hex")}`);
    try {
      const records: Record<string, FileRecord> = {};
      for (const [path, rec] of Object.entries(parent?.files ?? {})) {
        if (path in files) continue;
        const target = join(staging, ...path.split("/"));
        await mkdir(dirname(target), { recursive: true });
        await link(this.filePath(repo, parent!.id, path), target).catch(() =>
          copyFile(this.filePath(repo, parent!.id, path), target),
        );
        records[path] = rec;
      }
      for (const [path, content] of Object.entries(files)) {
        if (content === null) continue;
        const target = join(staging, ...path.split("/"));
        await mkdir(dirname(target), { recursive: true });
        let digests: Digests;
        if (typeof content === "string" || content instanceof Uint8Array) {
          const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
          await writeFile(target, bytes);
          digests = digestBytes(bytes);
        } else {
          await copyFile(content.path, target, fsConstants.COPYFILE_FICLONE);
          digests = await digestFile(target, (await stat(target)).size);
        }
        records[path] = toRecord(digests, lfsRule(path, digests.size));
      }

      const sorted = Object.fromEntries(Object.entries(records).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const dirs = treeOids(sorted);
      const author = opts.author ?? DEFAULT_AUTHOR;
      const parentTime = parent ? Math.floor(Date.parse(parent.date) / 1000) : BASE_TIME - 60;
      const time = opts.date ? Math.floor(opts.date.getTime() / 1000) : parentTime + 60;
      const changed = Object.keys(files);
      const message =
        opts.message ?? (changed.length === 1 ? `Update ${changed[0]}` : `Update ${changed.length} files`);
      const parents = parent ? [parent.id] : [];
      const id = gitCommitOid({ tree: dirs[""]!, parents, author, time, message });
      const rec: CommitRecord = {
        id,
        tree: dirs[""]!,
        parents,
        message,
        author,
        date: new Date(time * 1000).toISOString(),
        files: sorted,
        dirs,
      };

      const dir = this.commitDir(repo, id);
      if (await exists(dir)) await rm(staging, { recursive: true, force: true });
      else {
        await mkdir(staging, { recursive: true });
        await rename(staging, dir);
      }
      await writeJsonAtomic(`${dir}.json`, rec);
      this.commitCache.set(`${repo}@${id}`, rec);
      const index = this.lfsIndex.get(repo);
      if (index) this.indexLfs(index, rec);

      const latest = await this.readRefs(repo);
      latest.branches[branch] = id;
      await this.writeRefs(repo, latest);
      return id;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async setRef(repo: string, kind: "branch" | "tag", name: string, sha: string): Promise<void> {
    assertRefName(name);
    if (!(await this.getCommit(repo, sha))) throw new Error(`no commit ${sha} in ${repo}`);
    const refs = await this.readRefs(repo);
    (kind === "branch" ? refs.branches : refs.tags)[name] = sha;
    await this.writeRefs(repo, refs);
  }
}
