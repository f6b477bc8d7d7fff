/**
 * The stable error codes (part of the public contract) and the size-and-digest pair that
 * SIZE_MISMATCH and DIGEST_MISMATCH carry: plain data with no imports, so the report types and
 * the error class can both name them without importing each other.
 */
export const ERROR_CODES = [
  "LOCKFILE_INVALID",
  "LOCKFILE_NOT_FOUND",
  "LOCKFILE_BUSY",
  "MODEL_NOT_LOCKED",
  "FILE_NOT_LOCKED",
  "FILE_MISSING",
  "SIZE_MISMATCH",
  "DIGEST_MISMATCH",
  "SIGNATURE_MISSING",
  "SIGNATURE_INVALID",
  "SIGNATURE_MALFORMED",
  "UNTRUSTED_SIGNER",
  "EXTERNAL_DATA_UNVERIFIED",
  "ONNX_INVALID",
  "GGUF_INVALID",
  "UNSAFE_PATH",
  "FETCH_FAILED",
  "LOCK_DRIFT",
  "FILE_TOO_LARGE",
  "CACHE_WRITE_FAILED",
  "CACHE_READ_FAILED",
  "COPY_FAILED",
  "COPY_CHANGED",
  "NOT_CACHED",
  "KEY_INVALID",
  "CERTIFICATE_INVALID",
  "TRUSTED_ROOT_INVALID",
  "KEY_EXISTS",
  "WRONG_PASSWORD",
  "PASSWORD_REQUIRED",
  "USAGE",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * A file's size and SHA-256: on SIZE_MISMATCH and DIGEST_MISMATCH, what the lock (or the Hub's
 * listing) says it must be (`expected`) and what the bytes were (`actual`), as ssri's errors carry
 * `expected` and `found`. `sha256` is absent where it is not known (a size refused before a byte
 * was hashed).
 */
export interface SizeAndDigest {
  size: number;
  sha256?: string;
}
