import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256Hex } from "../../src/digest/sha256.js";
import { storeInCache } from "./store-in-cache.js";
import type { LockedModel, Lockfile } from "../../src/lockfile/types.js";
import { writeLockfile } from "../../src/lockfile/lockfile-file.js";

export const REVISION = "1111111111111111111111111111111111111111";

export interface TestKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicPath: string;
  privatePath: string;
}

/** An unencrypted P-256 key pair written as PKCS#8/SPKI PEM files (no scrypt cost in tests). */
export async function makeKeys(dir: string, name = "test"): Promise<TestKeys> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const publicPath = join(dir, `${name}.pub`);
  const privatePath = join(dir, `${name}.key`);
  await writeFile(publicPath, publicKey.export({ type: "spki", format: "pem" }));
  await writeFile(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  return { privateKey, publicKey, publicPath, privatePath };
}

export function tempDir(prefix = "mg-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export function lockedEntry(repo: string, files: Record<string, Uint8Array>, revision = REVISION): LockedModel {
  return {
    repo,
    revision,
    files: Object.fromEntries(Object.entries(files).map(([p, b]) => [p, { size: b.length, sha256: sha256Hex(b) }])),
  };
}

/** A cache holding these files in the Hugging Face layout and a lockfile locking them. */
export async function makeCachedModels(
  models: Record<string, { repo: string; files: Record<string, Uint8Array> }>,
): Promise<{ dir: string; cacheDir: string; lockfilePath: string; lockfile: Lockfile }> {
  const dir = await tempDir();
  const cacheDir = join(dir, "hub");
  const lockfile: Lockfile = { lockfileVersion: 1, models: {} };
  for (const [name, { repo, files }] of Object.entries(models)) {
    const entry = lockedEntry(repo, files);
    lockfile.models[name] = entry;
    for (const [path, bytes] of Object.entries(files)) {
      await storeInCache(cacheDir, repo, entry.revision, path, bytes, entry.files[path]!);
    }
  }
  const lockfilePath = join(dir, "models.lock.json");
  await writeLockfile(lockfilePath, lockfile);
  return { dir, cacheDir, lockfilePath, lockfile };
}
