/**
 * One audit event per load, whatever the runtime: `auditedLoad` runs a load in a scope, every
 * locked file the guard verifies inside it is noted (`noteVerifiedFile`, called by the guard where
 * it verifies bytes), and when the load ends one event is recorded: verified, with the files, or
 * refused, with the error, which is then rethrown unchanged. A load started inside another one
 * (an adapter reading companion files through `readFile`) joins the outer event, so a runtime
 * adapter gets its events by wrapping its load and knows nothing of the sink. Scopes follow the
 * async context (AsyncLocalStorage), so concurrent loads never mix their files.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Signer } from "../signing/trust-policy.js";
import { auditEvent, type AuditedFile, type AuditRuntime } from "./audit-event.js";
import type { AuditSink } from "./audit-sink.js";

interface Scope {
  files: Map<string, AuditedFile>;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Tells the enclosing audited load (if any) that this locked file was read and verified. */
export function noteVerifiedFile(file: AuditedFile): void {
  scopes.getStore()?.files.set(file.path, { path: file.path, size: file.size, sha256: file.sha256 });
}

export interface AuditedLoadInfo {
  model: string;
  runtime: AuditRuntime;
  lockfile: string;
  /** The locked repo and commit, or null when the model is not locked. */
  locked(): { repo: string; revision: string } | null;
  /** Who satisfied the trust policy, or null if it was not satisfied (asked once the load has ended). */
  signer(): Promise<Signer | null>;
}

export async function auditedLoad<T>(sink: AuditSink | undefined, info: AuditedLoadInfo, load: () => Promise<T>): Promise<T> {
  if (!sink || scopes.getStore()) return load();
  const scope: Scope = { files: new Map() };
  let result: T;
  let refusal: { error: unknown } | null = null;
  try {
    result = await scopes.run(scope, load);
  } catch (error) {
    refusal = { error };
  }
  const locked = info.locked();
  const signer = locked ? await info.signer() : null;
  await sink.record(
    auditEvent(
      {
        action: "load",
        model: info.model,
        runtime: info.runtime,
        lockfile: info.lockfile,
        repo: locked?.repo ?? null,
        revision: locked?.revision ?? null,
        signer,
        files: [...scope.files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      },
      refusal,
    ),
  );
  if (refusal) throw refusal.error;
  return result!;
}
