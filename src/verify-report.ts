import type { ErrorCode, SizeAndDigest } from "./error-codes.js";
import type { Signer } from "./signers.js";

/**
 * The gate report: what `modelguard verify --json` prints and `verifyAll()` returns (and carries on
 * the error it throws). Its JSON Schema is docs/verify-report.schema.json; `reportVersion` changes
 * only when a field changes meaning or goes away (new fields may be added within a version).
 */
export const REPORT_VERSION = 1;

export interface ReportError {
  code: ErrorCode;
  message: string;
  /** SIZE_MISMATCH, DIGEST_MISMATCH: what the lock says the file is, and what it was (the error's fields). */
  expected?: SizeAndDigest;
  actual?: SizeAndDigest;
}

export interface FileReport {
  path: string;
  /** The locked size. */
  size: number;
  ok: boolean;
  /** Bytes read and hashed for this check (0 when the file was missing or its size was wrong). */
  bytesChecked: number;
  durationMs: number;
  error?: ReportError;
}

export interface ModelReport {
  name: string;
  repo: string;
  revision: string;
  ok: boolean;
  /** Who satisfied the trust policy; null when it was not satisfied. */
  signer: Signer | null;
  /** A failure of the model as a whole (its signatures), as opposed to one of its files. */
  error?: ReportError;
  durationMs: number;
  files: FileReport[];
}

export interface VerifyReport {
  reportVersion: typeof REPORT_VERSION;
  ok: boolean;
  /** ISO 8601 time the check started. */
  startedAt: string;
  durationMs: number;
  summary: {
    models: number;
    modelsFailed: number;
    files: number;
    filesFailed: number;
    bytesChecked: number;
  };
  models: ModelReport[];
}

export function buildReport(startedAt: Date, durationMs: number, models: ModelReport[]): VerifyReport {
  const files = models.flatMap((m) => m.files);
  return {
    reportVersion: REPORT_VERSION,
    ok: models.every((m) => m.ok),
    startedAt: startedAt.toISOString(),
    durationMs,
    summary: {
      models: models.length,
      modelsFailed: models.filter((m) => !m.ok).length,
      files: files.length,
      filesFailed: files.filter((f) => !f.ok).length,
      bytesChecked: files.reduce((n, f) => n + f.bytesChecked, 0),
    },
    models,
  };
}

export interface Failure {
  code: ErrorCode;
  message: string;
  model: string;
  file?: string;
  expected?: SizeAndDigest;
  actual?: SizeAndDigest;
}

/** Every failure in a report, model-level first, in lockfile order. */
export function listFailures(report: VerifyReport): Failure[] {
  const out: Failure[] = [];
  for (const model of report.models) {
    if (model.error) out.push({ ...model.error, model: model.name });
    for (const file of model.files) if (file.error) out.push({ ...file.error, model: model.name, file: file.path });
  }
  return out;
}
