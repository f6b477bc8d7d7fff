/**
 * Digests of a model's files (or file shards), computed in parallel with Node's crypto, in the
 * form a model signature lists them: resource name → { algorithm, hex digest }.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { availableParallelism } from "node:os";
import pLimit from "p-limit";
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

/** Hashing is I/O bound; a few files at a time keeps disks busy without a read per file. */
const CONCURRENCY = Math.max(2, Math.min(8, availableParallelism()));

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

/** Digest of bytes [start, end) of a file, or all of it. O_NOFOLLOW: a file swapped for a symlink after the walk is not followed. */
async function digestRange(path: string, nodeHash: string, range?: { start: number; end: number }): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const hash = createHash(nodeHash);
    if (range === undefined || range.end > range.start) {
      const stream = handle.createReadStream({
        autoClose: false,
        highWaterMark: 1 << 20,
        ...(range === undefined ? {} : { start: range.start, end: range.end - 1 }),
      });
      for await (const chunk of stream) hash.update(chunk as Buffer);
    }
    return hash.digest("hex");
  } finally {
    await handle.close();
  }
}

/** Shards of `size` bytes as model_signing cuts them: [0,s), [s,2s), ..., the last one shorter; none for an empty file. */
function shardsOf(size: number, shardSize: number): { start: number; end: number }[] {
  const shards: { start: number; end: number }[] = [];
  for (let start = 0; start < size; start += shardSize) shards.push({ start, end: Math.min(start + shardSize, size) });
  return shards;
}

/**
 * Digests of the given files under the signature's serialization. Files are hashed in
 * parallel, bounded; the result is keyed like the signature's resources.
 */
export async function hashModelFiles(files: readonly ModelFile[], serialization: Serialization): Promise<ResourceDigests> {
  const { algorithm, node } = hashFor(serialization.hashType);
  const limit = pLimit(CONCURRENCY);
  const jobs: Promise<[string, string]>[] = [];
  for (const file of files) {
    if (serialization.method === "files") {
      jobs.push(limit(async () => [file.name, await digestRange(file.path, node)]));
      continue;
    }
    const handle = await open(file.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    const { size } = await handle.stat().finally(() => handle.close());
    for (const shard of shardsOf(size, serialization.shardSize)) {
      jobs.push(limit(async () => [`${file.name}:${shard.start}:${shard.end}`, await digestRange(file.path, node, shard)]));
    }
  }
  const digests: ResourceDigests = new Map();
  for (const [name, digest] of await Promise.all(jobs)) digests.set(name, { algorithm, digest });
  return digests;
}
