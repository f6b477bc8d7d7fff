/**
 * Runs the local Hub from a shell:
 *
 *   npx tsx local-hub/cli.ts (--root DIR | --folders DIR | both) [--port N] [--host H] [--page-size N]
 *                            [--repo org/name=LOCAL_DIR ...] [--cdn same-origin|separate-origin] [--verbose]
 *
 * `--folders DIR` serves every `DIR/org/name/` folder as the repo `org/name`, live: a change to the
 * folder is a new commit on main at the next request (see folder-repos.ts). `--root` is where the
 * commits are stored (default with --folders: a temp folder, removed on exit).
 * `--repo` imports a local folder as a repo at startup (one commit on main) unless the repo exists.
 * The first line on stdout is the Hub URL, for `HF_ENDPOINT`; --verbose logs requests on stderr.
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { parseArgs } from "node:util";
import { serveFolders, type FolderRepos } from "./folder-repos.js";
import { startLocalHub } from "./server.js";
import type { FileContent } from "./storage.js";

async function folderFiles(dir: string): Promise<Record<string, FileContent>> {
  const files: Record<string, FileContent> = {};
  const walk = async (d: string): Promise<void> => {
    for (const ent of await readdir(d, { withFileTypes: true })) {
      const full = join(d, ent.name);
      if (ent.isDirectory()) {
        if (ent.name !== ".git") await walk(full);
      } else if (ent.isFile()) files[relative(dir, full).split(sep).join("/")] = { path: full };
    }
  };
  if (!(await stat(dir)).isDirectory()) throw new Error(`${dir} is not a directory`);
  await walk(dir);
  return files;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: "string" },
      folders: { type: "string" },
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      "page-size": { type: "string" },
      repo: { type: "string", multiple: true, default: [] },
      cdn: { type: "string", default: "same-origin" },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: tsx local-hub/cli.ts (--root DIR | --folders DIR) [--port N] [--host H] [--page-size N] [--repo org/name=DIR ...] [--cdn same-origin|separate-origin] [--verbose]\n" +
        "  --folders DIR  serve each DIR/org/name/ folder as the repo org/name; a change to it is a new commit on main\n" +
        "  --root DIR     where the repos' commits are kept (default with --folders: a temp folder)\n",
    );
    return;
  }
  if (!values.root && !values.folders) throw new Error("--root DIR is required (the folder of repos to serve), or --folders DIR (a folder of plain org/name folders)");
  if (values.folders && !(await stat(values.folders).catch(() => undefined))?.isDirectory()) throw new Error(`--folders ${values.folders} is not a directory`);
  if (values.cdn !== "same-origin" && values.cdn !== "separate-origin") throw new Error("--cdn must be same-origin or separate-origin");
  const port = Number(values.port);
  const pageSize = values["page-size"] === undefined ? undefined : Number(values["page-size"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port must be 0..65535");
  if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize > 0)) throw new Error("--page-size must be a positive integer");

  let folders: FolderRepos | undefined;
  const hub = await startLocalHub({
    ...(values.root ? { root: values.root } : {}),
    beforeRequest: async () => {
      for (const c of (await folders?.sync()) ?? []) process.stderr.write(`${c.created ? "imported" : "committed"} ${c.repo} at ${c.sha}\n`);
    },
    port,
    host: values.host,
    pageSize,
    cdn: values.cdn,
    onRequest: values.verbose
      ? (e) => process.stderr.write(`${e.method} ${e.url} ${e.range ?? ""} -> ${e.status ?? "dropped"}${e.fault ? ` [${e.fault}]` : ""}\n`)
      : undefined,
  });
  for (const spec of values.repo) {
    const eq = spec.indexOf("=");
    if (eq < 0) throw new Error(`--repo expects org/name=DIR, got ${spec}`);
    const repo = spec.slice(0, eq);
    if (await hub.store.exists(repo)) continue;
    const sha = await hub.createRepo(repo, { files: await folderFiles(spec.slice(eq + 1)) });
    process.stderr.write(`imported ${repo} at ${sha}\n`);
  }
  if (values.folders) {
    folders = serveFolders(hub, values.folders);
    await folders.sync().then(
      (created) => {
        for (const c of created) process.stderr.write(`imported ${c.repo} at ${c.sha}\n`);
      },
      async (err: unknown) => {
        await hub.close();
        throw err;
      },
    );
  }
  process.stdout.write(`${hub.url}\n`);
  const stop = () => void hub.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`local-hub: ${(e as Error).message}\n`);
  process.exit(2);
});
