/**
 * The audit event of a model the startup gate checked (`verifyModel`, `verifyAll`, `modelguard
 * verify`: action `verify`) or checked and loaded in one pass (`loadAll`: action `load`): built
 * from the model's report, so its files are exactly those the gate found whole, and a refusal
 * carries every failure the report lists, led by the most serious (as `verifyAll` throws it).
 */
import { combinedError } from "../errors.js";
import type { LockedModel } from "../lockfile/types.js";
import type { ModelReport } from "../verify-report.js";
import { auditEvent, type AuditContext, type AuditEvent, type AuditRuntime } from "./audit-event.js";

export interface CheckEventContext {
  action: AuditEvent["action"];
  /** Null for `verify`. */
  runtime: AuditRuntime | null;
  model: string;
  entry: LockedModel;
  lockfile: string;
}

function failuresOf(report: ModelReport) {
  return [
    ...(report.error ? [{ ...report.error, model: report.name }] : []),
    ...report.files.flatMap((f) => (f.error ? [{ ...f.error, model: report.name, file: f.path }] : [])),
  ];
}

/** The event for a model's report, or for the error that stopped its check before a report existed. */
export function checkEvent(outcome: { value: ModelReport } | { error: unknown }, context: CheckEventContext): AuditEvent {
  const { entry } = context;
  const report = "value" in outcome ? outcome.value : undefined;
  const audit: AuditContext = {
    action: context.action,
    model: context.model,
    runtime: context.runtime,
    lockfile: context.lockfile,
    repo: entry.repo,
    revision: entry.revision,
    signer: report?.signer ?? null,
    files: (report?.files ?? []).filter((f) => f.ok).map((f) => ({ path: f.path, size: f.size, sha256: entry.files[f.path]!.sha256 })),
  };
  if (!report) return auditEvent(audit, { error: (outcome as { error: unknown }).error });
  const failures = failuresOf(report);
  if (report.ok) return auditEvent(audit, null);
  return auditEvent(audit, { error: failures.length > 0 ? combinedError(failures) : new Error(`model ${report.name} failed its check`) });
}
