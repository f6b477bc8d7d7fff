import { createHash, type Hash } from "node:crypto";

/**
 * SHA-256 and, when asked, the git blob SHA-1 (`sha1("blob {size}\0" + bytes)`, what the Hub
 * lists as `oid` of a regular file) of the same bytes, fed in one pass.
 */
export class ContentDigests {
  #sha256!: Hash;
  #sha1: Hash | undefined;

  constructor(
    private readonly size: number,
    private readonly gitBlobSha1: boolean,
  ) {
    this.reset();
  }

  /** Starts over (a download the server restarted from byte 0). */
  reset(): void {
    this.#sha256 = createHash("sha256");
    this.#sha1 = this.gitBlobSha1 ? createHash("sha1").update(`blob ${this.size}\0`) : undefined;
  }

  update(chunk: Uint8Array): void {
    this.#sha256.update(chunk);
    this.#sha1?.update(chunk);
  }

  /** The hex digests; the object is spent afterwards. */
  digest(): { sha256: string; gitBlobSha1?: string } {
    return { sha256: this.#sha256.digest("hex"), ...(this.#sha1 ? { gitBlobSha1: this.#sha1.digest("hex") } : {}) };
  }
}
