/**
 * A model of thousands of files under a low open-file limit (`ulimit -n`) is checked with a bounded
 * number of descriptors: no EMFILE, no stack trace, the same answer as without the limit.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/digest/sha256.js";
import { snapshotFilePath } from "../../src/hub/cache-layout.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";
import { REVISION, tempDir } from "../helpers/fixtures.js";
import { runCli } from "../helpers/run-cli.js";

const FILES = 2000;
const LIMIT = "ulimit -n 256";

async function manyFiles(root: (path: string) => string): Promise<Record<string, { size: number; sha256: string }>> {
  const files: Record<string, { size: number; sha256: string }> = {};
  for (let i = 0; i < FILES; i += 100) {
    await Promise.all(
      Array.from({ length: 100 }, async (_, j) => {
        const name = `shard-${String(i + j).padStart(5, "0")}.json`;
        const bytes = Buffer.from(`{"i":${i + j}}\n`);
        const path = root(name);
        await mkdir(join(path, ".."), { recursive: true });
        await writeFile(path, bytes);
        files[name] = { size: bytes.length, sha256: sha256Hex(bytes) };
      }),
    );
  }
  return files;
}

describe(`${FILES} files under \`${LIMIT}\``, () => {
  it("verify checks them all: exit 0, no EMFILE", async () => {
    const dir = await tempDir();
    const cacheDir = join(dir, "hub");
    const files = await manyFiles((name) => snapshotFilePath(cacheDir, "org/many", REVISION, name));
    const lockfilePath = join(dir, "models.lock.json");
    await writeLockfile(lockfilePath, { lockfileVersion: 1, models: { many: { repo: "org/many", revision: REVISION, files } } });
    const res = await runCli(["--lockfile", lockfilePath, "--cache-dir", cacheDir, "verify", "--allow-unsigned"], { limits: LIMIT });
    expect(res.stderr).not.toMatch(/EMFILE|\n\s+at /);
    expect(res.stderr).toMatch(new RegExp(`ok many: ${FILES} files`));
    expect(res.code).toBe(0);
  });
});
