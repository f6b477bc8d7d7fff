import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { onnxRepoFiles } from "../hub/hub-fixture.js";
import { runCli } from "../helpers/run-cli.js";

const CLI = join(import.meta.dirname, "../../local-hub/cli.ts");
let dir: string;
let child: ChildProcess | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "local-hub-cli-"));
});
afterEach(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
  child = undefined;
  await rm(dir, { recursive: true, force: true });
});

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

async function firstLine(p: ChildProcess): Promise<string> {
  const rl = createInterface({ input: p.stdout! });
  const [line] = (await once(rl, "line")) as [string];
  rl.close();
  return line;
}

describe("local-hub/cli.ts", () => {
  it("serves a folder, imports --repo folders, prints its URL first and stops cleanly on SIGTERM", async () => {
    const src = join(dir, "src");
    await mkdir(join(src, "onnx"), { recursive: true });
    await writeFile(join(src, "config.json"), "{}");
    await writeFile(join(src, "onnx/model.onnx"), Buffer.alloc(2048, 3));
    child = start(["--root", join(dir, "root"), "--port", "0", "--page-size", "1", "--repo", `org/imported=${src}`]);
    const url = await firstLine(child);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tree = await fetch(`${url}/api/models/org/imported/tree/main?recursive=true`);
    expect(tree.headers.get("link")).toMatch(/rel="next"/);
    const onnx = await fetch(`${url}/org/imported/resolve/main/onnx/model.onnx`);
    expect(Buffer.from(await onnx.arrayBuffer())).toEqual(Buffer.alloc(2048, 3));
    expect(JSON.parse(await readFile(join(dir, "root/org/imported/refs.json"), "utf8")).branches.main).toMatch(/^[0-9a-f]{40}$/);
    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
  });

  it("--folders serves plain org/name folders live: an edit is a new commit, which add shows and add --update pins", async () => {
    const folder = join(dir, "models", "org", "tiny");
    for (const [path, bytes] of Object.entries(onnxRepoFiles())) {
      await mkdir(join(folder, path, ".."), { recursive: true });
      await writeFile(join(folder, path), bytes);
    }
    child = start(["--folders", join(dir, "models")]);
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const url = await firstLine(child);
    expect(err).toMatch(/^imported org\/tiny at [0-9a-f]{40}$/m);
    const lockfile = join(dir, "models.lock.json");
    const g = ["--lockfile", lockfile, "--cache-dir", join(dir, "cache")];
    const env = { HF_ENDPOINT: url, HF_TOKEN: "", HF_HUB_OFFLINE: "" };
    expect((await runCli([...g, "add", "org/tiny"], { env })).code).toBe(0);
    const first = JSON.parse(await readFile(lockfile, "utf8")).models.tiny.revision as string;

    // The user edits the folder: no restart, no script.
    await writeFile(join(folder, "config.json"), '{"model_type":"add","edited":true}\n');
    const drift = await runCli([...g, "add", "org/tiny"], { env });
    expect(drift.stderr).toMatch(/~ config\.json: sha256/);
    expect(drift.stderr).toMatch(/LOCK_DRIFT|--update/);
    expect(drift.code).toBe(1);
    expect(err).toMatch(/^committed org\/tiny at [0-9a-f]{40}$/m);
    const updated = await runCli([...g, "add", "org/tiny", "--update"], { env });
    expect(updated.code).toBe(0);
    const second = JSON.parse(await readFile(lockfile, "utf8")).models.tiny.revision as string;
    expect(second).not.toBe(first);
    expect(err).toContain(`committed org/tiny at ${second}`);
    // The old commit is still there, as on the Hub.
    expect(await (await fetch(`${url}/org/tiny/resolve/${first}/config.json`)).text()).toBe('{"model_type":"add"}\n');
    // Unchanged folder, no new commit.
    expect((await runCli([...g, "add", "org/tiny"], { env })).code).toBe(0);
    expect(err.match(/committed org\/tiny/g)).toHaveLength(1);

    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(0);
  });

  it("exits 2 with a message when --root is missing", async () => {
    child = start([]);
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(2);
    expect(err).toMatch(/--root DIR is required/);
  });
});
