import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeFileAtomic } from "../../src/io/write-file-atomic.js";
import { writeRef } from "../../src/hub/store-in-cache.js";
import { ModelGuardError } from "../../src/errors.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "modelguard-atomic-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("writeFileAtomic", () => {
  it("writes text or bytes, replaces an existing file and leaves no temporary file", async () => {
    const path = join(dir, "models.lock.json");
    await writeFileAtomic(path, "one\n");
    await writeFileAtomic(path, Buffer.from("two\n"));
    expect(await readFile(path, "utf8")).toBe("two\n");
    expect(await readdir(dir)).toEqual(["models.lock.json"]);
    expect((await stat(path)).mode & 0o777 & ~0o644).toBe(0);
  });

  it("leaves the old file and no temporary file when the rename fails", async () => {
    const path = join(dir, "model.sig");
    await writeFileAtomic(path, "old");
    await expect(writeFileAtomic(path, "new", { rename: async () => Promise.reject(new Error("disk gone")) })).rejects.toThrow("disk gone");
    expect(await readFile(path, "utf8")).toBe("old");
    expect(await readdir(dir)).toEqual(["model.sig"]);
  });

  it("fails without writing into a folder that does not exist", async () => {
    await expect(writeFileAtomic(join(dir, "missing", "x"), "x")).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("writeRef (the cache's refs, through writeFileAtomic)", () => {
  const repo = "org/model";
  const commit = "c".repeat(40);

  it("writes refs/{ref} with the commit, leaving nothing else in the folder", async () => {
    await writeRef(dir, repo, "main", commit);
    const refs = join(dir, "models--org--model", "refs");
    expect(await readFile(join(refs, "main"), "utf8")).toBe(commit);
    expect(await readdir(refs)).toEqual(["main"]);
  });

  it("names a directory in the way (UNSAFE_PATH) and removes its temporary file", async () => {
    const refs = join(dir, "models--org--model", "refs");
    await mkdir(join(refs, "main", "inside"), { recursive: true });
    const err = await writeRef(dir, repo, "main", commit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelGuardError);
    expect((err as ModelGuardError).code).toBe("UNSAFE_PATH");
    expect(await readdir(refs)).toEqual(["main"]);
  });
});
