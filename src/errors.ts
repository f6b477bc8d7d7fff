import type { ErrorCode, SizeAndDigest } from "./error-codes.js";
import type { VerifyReport } from "./verify-report.js";

export { ERROR_CODES, type ErrorCode, type SizeAndDigest } from "./error-codes.js";

export interface ModelGuardErrorDetails {
  model?: string;
  file?: string;
  cause?: unknown;
  /** The verification report, on the error `verifyAll()` throws. */
  report?: VerifyReport;
  /** For FETCH_FAILED: the HTTP status (absent for network errors) and the URL. */
  httpStatus?: number;
  url?: string;
  /** For SIZE_MISMATCH and DIGEST_MISMATCH (see checkLock): what the file must be and what it was. */
  expected?: SizeAndDigest;
  actual?: SizeAndDigest;
}

/**
 * The one error class of modelguard. Every expected failure carries a stable `code`
 * (part of the public contract), the model and file it concerns when there is one,
 * and a message that names what did not match.
 */
export class ModelGuardError extends Error {
  readonly code: ErrorCode;
  readonly model?: string;
  readonly file?: string;
  readonly report?: VerifyReport;
  readonly httpStatus?: number;
  readonly url?: string;
  readonly expected?: SizeAndDigest;
  readonly actual?: SizeAndDigest;

  constructor(code: ErrorCode, message: string, details: ModelGuardErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ModelGuardError";
    this.code = code;
    if (details.model !== undefined) this.model = details.model;
    if (details.file !== undefined) this.file = details.file;
    if (details.report !== undefined) this.report = details.report;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.url !== undefined) this.url = details.url;
    if (details.expected !== undefined) this.expected = details.expected;
    if (details.actual !== undefined) this.actual = details.actual;
  }
}

export function isModelGuardError(err: unknown, code?: ErrorCode): err is ModelGuardError {
  return err instanceof ModelGuardError && (code === undefined || err.code === code);
}

/**
 * A lower step's failure told from where it happened: a ModelGuardError becomes one with the same
 * code (or `code`, where a caller names the failure otherwise) and HTTP details, `prefix: ` before its message, the model and file given (its own where
 * none is given) and itself as `cause`. Anything else (a bug, not an expected failure) is
 * returned as it is. Use as `throw withErrorContext(err, { prefix: `model ${name}`, model: name })`.
 */
export function withErrorContext(err: unknown, context: { prefix?: string; model?: string; file?: string; code?: ErrorCode }): unknown {
  if (!(err instanceof ModelGuardError)) return err;
  const model = context.model ?? err.model;
  const file = context.file ?? err.file;
  return new ModelGuardError(context.code ?? err.code, context.prefix === undefined ? err.message : `${context.prefix}: ${err.message}`, {
    cause: err,
    ...(model === undefined ? {} : { model }),
    ...(file === undefined ? {} : { file }),
    ...(err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus }),
    ...(err.url === undefined ? {} : { url: err.url }),
    ...(err.expected === undefined ? {} : { expected: err.expected }),
    ...(err.actual === undefined ? {} : { actual: err.actual }),
  });
}

/**
 * The CLI's exit code for an error code (contract: 1 verification failed, 2 usage or invalid
 * input, 3 could not fetch).
 */
export function exitCodeFor(code: ErrorCode): 1 | 2 | 3 {
  switch (code) {
    case "SIZE_MISMATCH":
    case "DIGEST_MISMATCH":
    case "SIGNATURE_MISSING":
    case "SIGNATURE_INVALID":
    case "UNTRUSTED_SIGNER":
    case "EXTERNAL_DATA_UNVERIFIED":
    case "LOCK_DRIFT":
    case "COPY_CHANGED":
      return 1;
    case "FETCH_FAILED":
    case "NOT_CACHED":
    case "CACHE_WRITE_FAILED":
    case "CACHE_READ_FAILED":
    case "COPY_FAILED":
      return 3;
    default:
      return 2;
  }
}

/** One failure among several, as `combinedError` takes them. */
export interface FailureDetails {
  code: ErrorCode;
  message: string;
  model?: string;
  file?: string;
  httpStatus?: number;
  url?: string;
  expected?: SizeAndDigest;
  actual?: SizeAndDigest;
}

/**
 * One error for several failures: every message, one a line, and the code, model and file of the
 * most serious: a verification failure (a bad byte or signature, exit 1) outranks a missing file or
 * a usage error; among equals, the first.
 */
export function combinedError(failures: readonly FailureDetails[], report?: VerifyReport): ModelGuardError {
  const lead = failures.find((f) => exitCodeFor(f.code) === 1) ?? failures[0];
  if (!lead) throw new Error("combinedError needs at least one failure");
  return new ModelGuardError(lead.code, failures.map((f) => f.message).join("\n"), {
    ...(lead.model === undefined ? {} : { model: lead.model }),
    ...(lead.file === undefined ? {} : { file: lead.file }),
    ...(lead.httpStatus === undefined ? {} : { httpStatus: lead.httpStatus }),
    ...(lead.url === undefined ? {} : { url: lead.url }),
    ...(lead.expected === undefined ? {} : { expected: lead.expected }),
    ...(lead.actual === undefined ? {} : { actual: lead.actual }),
    ...(report === undefined ? {} : { report }),
  });
}
