import type { RuntimeName } from "../audit/audit-event.js";
import type { LockedModel } from "../lockfile/types.js";

/**
 * One interface for every runtime modelguard loads models into (onnxruntime-node here;
 * transformers.js and node-llama-cpp next). The guard keeps trust and verified bytes or files and
 * knows no format; an adapter knows one format and one runtime, and sees a model only through a
 * `VerifiedModel`, which hands out nothing that was not verified against the lockfile.
 *
 * A load is: `entryFile` (which locked file the runtime starts from) → `check` (read the verified
 * entry: which other locked files it needs, refusing any reference that is not a safe, locked file
 * of the same model) → `create` (give the runtime those verified bytes or verified private copies)
 * → `release`. `check` is also what `verify` runs, so a model that passes the gate loads.
 */

/** Random access to the verified bytes of one locked file (in memory, or a private verified copy). */
export interface VerifiedBytes {
  /** The locked path, e.g. `onnx/model.onnx`. */
  readonly file: string;
  readonly size: number;
  /** `length` bytes at `position` (fewer only at the end). May be a view: do not write to it. */
  read(position: number, length: number): Promise<Uint8Array>;
}

/**
 * Private verified copies of locked files: the runtime reads them by path. Every copy was written
 * from the bytes that were hashed, in the same pass, into a folder only this process can write
 * (0700, files 0400), laid out by locked path: `dir/onnx/model.onnx_data`. See `src/copies/`.
 */
export interface VerifiedFiles {
  /** The folder of the copies; a locked path `p` is at `dir/p`. */
  readonly dir: string;
  /** Locked path → absolute path of its verified copy. */
  readonly paths: Readonly<Record<string, string>>;
  /** Positioned reads of a copy through the handle the guard holds (no re-open by path). */
  bytes(file: string): VerifiedBytes;
  /**
   * Fails closed (`COPY_CHANGED`) if any copy changed since it was made (size, mode, link count,
   * inode or change time): call it after the runtime has opened/mapped the copies.
   */
  check(): Promise<void>;
  /** Removes the copies (idempotent). A mapping the runtime holds stays valid after this. */
  release(): Promise<void>;
}

/** What the guard lets an adapter see of one model: its lockfile entry and its verified bytes and files. */
export interface VerifiedModel {
  readonly name: string;
  /** The model's lockfile entry (a copy). */
  readonly entry: Readonly<LockedModel>;
  /** The verified bytes of a locked file, in memory (at most `buffer.constants.MAX_LENGTH`). */
  readFile(file: string): Promise<Buffer>;
  /**
   * Random access to a locked file's verified bytes, without holding the whole file in one Buffer
   * (a large file is read from a private verified copy). They last as long as the load: the guard
   * releases them (removing the copy) when `create` returns or throws, and any later read fails
   * closed (USAGE). What a runtime keeps reading after `create` must come from `verifiedFiles`.
   */
  readVerified(file: string): Promise<VerifiedBytes>;
  /** Private verified copies of locked files (default: all of the model's), for runtimes that load by path. */
  verifiedFiles(files?: readonly string[]): Promise<VerifiedFiles>;
}

/** A locked file an entry needs beside it, and the name the entry uses for it. */
export interface Companion {
  /** The locked path, e.g. `onnx/model.onnx_data`. */
  file: string;
  /** How the entry names it, relative to the entry's folder (an ONNX external-data location, a GGUF split part's name). */
  as: string;
}

/** What a load of one entry uses: the output of `check`. */
export interface LoadPlan {
  entryFile: string;
  companions: Companion[];
}

/** A session and the locked files its load read and verified (for the gate report). */
export interface Loaded<Session> {
  session: Session;
  files: string[];
}

export interface RuntimeAdapter<Session = unknown, Options = unknown> {
  /** A short name for messages, reports and audit events: `onnxruntime`, `node-llama-cpp` (a new one is added to `RuntimeName`, audit/audit-event.ts). */
  readonly runtime: RuntimeName;
  /**
   * How the runtime takes the entry: `bytes` in memory, or `paths` (a verified copy; node-llama-cpp).
   * Informative for callers; `create` asks the VerifiedModel for what it needs.
   */
  readonly takes: "bytes" | "paths";
  /** Whether a locked path is a file this runtime starts a load from (`.onnx`, `.gguf`). Used by add, verify and loadAll. */
  isEntry(path: string): boolean;
  /** The locked file a load starts from: `requested`, or the model's only or usual entry. Throws FILE_NOT_LOCKED. */
  entryFile(model: string, entry: Readonly<LockedModel>, requested?: string): string;
  /**
   * For `add`: the repo paths an entry refers to (external data, split parts) among `available`,
   * so they are locked with it. Lenient: a reference that is unsafe or missing is left for `check`
   * to refuse at load time.
   */
  referencedFiles(entry: VerifiedBytes, available: ReadonlySet<string>): Promise<string[]>;
  /**
   * What a load checks, without loading: reads the verified entry and returns the locked files it
   * needs; throws the load's refusal (EXTERNAL_DATA_UNVERIFIED, ONNX_INVALID, FILE_TOO_LARGE...).
   * `verify`, `verifyAll` and `loadAll` run it on every entry of a model.
   */
  check(model: string, entry: Readonly<LockedModel>, bytes: VerifiedBytes): Promise<LoadPlan>;
  /** Loads `entryFile` of the model from verified bytes or files only. */
  create(model: VerifiedModel, entryFile: string, options: Options): Promise<Loaded<Session>>;
  release(session: Session): Promise<void>;
}
