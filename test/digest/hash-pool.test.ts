import { createHash, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HashPool } from "../../src/digest/hash-pool.js";
import { readAndHash } from "../../src/digest/read-and-hash.js";
import { tempDir } from "../helpers/fixtures.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("HashPool", () => {
  it("hashes files on worker threads, in parallel, with the same digests as one pass on this thread", async () => {
    const dir = await tempDir();
    // Sizes around the 8 MiB chunk and the worker threshold, so every branch of the loop runs.
    const sizes = [0, 1, 4 * 2 ** 20 + 1, 8 * 2 ** 20, 8 * 2 ** 20 + 3, 20 * 2 ** 20 + 7];
    const files = await Promise.all(
      sizes.map(async (n, i) => {
        const bytes = randomBytes(n);
        const path = join(dir, `f${i}`);
        await writeFile(path, bytes);
        return { path, size: n, sha256: sha(bytes) };
      }),
    );
    const pool = new HashPool(2);
    try {
      const results = await Promise.all(files.map((f) => pool.hashFile(f.path, f.size)));
      expect(results).toEqual(files.map((f) => ({ size: f.size, sha256: f.sha256 })));
      await expect(pool.hashFile(join(dir, "missing"), 10 * 2 ** 20)).rejects.toMatchObject({ code: "ENOENT" });
      // The pool still works after a failed job.
      expect(await pool.hashFile(files[5]!.path, files[5]!.size)).toEqual({ size: files[5]!.size, sha256: files[5]!.sha256 });
    } finally {
      await pool.close();
    }
  });
});

describe("readAndHash", () => {
  it("returns the bytes it hashed, across chunk boundaries, and catches a size mismatch", async () => {
    const dir = await tempDir();
    for (const n of [0, 1, 8 * 2 ** 20 - 1, 8 * 2 ** 20, 17 * 2 ** 20 + 5]) {
      const bytes = randomBytes(n);
      const path = join(dir, `r${n}`);
      await writeFile(path, bytes);
      const result = await readAndHash(path, n);
      expect(result.kind).toBe("read");
      if (result.kind !== "read") return;
      expect(result.sha256).toBe(sha(bytes));
      expect(result.bytes.equals(bytes)).toBe(true);
      expect(await readAndHash(path, n + 1)).toEqual({ kind: "size-mismatch", actualSize: n });
    }
  });
});

describe("HashPool.digest", () => {
  it("digests ranges with other hashes, on a worker and on this thread alike, and refuses a symlink when asked", async () => {
    const dir = await tempDir();
    const bytes = randomBytes(9 * 2 ** 20 + 11);
    const path = join(dir, "big");
    await writeFile(path, bytes);
    const { symlink } = await import("node:fs/promises");
    await symlink(path, join(dir, "link"));
    const pool = new HashPool(2);
    try {
      const blake = (b: Uint8Array) => createHash("blake2b512").update(b).digest("hex");
      // A range big enough for a worker, and one small enough for this thread.
      expect(await pool.digest(path, { algorithm: "blake2b512", start: 5, end: 8 * 2 ** 20 + 5 })).toEqual({ size: 8 * 2 ** 20, digest: blake(bytes.subarray(5, 8 * 2 ** 20 + 5)) });
      expect(await pool.digest(path, { algorithm: "blake2b512", start: 100, end: 200 })).toEqual({ size: 100, digest: blake(bytes.subarray(100, 200)) });
      expect(await pool.digest(path)).toEqual({ size: bytes.length, digest: sha(bytes) });
      expect(await pool.digest(join(dir, "link"))).toEqual({ size: bytes.length, digest: sha(bytes) });
      await expect(pool.digest(join(dir, "link"), { noFollow: true })).rejects.toMatchObject({ code: "ELOOP" });
      await expect(pool.digest(join(dir, "link"), { noFollow: true, start: 0, end: 10 })).rejects.toMatchObject({ code: "ELOOP" });
    } finally {
      await pool.close();
    }
  });
});
