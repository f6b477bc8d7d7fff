/**
 * A model file swapped for a FIFO (or a directory) after the walk: hashing it is refused with
 * UNSAFE_PATH, promptly, under either serialization; never a hang or a raw error.
 */
import { execFileSync } from "node:child_process";
import { constants } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hashModelFiles } from "../../src/signing/model-signing/hash-model-files.js";
import type { Serialization } from "../../src/signing/model-signing/signed-manifest.js";
import { tempDir } from "../helpers/fixtures.js";

const SERIALIZATIONS: Serialization[] = [
  { method: "files", hashType: "sha256", allowSymlinks: false, ignorePaths: [] },
  { method: "shards", hashType: "sha256", allowSymlinks: false, ignorePaths: [], shardSize: 1024 },
];

const within = <T>(ms: number, p: Promise<T>): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms))]);

describe.each(SERIALIZATIONS)("hashModelFiles ($method)", (serialization) => {
  it.each(["a FIFO", "a directory"])("refuses %s where a file was walked", async (kind) => {
    const dir = await tempDir();
    const path = join(dir, "weights.bin");
    if (kind === "a FIFO") execFileSync("mkfifo", [path]);
    else await mkdir(path);
    try {
      await expect(within(5000, hashModelFiles([{ name: "weights.bin", path }], serialization))).rejects.toMatchObject({
        name: "ModelGuardError",
        code: "UNSAFE_PATH",
        file: "weights.bin",
      });
    } finally {
      // Releases a reader stuck opening the FIFO (the defect), so the worker can exit.
      const writer = await open(path, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
      await writer?.close();
    }
  });
});
