/**
 * Plain folders served as live repos (`local-hub/cli.ts --folders DIR`): `DIR/{org}/{name}/` is the
 * repo `org/name`, its files as they are on disk. `sync()` commits whatever changed since the last
 * call (added, changed or deleted files) onto `main`, so editing a file and asking the Hub again
 * shows a new commit, as a push to the Hub would; the older commits stay, so a lockfile pinned to
 * one still resolves and pulls. A folder that appears later becomes a new repo on the next sync.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { LocalHub } from "./server.js";
import type { FileContent } from "./storage.js";

interface Seen {
  /** path -> "size mtime inode": enough to notice an edit without hashing every file on every request. */
  files: Map<string, string>;
}

async function listFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string, prefix: string): Promise<void> => {
    for (const ent of await readdir(d, { withFileTypes: true })) {
      if (ent.name === ".git") continue;
      const full = join(d, ent.name);
      const path = prefix ? `${prefix}/${ent.name}` : ent.name;
      if (ent.isDirectory()) await walk(full, path);
      else if (ent.isFile()) {
        const s = await stat(full);
        out.set(path, `${s.size} ${s.mtimeMs} ${s.ino}`);
      }
    }
  };
  await walk(dir, "");
  return out;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function subfolders(dir: string): Promise<string[]> {
  return (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name);
}

export interface FolderRepos {
  /** Brings every repo up to date with its folder; returns the repos that got a new commit, with its sha. */
  sync(): Promise<Array<{ repo: string; sha: string; created: boolean }>>;
}

export function serveFolders(hub: LocalHub, dir: string): FolderRepos {
  const seen = new Map<string, Seen>();
  let running: Promise<Array<{ repo: string; sha: string; created: boolean }>> | undefined;

  const syncOnce = async () => {
    const changed: Array<{ repo: string; sha: string; created: boolean }> = [];
    for (const org of await subfolders(dir)) {
      for (const name of await subfolders(join(dir, org))) {
        const repo = `${org}/${name}`;
        const folder = join(dir, org, name);
        const files = await listFiles(folder);
        const before = seen.get(repo);
        if (files.size === 0 && !before) continue; // nothing to commit yet
        const update: Record<string, FileContent | null> = {};
        const fileAt = (path: string) => join(folder, ...path.split("/"));
        if (!before && (await hub.store.exists(repo))) {
          // A repo the store already holds (a --root kept from an earlier run): bring it to the
          // folder's state, by content, so an unchanged folder adds no commit.
          const head = await hub.resolveRevision(repo, "main");
          const record = head ? await hub.store.getCommit(repo, head) : undefined;
          const committed = record?.files ?? {};
          for (const path of files.keys()) {
            if (committed[path]?.sha256 !== (await sha256Of(fileAt(path)))) update[path] = { path: fileAt(path) };
          }
          for (const path of Object.keys(committed)) if (!files.has(path)) update[path] = null;
        } else {
          for (const [path, sig] of files) if (before?.files.get(path) !== sig) update[path] = { path: fileAt(path) };
          for (const path of before?.files.keys() ?? []) if (!files.has(path)) update[path] = null;
        }
        if (!(await hub.store.exists(repo))) {
          const sha = await hub.createRepo(repo, { files: update as Record<string, FileContent>, message: `import ${folder}` });
          changed.push({ repo, sha, created: true });
        } else if (Object.keys(update).length > 0) {
          const sha = await hub.commit(repo, update, { message: `${folder} changed` });
          changed.push({ repo, sha, created: false });
        }
        seen.set(repo, { files });
      }
    }
    return changed;
  };

  return {
    // One sync at a time; callers arriving during one wait for it and then run their own, so a
    // request always sees the folder as it was when it arrived, or later.
    async sync() {
      while (running) await running.catch(() => undefined);
      running = syncOnce();
      try {
        return await running;
      } finally {
        running = undefined;
      }
    },
  };
}
