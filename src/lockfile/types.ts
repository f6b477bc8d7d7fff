/** A cosign `sign-blob` signature recorded for one file: base64 ASN.1 DER ECDSA over SHA-256 of the file. */
export interface BlobSignature {
  sig: string;
  /** Free-form label of the key that made it (not trusted: trust comes from the caller's keys). */
  keyid?: string;
}

export interface LockedFile {
  size: number;
  sha256: string;
  /** Per-file cosign blob signatures, checked against `sha256` (no second pass over the bytes). */
  signatures?: BlobSignature[];
}

export interface LockedModel {
  repo: string;
  /** The full commit id the files were taken from. */
  revision: string;
  /** The ref that was asked for (branch or tag), recorded beside the pinned commit. */
  ref?: string;
  files: Record<string, LockedFile>;
  /**
   * Sigstore bundles (v0.3 JSON) holding a DSSE envelope over an OpenSSF Model Signing v1.0
   * statement of this entry: one signature covers repo, revision and every file's digest.
   */
  signatures?: unknown[];
  /**
   * The publisher's own OpenSSF Model Signing signatures (`model.sig` in the repo), recorded by
   * `add` after they verified against the files being locked: they let a service require the
   * publisher's signature (by key or keyless identity) at load time.
   */
  publisherSignatures?: PublisherSignature[];
  /** For GGUF models (node-llama-cpp): the entry, its parts and LoRA adapters, as `add` found them. */
  gguf?: GgufLayout;
}

/**
 * Where a GGUF model's files are, written by `add`. Every path must be a locked file; lockfile
 * signatures sign it (`signing/locked-model-statement.ts`), and the loader and `verify` hold it to
 * the verified headers (the entry is no LoRA adapter, each LoRA is one, the parts are the entry's).
 */
export interface GgufLayout {
  /** The file a load starts from: the model, or part 1 of a split model. */
  entry?: string;
  /** Every part of a split model, in part order (the entry first). */
  parts?: string[];
  /** LoRA adapters (GGUF files with `general.type` = `adapter`) locked with the model. */
  loras?: string[];
}

export interface PublisherSignature {
  /** Where it was found in the repo, e.g. `model.sig`. */
  path: string;
  /** The Sigstore bundle, as the file held it. */
  bundle: unknown;
}

export interface Lockfile {
  lockfileVersion: 1;
  models: Record<string, LockedModel>;
}
