import type { ErrorCode } from "../errors.js";
import type { Signer } from "../signing/trust-policy.js";

export interface ReportError {
  code: ErrorCode;
  message: string;
}

export interface FileReport {
  path: string;
  size: number;
  ok: boolean;
  error?: ReportError;
}

export interface ModelReport {
  name: string;
  repo: string;
  revision: string;
  ok: boolean;
  signer?: Signer;
  /** A failure of the model as a whole (its signatures), as opposed to one of its files. */
  error?: ReportError;
  files: FileReport[];
}

export interface VerifyReport {
  ok: boolean;
  models: ModelReport[];
}
