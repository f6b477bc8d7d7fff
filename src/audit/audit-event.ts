/**
 * The audit event: one JSON object per load the guard verified or refused (and per model the
 * startup gate checked), written as one line.
 * Its JSON Schema is docs/audit-event.schema.json; `auditVersion` changes only when a field
 * changes meaning or goes away (new fields may be added within a version).
 */
import { hostname } from "node:os";
import type { ErrorCode } from "../errors.js";
import { ModelGuardError } from "../errors.js";
import type { Signer } from "../signers.js";

export const AUDIT_VERSION = 1;

/**
 * The runtimes modelguard hands verified models to, as audit events name them (the `runtime` enum
 * of docs/audit-event.schema.json). A runtime adapter's `runtime` is one of these: a new adapter
 * adds its name here and in the schema.
 */
export type RuntimeName = "onnxruntime" | "transformers.js" | "node-llama-cpp";

/** Who received the verified bytes: a runtime adapter, or the caller (`readFile`, `verifiedFiles`). */
export type AuditRuntime = RuntimeName | "bytes";

export interface AuditedFile {
  path: string;
  size: number;
  sha256: string;
}

export interface AuditEvent {
  auditVersion: typeof AUDIT_VERSION;
  /** ISO 8601, when the load finished or was refused. */
  time: string;
  /** `load`: verified bytes were handed to a runtime or the caller; `verify`: checked only (the gate). */
  action: "load" | "verify";
  outcome: "verified" | "refused";
  model: string;
  /** The locked repo and commit; null when the model is not in the lockfile. */
  repo: string | null;
  revision: string | null;
  /** Who received the bytes; null for `verify`. */
  runtime: AuditRuntime | null;
  /** Every locked file the load read and verified (for a refusal: those verified before it). */
  files: AuditedFile[];
  /** Who satisfied the trust policy; null when the policy was not satisfied (or not reached). */
  signer: Signer | null;
  /** Why the load was refused; null when verified. */
  error: { code: ErrorCode | "INTERNAL"; message: string; file?: string } | null;
  /** The lockfile the guard was opened on. */
  lockfile: string;
  pid: number;
  host: string;
}

export interface AuditContext {
  action: AuditEvent["action"];
  model: string;
  runtime: AuditRuntime | null;
  lockfile: string;
  repo: string | null;
  revision: string | null;
  signer: Signer | null;
  files: AuditedFile[];
}

function describeError(err: unknown): NonNullable<AuditEvent["error"]> {
  if (err instanceof ModelGuardError) return { code: err.code, message: err.message, ...(err.file !== undefined ? { file: err.file } : {}) };
  return { code: "INTERNAL", message: err instanceof Error ? err.message : String(err) };
}

/** The event for a finished load: verified when `refusal` is null, else refused for `refusal.error`. */
export function auditEvent(context: AuditContext, refusal: { error: unknown } | null, now: Date = new Date()): AuditEvent {
  return {
    auditVersion: AUDIT_VERSION,
    time: now.toISOString(),
    action: context.action,
    outcome: refusal === null ? "verified" : "refused",
    model: context.model,
    repo: context.repo,
    revision: context.revision,
    runtime: context.runtime,
    files: context.files,
    signer: context.signer,
    error: refusal === null ? null : describeError(refusal.error),
    lockfile: context.lockfile,
    pid: process.pid,
    host: hostname(),
  };
}
