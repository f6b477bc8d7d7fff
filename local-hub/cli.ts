/**
 * Runs the local Hub from a shell:
 *
 *   npx tsx local-hub/cli.ts --root DIR [--port N] [--host H] [--page-size N]
 *                            [--repo org/name=LOCAL_DIR ...] [--cdn same-origin|separate-origin] [--verbose]
 *
 * `--repo` imports a local folder as a repo at startup (one commit on main) unless the repo exists.
 * The first line on stdout is the Hub URL, for `HF_ENDPOINT`; --verbose logs requests on stderr.
 */
import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { parseArgs } from "node:util";
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
      "usage: tsx local-hub/cli.ts --root DIR [--port N] [--host H] [--page-size N] [--repo org/name=DIR ...] [--cdn same-origin|separate-origin] [--verbose]\n",
    );
    return;
  }
  if (!values.root) throw new Error("--root DIR is required (the folder of repos to serve)");
  if (values.cdn !== "same-origin" && values.cdn !== "separate-origin") throw new Error("--cdn must be same-origin or separate-origin");
  const port = Number(values.port);
  const pageSize = values["page-size"] === undefined ? undefined : Number(values["page-size"]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("--port must be 0..65535");
  if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize > 0)) throw new Error("--page-size must be a positive integer");

  const hub = await startLocalHub({
    root: values.root,
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
  process.stdout.write(`${hub.url}\n`);
  const stop = () => void hub.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`local-hub: ${(e as Error).message}\n`);
  process.exit(2);
});
