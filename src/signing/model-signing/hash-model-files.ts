/**
 * Digests of a model's files (or file shards), computed in parallel on worker threads, in the
 * form a model signature lists them: resource name → { algorithm, hex digest }.
 */
import { HashPool } from "../../digest/hash-pool.js";
import { NOT_REGULAR, openRegularFile } from "../../digest/open-regular-file.js";
import { ModelGuardError } from "../../errors.js";
import type { ModelFile } from "./walk-model.js";
import type { Serialization } from "./signed-manifest.js";

export type ResourceDigests = Map<string, { algorithm: string; digest: string }>;

/** model_signing's `hash_type` → the name it writes as a resource algorithm, and Node's hash. */
const HASHES: Readonly<Record<string, { algorithm: string; node: string }>> = {
  sha256: { algorithm: "sha256", node: "sha256" },
  // hashlib.blake2b() with its default 64-byte digest, which model_signing names "blake2b".
  blake2: { algorithm: "blake2b", node: "blake2b512" },
};

function hashFor(hashType: string): { algorithm: string; node: string } {
  const hash = HASHES[hashType];
  if (hash === undefined) {
    // blake3 would need a native dependency; no model_signing default uses it.
    throw new ModelGuardError(
      "SIGNATURE_MALFORMED",
      `the signature hashes files with ${JSON.stringify(hashType)}; modelguard supports ${Object.keys(HASHES).join(", ")}`,
    );
  }
  return hash;
}

/** Shards of `size` bytes as model_signing cuts them: [0,s), [s,2s), ..., the last one shorter; none for an empty file. */
function shardsOf(size: number, shardSize: number): { start: number; end: number }[] {
  const shards: { start: number; end: number }[] = [];
  for (let start = 0; start < size; start += shardSize) shards.push({ start, end: Math.min(start + shardSize, size) });
  return shards;
}

/** A file that vanished, became unreadable or was swapped for a symlink since the walk, named. */
function fileError(file: ModelFile, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ELOOP") return new ModelGuardError("UNSAFE_PATH", `${file.name} became a symlink while the model was being verified`, { file: file.name, cause: err });
  if (code === NOT_REGULAR || code === "EISDIR") {
    return new ModelGuardError("UNSAFE_PATH", `${file.name} is no longer a regular file (${(err as Error).message})`, { file: file.name, cause: err });
  }
  if (code === "ENOENT" || code === "EACCES") {
    return new ModelGuardError("FILE_MISSING", `${file.name}: ${(err as Error).message}`, { file: file.name, cause: err });
  }
  return err;
}

/**
 * Digests of the given files under the signature's serialization, keyed like the signature's
 * resources. Hashing is CPU-bound, so files (or shards) are hashed in parallel on worker threads,
 * one per core, never following a symlink swapped in after the walk.
 */
export async function hashModelFiles(files: readonly ModelFile[], serialization: Serialization): Promise<ResourceDigests> {
  const { algorithm, node } = hashFor(serialization.hashType);
  const pool = new HashPool();
  try {
    const jobs: Promise<[string, string]>[] = [];
    for (const file of files) {
      const digest = (range?: { start: number; end: number }) =>
        pool.digest(file.path, { algorithm: node, noFollow: true, ...range }).then(
          (r) => r.digest,
          (err: unknown) => Promise.reject(fileError(file, err)),
        );
      if (serialization.method === "files") {
        jobs.push(digest().then((d) => [file.name, d]));
        continue;
      }
      const { handle, stats } = await openRegularFile(file.path, { noFollow: true }).catch((err: unknown) => Promise.reject(fileError(file, err)));
      await handle.close();
      const { size } = stats;
      for (const shard of shardsOf(size, serialization.shardSize)) {
        jobs.push(digest(shard).then((d) => [`${file.name}:${shard.start}:${shard.end}`, d]));
      }
    }
    const settled = await Promise.allSettled(jobs);
    const failed = settled.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const digests: ResourceDigests = new Map();
    for (const r of settled) {
      const [name, digest] = (r as PromiseFulfilledResult<[string, string]>).value;
      digests.set(name, { algorithm, digest });
    }
    return digests;
  } finally {
    await pool.close();
  }
}
