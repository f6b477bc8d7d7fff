import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLockfile, writeLockfile } from "../../src/lockfile/lockfile-file.js";
import type { Lockfile } from "../../src/lockfile/types.js";

const lock: Lockfile = {
  lockfileVersion: 1,
  models: { m: { repo: "a/b", revision: "0".repeat(40), files: { "x.onnx": { size: 3, sha256: "b".repeat(64) } } } },
};

describe("lockfile files", () => {
  it("writes atomically and reads back what it wrote, leaving no temp file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-lock-"));
    const path = join(dir, "models.lock.json");
    await writeFile(path, "old");
    await writeLockfile(path, lock);
    expect(await readLockfile(path)).toEqual(lock);
    expect(await readdir(dir)).toEqual(["models.lock.json"]);
  });

  it("leaves no temporary file and the target untouched when the final rename fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mg-lock-"));
    // A non-empty directory where the lockfile should go: the temp file is written, the rename fails.
    const path = join(dir, "models.lock.json");
    await mkdir(path);
    await writeFile(join(path, "keep"), "x");
    await expect(writeLockfile(path, lock)).rejects.toThrow();
    expect(await readdir(dir)).toEqual(["models.lock.json"]);
    expect(await readFile(join(path, "keep"), "utf8")).toBe("x");
  });

  it("reports a missing lockfile with its own code", async () => {
    await expect(readLockfile("/nonexistent/models.lock.json")).rejects.toMatchObject({ code: "LOCKFILE_NOT_FOUND" });
  });
});
