import type { AuditRuntime } from "../../audit/audit-event.js";
import type { LockedModel } from "../../lockfile/types.js";
import type { VerifiedFiles } from "../runtime-adapter.js";

/**
 * What `guardTransformers` and its file server use of a `ModelGuard`: the locked models, verified
 * reads and copies, and audited loads. Declared here, below guard/, so runtimes/ does not import
 * the guard; a `ModelGuard` satisfies it as it is (pass the guard, no cast).
 */
export interface ServingGuard {
  /** The lockfile the guard was opened on (named in refusals). */
  readonly lockfilePath: string;
  /** The names of the locked models. */
  readonly modelNames: readonly string[];
  /** A copy of a model's lockfile entry; throws MODEL_NOT_LOCKED. */
  lockedModel(name: string): LockedModel;
  /** The verified bytes of a locked file (trust checked first). */
  readFile(name: string, file: string): Promise<Buffer>;
  /** Private verified copies of the named locked files of a model. */
  verifiedFiles(name: string, files?: readonly string[]): Promise<VerifiedFiles>;
  /** Runs `load` as one audited load of model `name` by `runtime`. */
  auditLoad<T>(runtime: AuditRuntime, name: string, load: () => Promise<T>): Promise<T>;
}
