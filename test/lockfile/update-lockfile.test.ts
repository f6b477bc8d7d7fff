import { spawnSync } from "node:child_process";
import { readFile, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLockfile, writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { updateLockfile } from "../../src/lockfile/update-lockfile.js";
import { lockedEntry, tempDir } from "../helpers/fixtures.js";
import { rejection } from "../helpers/errors.js";

const entry = (n: number) => lockedEntry(`org/m${n}`, { "a.json": Buffer.from(String(n)) });

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

describe("updateLockfile", () => {
  it("applies concurrent updates one after the other: none is lost", async () => {
    const path = join(await tempDir(), "models.lock.json");
    await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        updateLockfile(path, async (lockfile) => {
          await new Promise((r) => setTimeout(r, 5)); // widen the window a lost update needs
          return { ...lockfile, models: { ...lockfile.models, [`m${n}`]: entry(n) } };
        }, { create: true }),
      ),
    );
    expect(Object.keys((await readLockfile(path)).models).sort()).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("recovers a lock left by a killed process at once, and an empty one once it is a few seconds old", async () => {
    const path = join(await tempDir(), "models.lock.json");
    await writeLockfile(path, { lockfileVersion: 1, models: {} });
    await writeFile(`${path}.lock`, JSON.stringify({ pid: deadPid(), host: hostname(), token: "x" }));
    const started = Date.now();
    await updateLockfile(path, (l) => ({ ...l, models: { a: entry(1) } }), { timeoutMs: 5_000 });
    expect(Date.now() - started).toBeLessThan(2_000);
    await writeFile(`${path}.lock`, "");
    const past = new Date(Date.now() - 10_000);
    await utimes(`${path}.lock`, past, past);
    await updateLockfile(path, (l) => ({ ...l, models: { ...l.models, b: entry(2) } }), { timeoutMs: 5_000 });
    expect(Object.keys((await readLockfile(path)).models)).toEqual(["a", "b"]);
  });

  it("waits for a live holder and gives up with LOCKFILE_BUSY, writing nothing", async () => {
    const path = join(await tempDir(), "models.lock.json");
    await writeLockfile(path, { lockfileVersion: 1, models: {} });
    const before = await readFile(path, "utf8");
    await writeFile(`${path}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), token: "held" }));
    const err = await rejection(updateLockfile(path, (l) => ({ ...l, models: { a: entry(1) } }), { timeoutMs: 300 }));
    expect(err).toMatchObject({ code: "LOCKFILE_BUSY" });
    expect((err as Error).message).toContain(`pid ${process.ppid}`);
    expect(await readFile(path, "utf8")).toBe(before);
    // Someone else's lock is left alone.
    expect(JSON.parse(await readFile(`${path}.lock`, "utf8")).token).toBe("held");
  });

  it("leaves the file untouched when the update returns undefined, and releases the lock when it throws", async () => {
    const path = join(await tempDir(), "models.lock.json");
    await expect(updateLockfile(path, () => undefined)).rejects.toMatchObject({ code: "LOCKFILE_NOT_FOUND" });
    await updateLockfile(path, () => undefined, { create: true });
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    await writeLockfile(path, { lockfileVersion: 1, models: {} });
    await expect(updateLockfile(path, () => { throw new Error("boom"); })).rejects.toThrow("boom");
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: "ENOENT" });
    // What an update returns is validated before it is written.
    await expect(updateLockfile(path, (l) => ({ ...l, models: { "bad name!": entry(1) } }))).rejects.toMatchObject({ code: "LOCKFILE_INVALID" });
  });
});
