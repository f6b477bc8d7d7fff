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
import type { Signer } from "../signers.js";
import { auditEvent, type AuditedFile, type AuditEvent, type AuditRuntime } from "./audit-event.js";
import type { AuditSink } from "./audit-sink.js";

interface Scope {
  files: Map<string, AuditedFile>;
}

const scopes = new AsyncLocalStorage<Scope>();

/** Tells the enclosing audited load (if any) that this locked file was read and verified. */
export function noteVerifiedFile(file: AuditedFile): void {
  scopes.getStore()?.files.set(file.path, { path: file.path, size: file.size, sha256: file.sha256 });
}

/**
 * A verification several loads share (transformers.js asks for a graph and its data chunks at
 * once; they are verified together, once, for whichever asks first): `run` goes in a scope of its
 * own, whatever context starts it, so the reads inside it record no event of their own; each load
 * that hands the result over adds `files()` (those verified so far, also after a failure) to its
 * event with `noteVerifiedFile`.
 */
export function sharedVerification<T>(run: () => Promise<T>): { result: Promise<T>; files(): AuditedFile[] } {
  const scope: Scope = { files: new Map() };
  return { result: scopes.run(scope, run), files: () => [...scope.files.values()] };
}

/**
 * A check whose outcome is a value (a model's report), not a throw: `run` goes in a scope, so the
 * loads inside it join it and record nothing, and one event is recorded, `eventOf` the value (or of
 * the error, which is rethrown). Inside another audited load it joins that one.
 */
export async function auditedCheck<T>(sink: AuditSink | undefined, run: () => Promise<T>, eventOf: (outcome: { value: T } | { error: unknown }) => AuditEvent): Promise<T> {
  if (!sink || scopes.getStore()) return run();
  let outcome: { value: T } | { error: unknown };
  try {
    outcome = { value: await scopes.run({ files: new Map() }, run) };
  } catch (error) {
    outcome = { error };
  }
  await sink.record(eventOf(outcome));
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
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
