import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

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

  it("exits 2 with a message when --root is missing", async () => {
    child = start([]);
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const [code] = (await once(child, "exit")) as [number];
    expect(code).toBe(2);
    expect(err).toMatch(/--root DIR is required/);
  });
});
