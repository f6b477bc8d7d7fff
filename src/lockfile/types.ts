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
  [extra: string]: unknown;
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
  [extra: string]: unknown;
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
  [extra: string]: unknown;
}
