/**
 * Git object ids and Git LFS pointers, computed the way the Hub reports them.
 *
 * The Hub's tree API gives every file an `oid` that is the git blob SHA-1 of what git stores: the
 * bytes themselves for a regular file, the LFS pointer text for an LFS file (whose content digest is
 * then `lfs.oid`, a sha256). Clients cross-check downloads against these, so they must be exact.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

export const LFS_SPEC = "https://git-lfs.github.com/spec/v1";

export interface Digests {
  size: number;
  sha256: string;
  /** git blob SHA-1 of the bytes themselves. */
  blobOid: string;
}

function blobHeader(size: number): Buffer {
  return Buffer.from(`blob ${size}\0`, "utf8");
}

export function gitBlobOid(bytes: Uint8Array): string {
  return createHash("sha1").update(blobHeader(bytes.length)).update(bytes).digest("hex");
}

export function digestBytes(bytes: Uint8Array): Digests {
  return {
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    blobOid: gitBlobOid(bytes),
  };
}

/** One pass over a file of any size: the blob header needs the size first, which `size` gives. */
export async function digestFile(path: string, size: number): Promise<Digests> {
  const sha256 = createHash("sha256");
  const sha1 = createHash("sha1").update(blobHeader(size));
  let seen = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    sha256.update(buf);
    sha1.update(buf);
    seen += buf.length;
  }
  if (seen !== size) throw new Error(`${path} changed while it was hashed (${seen} bytes, expected ${size})`);
  return { size, sha256: sha256.digest("hex"), blobOid: sha1.digest("hex") };
}

/**
 * The pointer file git stores in place of an LFS object. Its exact bytes matter: its blob SHA-1 is
 * the tree entry's `oid` and its length is `lfs.pointerSize` (134 bytes for a 9-digit size).
 */
export function lfsPointer(sha256: string, size: number): Buffer {
  return Buffer.from(`version ${LFS_SPEC}\noid sha256:${sha256}\nsize ${size}\n`, "utf8");
}

export interface TreeEntry {
  name: string;
  kind: "file" | "directory";
  oid: string;
}

/**
 * A git tree object id. Git sorts entries by name as if directory names ended in "/", and stores
 * the 20 raw bytes of each child id; the empty tree is 4b825dc642cb6eb9a060e54bf8d69288fbee4904.
 */
export function gitTreeOid(entries: TreeEntry[]): string {
  const key = (e: TreeEntry) => Buffer.from(e.kind === "directory" ? `${e.name}/` : e.name, "utf8");
  const sorted = [...entries].sort((a, b) => Buffer.compare(key(a), key(b)));
  const body = Buffer.concat(
    sorted.flatMap((e) => [
      Buffer.from(`${e.kind === "directory" ? "40000" : "100644"} ${e.name}\0`, "utf8"),
      Buffer.from(e.oid, "hex"),
    ]),
  );
  return createHash("sha1").update(Buffer.from(`tree ${body.length}\0`, "utf8")).update(body).digest("hex");
}

export interface CommitObject {
  tree: string;
  parents: string[];
  author: string;
  /** Seconds since the epoch. */
  time: number;
  message: string;
}

/** A real git commit id, so a commit sha here behaves like one from the Hub (40 lowercase hex). */
export function gitCommitOid(c: CommitObject): string {
  const lines = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`)];
  lines.push(`author ${c.author} ${c.time} +0000`, `committer ${c.author} ${c.time} +0000`, "", c.message);
  const body = Buffer.from(lines.join("\n") + "\n", "utf8");
  return createHash("sha1").update(Buffer.from(`commit ${body.length}\0`, "utf8")).update(body).digest("hex");
}
