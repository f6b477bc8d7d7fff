/**
 * What sits at a snapshot path may be anything someone with write access to the cache put there:
 * a FIFO, a directory, a symlink to a device. Each is refused by name, with a code, before a byte
 * is read, and never hangs or crashes the gate; every other model keeps its result in the report.
 */
import { execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { mkdir, open, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ModelGuard } from "../../src/guard/guard.js";
import { isModelGuardError } from "../../src/errors.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { buildAddModel } from "../helpers/build-model.js";
import { makeCachedModels } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

const model = buildAddModel({ weights: Float32Array.from([1, 2, 3, 4]), dims: [4] }).model;

/** Two cached models; `bad`'s file `odd.bin` is then replaced by `make(path)`, locked at the size `make` says. */
async function setup(make: (path: string) => Promise<number>) {
  const made = await makeCachedModels({
    good: { repo: "org/good", files: { "model.onnx": model, "config.json": Buffer.from("{}") } },
    bad: { repo: "org/bad", files: { "model.onnx": model, "odd.bin": Buffer.from("x") } },
  });
  const entry = made.lockfile.models.bad!;
  const path = snapshotFilePath(made.cacheDir, "org/bad", entry.revision, "odd.bin");
  await rm(path);
  entry.files["odd.bin"]!.size = await make(path);
  await writeLockfile(made.lockfilePath, made.lockfile);
  const g = ["--lockfile", made.lockfilePath, "--cache-dir", made.cacheDir];
  const guard = () => ModelGuard.open({ lockfile: made.lockfilePath, cacheDir: made.cacheDir, allowUnsigned: true, offline: true });
  return { ...made, path, g, guard };
}

const fifos: string[] = [];
afterEach(async () => {
  // A reader stuck opening a FIFO (the defect) is released by a writer that opens and closes it.
  for (const fifo of fifos.splice(0)) {
    const h = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
    await h?.close();
  }
});

const within = <T>(ms: number, p: Promise<T>): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms))]);

const KINDS = {
  "a FIFO": async (path: string) => {
    execFileSync("mkfifo", [path]);
    fifos.push(path);
    return 1;
  },
  "a symlink to /dev/zero locked as 0 bytes": async (path: string) => {
    await symlink("/dev/zero", path);
    return 0;
  },
  "a directory locked at its own size": async (path: string) => {
    await mkdir(path);
    await writeFile(join(path, "x"), "x");
    return (await stat(path)).size;
  },
};

describe.each(Object.entries(KINDS))("%s at a snapshot path", (_what, make) => {
  it("verify --json: UNSAFE_PATH for that file, every model in the report, no stack trace, no hang", async () => {
    const s = await setup(make);
    const res = await runCli([...s.g, "verify", "--json", "--allow-unsigned"], { timeoutMs: 20_000 });
    expect(res.timedOut).toBeUndefined();
    expect(res.stderr).not.toMatch(/\n\s+at /);
    const report = JSON.parse(res.stdout);
    // The lockfile is written with its keys sorted: bad, then good.
    expect(report.models.map((m: { name: string; ok: boolean }) => [m.name, m.ok])).toEqual([
      ["bad", false],
      ["good", true],
    ]);
    const odd = report.models[0].files.find((f: { path: string }) => f.path === "odd.bin");
    expect(odd.error.code).toBe("UNSAFE_PATH");
    expect(odd.error.message).toMatch(/odd\.bin.*not a regular file/);
    expect(res.code).toBe(2);
  });

  it("the library: readFile, createSession and loadAll refuse it with a ModelGuardError, promptly", async () => {
    const s = await setup(make);
    const guard = await s.guard();
    await expect(within(10_000, guard.readFile("bad", "odd.bin"))).rejects.toMatchObject({ name: "ModelGuardError", code: "UNSAFE_PATH", file: "odd.bin" });
    const err = await within(10_000, guard.loadAll()).catch((e: unknown) => e);
    expect(isModelGuardError(err, "UNSAFE_PATH")).toBe(true);
    expect((err as { report: { models: { name: string; ok: boolean }[] } }).report.models.map((m) => [m.name, m.ok])).toEqual([
      ["bad", false],
      ["good", true],
    ]);
    await expect(within(10_000, guard.verifyAll())).rejects.toMatchObject({ code: "UNSAFE_PATH" });
  });
});

describe("the graph itself is a FIFO", () => {
  it("createSession refuses it instead of blocking", async () => {
    const s = await setup(async () => 1);
    const entry = s.lockfile.models.bad!;
    const graph = snapshotFilePath(s.cacheDir, "org/bad", entry.revision, "model.onnx");
    await rm(graph);
    await KINDS["a FIFO"](graph);
    const guard = await s.guard();
    await expect(within(10_000, guard.createSession("bad"))).rejects.toMatchObject({ code: "UNSAFE_PATH", file: "model.onnx" });
  });
});
