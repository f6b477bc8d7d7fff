import { constants as bufferConstants } from "node:buffer";
import { access } from "node:fs/promises";
import type { InferenceSession } from "onnxruntime-node";
import type { AuditRuntime, RuntimeName } from "../audit/audit-event.js";
import { openAuditSink, type AuditOption, type AuditSink } from "../audit/audit-sink.js";
import { auditedCheck, auditedLoad, noteVerifiedFile } from "../audit/audited-load.js";
import { checkEvent } from "../audit/check-event.js";
import { ModelGuardError, combinedError } from "../errors.js";
import { readLockfile } from "../lockfile/lockfile-file.js";
import { lockedEntry } from "../lockfile/locked-names.js";
import type { LockedFile, LockedModel, Lockfile } from "../lockfile/types.js";
import { CopyRoot } from "../copies/copy-root.js";
import { makeVerifiedFiles } from "../copies/verified-files.js";
import { sharedHashPool, type HashPool } from "../digest/hash-pool.js";
import { checkLockedFile, readVerifiedFile } from "../digest/verify-locked-file.js";
import { snapshotFilePath } from "../hub/cache-layout.js";
import { fetchLockedFile } from "../hub/fetch-locked-file.js";
import { resolveHubOptions, type HubOptions } from "../hub/hub-options.js";
import { pullModels, type PullOptions, type PulledFile } from "../hub/pull.js";
import type { OnRetry, RetryPolicy } from "../hub/retry.js";
import { entryFilesOf } from "../runtimes/known-runtimes.js";
import { onnxruntime, type OnnxLoadOptions } from "../runtimes/onnxruntime/onnxruntime-adapter.js";
import type { LoadPlan, Loaded, RuntimeAdapter, VerifiedFiles, VerifiedModel } from "../runtimes/runtime-adapter.js";
import { lazyVerifiedBytes, verifiedBytesOf, type LazyVerifiedBytes, type VerifiedBytesSource } from "../runtimes/verified-bytes.js";
import type { Signer } from "../signers.js";
import type { TrustPolicy } from "../signing/trust-anchors.js";
import { checkTrustPolicy } from "../signing/trust-policy.js";
import { buildReport, listFailures, type FileReport, type ModelReport, type ReportError, type VerifyReport } from "../verify-report.js";
import { loadTrustPolicy, type TrustOptions } from "./trusted-keys.js";

export type { TrustOptions };

const MAX_LENGTH = bufferConstants.MAX_LENGTH;
// A file up to this size that the gate must read (a runtime entry) is read into memory; a larger
// one is read from a private verified copy, so no check holds a whole large model in one Buffer.
const CHECK_IN_MEMORY_LIMIT = 64 * 2 ** 20;

export interface ModelGuardOptions {
  /** Path of the lockfile. Default `models.lock.json`. */
  lockfile?: string;
  trust?: TrustOptions;
  /** Accept models with no signature from a trusted key. Default false. */
  allowUnsigned?: boolean;
  /** Hugging Face hub cache. Default `$HF_HUB_CACHE`, `$HUGGINGFACE_HUB_CACHE`, `$HF_HOME/hub`, `$XDG_CACHE_HOME/huggingface/hub`, `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Hub base URL. Default `$HF_ENDPOINT` or https://huggingface.co. */
  hubUrl?: string;
  /** Hub token. Default `$HF_TOKEN`. */
  token?: string;
  /** Never reach the Hub; read only what is cached. Default: `$HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** Environment to read HF_* variables (and MODELGUARD_COPY_DIR) from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /**
   * Limits on downloads: `idleMs` (no byte for this long aborts and retries an attempt; default
   * `$HF_HUB_DOWNLOAD_TIMEOUT` s or 10 s) and `deadlineMs` (one file, retries included; default
   * `$MODELGUARD_DOWNLOAD_DEADLINE` s, else an hour or the time the file takes at 1 MB/s).
   */
  timeouts?: { idleMs?: number; deadlineMs?: number };
  /**
   * Where private verified copies are made for runtimes that load by path (see `verifiedFiles`).
   * Default `$MODELGUARD_COPY_DIR`, else /dev/shm where it is a tmpfs with room, else the OS temp dir.
   */
  copyDir?: string;
  /**
   * Where audit events go (docs/audit-event.schema.json): a file path (appended to, one write per
   * line), a writable stream, or a callback. One event per load that hands out verified bytes
   * (createSession, load, readFile, verifiedFiles, the runtime integrations) and per refusal, and
   * one per model checked by verifyModel, verifyAll and loadAll. A sink that fails only warns.
   */
  audit?: AuditOption;
  /**
   * The `fetch` every Hub call of this guard goes through (downloads of locked files that are not
   * cached), as `@huggingface/hub` functions take one: a proxy, custom TLS, a test's counter.
   * Default: the global `fetch`.
   */
  fetch?: typeof fetch;
  /** How failed Hub requests are retried (connection errors, 5xx, 429): `{ attempts, baseDelayMs, maxDelayMs }`, each defaulting to DEFAULT_RETRY's. */
  retry?: Partial<RetryPolicy>;
  /** Told before each retry of a Hub request: `{ url, attempt, delayMs, reason }`. */
  onRetry?: OnRetry;
}

export interface CreateSessionOptions extends OnnxLoadOptions {
  /** Which locked `.onnx` file; by default the model's only one, or `onnx/model.onnx`. */
  file?: string;
}

/** `guard.load(adapter, name, request)`: which entry file (default: the adapter's choice) and the adapter's options. */
export interface LoadRequest<Options> {
  file?: string;
  options?: Options;
}

function toReportError(err: unknown): ReportError {
  if (err instanceof ModelGuardError) {
    return {
      code: err.code,
      message: err.message,
      ...(err.expected === undefined ? {} : { expected: err.expected }),
      ...(err.actual === undefined ? {} : { actual: err.actual }),
    };
  }
  throw err;
}

/**
 * Opens a lockfile under a trust policy and hands out only verified bytes: every path from the
 * cache to the caller goes through a read that hashes the very bytes it returns.
 */
export class ModelGuard {
  readonly lockfilePath: string;
  readonly #lockfile: Lockfile;
  readonly #hub: HubOptions;
  readonly #policy: TrustPolicy;
  readonly #signers = new Map<string, Promise<Signer>>();
  // Single flight: concurrent reads of one file share one read (or download) and one hash.
  readonly #reads = new Map<string, Promise<Buffer>>();
  readonly #copyOptions: { copyDir?: string; env?: NodeJS.ProcessEnv };
  // Copies handed out and not yet released: close() removes them.
  readonly #copies = new Set<VerifiedFiles>();
  readonly #audit: AuditSink | undefined;

  private constructor(
    lockfilePath: string,
    lockfile: Lockfile,
    hub: HubOptions,
    policy: TrustPolicy,
    copyOptions: { copyDir?: string; env?: NodeJS.ProcessEnv },
    audit: AuditSink | undefined,
  ) {
    this.lockfilePath = lockfilePath;
    this.#audit = audit;
    this.#lockfile = lockfile;
    this.#hub = hub;
    this.#policy = policy;
    this.#copyOptions = copyOptions;
  }

  get cacheDir(): string {
    return this.#hub.cacheDir;
  }

  static async open(options: ModelGuardOptions = {}): Promise<ModelGuard> {
    const lockfilePath = options.lockfile ?? "models.lock.json";
    const [lockfile, policy] = await Promise.all([
      readLockfile(lockfilePath),
      loadTrustPolicy(options.trust ?? {}, options.allowUnsigned ?? false),
    ]);
    const copyOptions = { ...(options.copyDir === undefined ? {} : { copyDir: options.copyDir }), ...(options.env === undefined ? {} : { env: options.env }) };
    // Opened last, so a guard that cannot open leaves no log behind; an audit log that cannot be opened fails the open.
    const audit = options.audit === undefined ? undefined : await openAuditSink(options.audit);
    return new ModelGuard(lockfilePath, lockfile, resolveHubOptions(options), policy, copyOptions, audit);
  }

  /** The names of the locked models. */
  get modelNames(): string[] {
    return Object.keys(this.#lockfile.models);
  }

  /** A copy of a model's lockfile entry. */
  lockedModel(name: string): LockedModel {
    return structuredClone(this.#entry(name));
  }

  #entry(name: string): LockedModel {
    return lockedEntry(this.#lockfile, name, { path: this.lockfilePath });
  }

  /** Who satisfied the trust policy for a model. Signatures cover the entry, not the bytes, so it is decided once per guard. */
  signerOf(name: string): Promise<Signer> {
    let signer = this.#signers.get(name);
    if (!signer) {
      signer = checkTrustPolicy(name, this.#entry(name), this.#policy);
      this.#signers.set(name, signer);
    }
    return signer;
  }

  /**
   * Runs `load` as one audited load of a model by `runtime`: one audit event when it ends, verified
   * with every locked file the guard verified inside it, or refused with its error (rethrown).
   * Loads nested inside it (an adapter reading companions through readFile) join its event. The
   * guard's own loads are audited already; this is for integrations that hand verified bytes to a
   * runtime themselves (modelguard/transformers). Without an audit sink it only runs `load`.
   */
  auditLoad<T>(runtime: AuditRuntime, name: string, load: () => Promise<T>): Promise<T> {
    return auditedLoad(
      this.#audit,
      {
        model: name,
        runtime,
        lockfile: this.lockfilePath,
        locked: () => {
          const entry = Object.hasOwn(this.#lockfile.models, name) ? this.#lockfile.models[name] : undefined;
          return entry ? { repo: entry.repo, revision: entry.revision } : null;
        },
        signer: () => this.signerOf(name).catch(() => null),
      },
      load,
    );
  }

  /** Adds a locked file whose verified bytes are being handed out to the enclosing audited load. */
  #noteVerified(name: string, file: string): void {
    const { size, sha256 } = this.#locked(name, file);
    noteVerifiedFile({ path: file, size, sha256 });
  }

  /** The event of a model the gate checked (and, for loadAll, loaded), from its report. */
  #auditedCheck(name: string, action: "verify" | "load", runtime: AuditRuntime | null, check: () => Promise<ModelReport>): Promise<ModelReport> {
    const context = { action, runtime, model: name, entry: this.#entry(name), lockfile: this.lockfilePath };
    return auditedCheck(this.#audit, check, (outcome) => checkEvent(outcome, context));
  }

  #pathOf(entry: LockedModel, file: string): string {
    return snapshotFilePath(this.#hub.cacheDir, entry.repo, entry.revision, file);
  }

  /**
   * The verified bytes of one locked file: read from the cache, or, when it is not cached and the
   * guard is not offline, downloaded (hashed as it arrives, cached, and returned from memory).
   */
  readFile(name: string, file: string): Promise<Buffer> {
    return this.auditLoad("bytes", name, async () => {
      this.#locked(name, file);
      await this.signerOf(name);
      const bytes = await this.#readVerified(name, file);
      this.#noteVerified(name, file);
      return bytes;
    });
  }

  #locked(name: string, file: string): LockedFile {
    const entry = this.#entry(name);
    const locked = Object.hasOwn(entry.files, file) ? entry.files[file] : undefined;
    if (!locked) throw new ModelGuardError("FILE_NOT_LOCKED", `model ${name}: ${file} is not a locked file`, { model: name, file });
    return locked;
  }

  /** readFile without the trust check: for the guard's own checks, which hand no bytes out. */
  #readVerified(name: string, file: string, fetchMissing = true): Promise<Buffer> {
    const entry = this.#entry(name);
    const locked = this.#locked(name, file);
    if (locked.size > MAX_LENGTH) {
      return Promise.reject(
        new ModelGuardError(
          "FILE_TOO_LARGE",
          `model ${name}: ${file} is ${locked.size} bytes; one Node.js Buffer holds at most ${MAX_LENGTH} (buffer.constants.MAX_LENGTH), so it cannot be loaded into memory (\`modelguard verify\` still checks it, streaming)`,
          { model: name, file },
        ),
      );
    }
    const key = JSON.stringify([name, file, fetchMissing]);
    let read = this.#reads.get(key);
    if (!read) {
      const ref = { model: name, file };
      read = readVerifiedFile(this.#pathOf(entry, file), locked, ref)
        .catch(async (err: unknown) => {
          if (!fetchMissing || !(err instanceof ModelGuardError) || err.code !== "NOT_CACHED" || this.#hub.offline) throw err;
          return (await fetchLockedFile(this.#hub, ref, entry, locked, { keepBytes: true }))!;
        })
        .finally(() => this.#reads.delete(key));
      this.#reads.set(key, read);
    }
    return read;
  }

  /**
   * Random access to a locked file's verified bytes, read on first use (the size is the locked
   * one): a small file from memory, a large one from a private verified copy. `release()` drops
   * the copy; call it when done. `handOut`: the bytes go to a caller (an adapter), so once they are
   * verified the file is noted for the enclosing audited load; the guard's own checks note nothing.
   */
  #verifiedBytes(name: string, file: string, { fetchMissing = true, handOut = false } = {}): LazyVerifiedBytes {
    const size = this.#locked(name, file).size;
    const open: () => Promise<VerifiedBytesSource> =
      size <= CHECK_IN_MEMORY_LIMIT
        ? async () => verifiedBytesOf(file, await this.#readVerified(name, file, fetchMissing))
        : async () => {
            const copies = await this.#copy(name, [file], fetchMissing);
            return { read: (position, length) => copies.bytes(file).read(position, length), release: () => copies.release() };
          };
    if (!handOut) return lazyVerifiedBytes(file, size, open);
    // Opened in the first reader's async context, so the note joins that reader's load.
    return lazyVerifiedBytes(file, size, async () => {
      const source = await open();
      this.#noteVerified(name, file);
      return source;
    });
  }

  /**
   * What an adapter sees of a trusted model: its entry and its verified bytes, nothing else, for
   * one load. `end()` (when the load returns or fails) releases what readVerified handed out, so
   * a private copy of a large file lives no longer than the load; a read or readVerified after it
   * fails closed (USAGE). readFile's buffers and verifiedFiles' copies are the adapter's to keep
   * (a lazily mapped model keeps its copies until it is disposed).
   */
  #verifiedModel(name: string): { model: VerifiedModel; end(): Promise<void> } {
    const handedOut: LazyVerifiedBytes[] = [];
    let ended = false;
    const model: VerifiedModel = {
      name,
      entry: this.lockedModel(name),
      readFile: (file) => this.readFile(name, file),
      readVerified: async (file) => {
        await this.signerOf(name);
        if (ended) throw new ModelGuardError("USAGE", `model ${name}: readVerified(${file}) after the load returned; an adapter reads verified bytes only inside its create`, { model: name, file });
        const bytes = this.#verifiedBytes(name, file, { handOut: true });
        handedOut.push(bytes);
        return bytes;
      },
      verifiedFiles: (files) => this.verifiedFiles(name, files),
    };
    const end = async () => {
      ended = true;
      await Promise.all(handedOut.map((b) => b.release()));
    };
    return { model, end };
  }

  /**
   * Private verified copies of a trusted model's locked files (default: all of them), for runtimes
   * that load by path: each copied from the cache (what the cache lacks is downloaded first, unless
   * offline) while it is hashed, into a 0700 folder of 0400 files laid out by locked path (see
   * `src/copies/`). Release them once the runtime has opened or mapped them; `close()` releases
   * what is left.
   */
  verifiedFiles(name: string, files?: readonly string[]): Promise<VerifiedFiles> {
    return this.auditLoad("bytes", name, async () => {
      const chosen = files ?? Object.keys(this.#entry(name).files);
      for (const file of chosen) this.#locked(name, file);
      await this.signerOf(name);
      const copies = await this.#copy(name, chosen, true);
      for (const file of chosen) this.#noteVerified(name, file);
      return copies;
    });
  }

  async #copy(name: string, files: readonly string[], fetchMissing: boolean): Promise<VerifiedFiles> {
    const entry = this.#entry(name);
    if (fetchMissing && !this.#hub.offline) {
      // Copies are made from the cache: fill it first (each byte checked as it arrives).
      await Promise.all(
        files.map(async (file) => {
          const missing = await access(this.#pathOf(entry, file)).then(() => false, () => true);
          if (missing) await fetchLockedFile(this.#hub, { model: name, file }, entry, this.#locked(name, file));
        }),
      );
    }
    const bytes = files.reduce((n, f) => n + this.#locked(name, f).size, 0);
    const folder = await CopyRoot.folderIn(await CopyRoot.rootFor(this.#copyOptions, bytes));
    const pool = sharedHashPool();
    const made = await makeVerifiedFiles(
      folder,
      files.map((file) => ({ ref: { model: name, file }, source: this.#pathOf(entry, file), locked: this.#locked(name, file) })),
      (source, target, size) => pool.copyFile(source, target, size),
    );
    this.#copies.add(made);
    return {
      ...made,
      release: async () => {
        this.#copies.delete(made);
        await made.release();
      },
    };
  }

  /** Releases the copies this guard handed out and did not release. Sessions stay the caller's. */
  async close(): Promise<void> {
    const copies = [...this.#copies];
    this.#copies.clear();
    await Promise.all(copies.map((c) => c.release()));
  }

  /**
   * Loads a model into a runtime through its adapter (`src/runtimes/`): the entry file the adapter
   * picks (or `request.file`), checked and loaded from verified bytes or files only, once the
   * model's signatures satisfy the trust policy.
   */
  load<Session, Options>(adapter: RuntimeAdapter<Session, Options>, name: string, request: LoadRequest<Options> = {}): Promise<Loaded<Session>> {
    // The adapter names the runtime in the audit event; the guard knows none.
    return this.auditLoad(adapter.runtime, name, async () => {
      const entry = this.#entry(name);
      const entryFile = adapter.entryFile(name, entry, request.file);
      await this.signerOf(name);
      const { model, end } = this.#verifiedModel(name);
      try {
        return await adapter.create(model, entryFile, request.options ?? ({} as Options));
      } finally {
        await end();
      }
    });
  }

  /**
   * What a load of `file` (default: the adapter's entry) checks, without loading: the file is read
   * and verified, and the adapter names the locked companion files it needs, or refuses the model
   * as the load would.
   */
  async checkLoad<Session, Options>(adapter: RuntimeAdapter<Session, Options>, name: string, file?: string): Promise<LoadPlan> {
    const entry = this.#entry(name);
    const entryFile = adapter.entryFile(name, entry, file);
    await this.signerOf(name);
    const bytes = this.#verifiedBytes(name, entryFile);
    try {
      return await adapter.check(name, entry, bytes);
    } finally {
      await bytes.release();
    }
  }

  /**
   * Downloads what the cache lacks for the named models (all by default), every byte checked
   * against the lockfile. Hands out no bytes, so it needs no trusted signature; loading does.
   */
  async pull(names: string[] = this.modelNames, options: PullOptions = {}): Promise<PulledFile[]> {
    for (const name of names) this.#entry(name);
    return pullModels(this.#lockfile, names, this.#hub, options);
  }

  /**
   * An onnxruntime session from verified bytes only. The model bytes are parsed for every
   * external-data reference; each must name a locked file of this model, which is read, verified
   * and handed over in memory, so onnxruntime never opens a file on its own.
   */
  async createSession(name: string, options: CreateSessionOptions = {}): Promise<InferenceSession> {
    const { file, ...onnxOptions } = options;
    return (await this.load(onnxruntime, name, { ...(file === undefined ? {} : { file }), options: onnxOptions })).session;
  }

  /**
   * The startup gate and the loads in one pass over the bytes: for each named model (all by
   * default) the signatures are checked, the model is loaded through the first runtime that has an
   * entry among its locked files (`options.adapters`, then onnxruntime for an ONNX graph) from the
   * very bytes or copies that were hashed, and every other locked file is checked by streaming.
   * Like createSession, it downloads what the cache lacks unless offline (each byte checked as it
   * arrives), but never replaces a cached file that is wrong. So no byte is hashed twice, where
   * `verifyAll()` then `createSession()` (or `loadLlamaModel()`) would hash the entry and its
   * companions twice. Returns the report and the sessions; throws a ModelGuardError carrying the
   * report when anything failed, after releasing the sessions it made.
   */
  async loadAll<const Adapters extends readonly LoadAllAdapter[] = readonly LoadAllAdapter[]>(
    names: string[] = this.modelNames,
    options: LoadAllOptions<Adapters> = {},
  ): Promise<LoadedModels> {
    for (const name of names) this.#entry(name);
    const { adapters = [], ...onnxOptions } = options;
    const runtimes: LoadAllRuntime[] = [
      ...(adapters as readonly LoadAllAdapter[]).map(loadAllRuntime),
      { adapter: onnxruntime as RuntimeAdapter, options: onnxOptions },
    ];
    const startedAt = new Date();
    const started = performance.now();
    const loaded = new Map<string, LoadedSession & { adapter: RuntimeAdapter }>();
    const pool = sharedHashPool();
    const models: ModelReport[] = [];
    // One model at a time: each load holds its model's bytes (or copies) until the runtime has them.
    for (const name of names) {
      // A model some runtime starts from is loaded (one event, that runtime); any other is only checked.
      const runtime = runtimes.find((r) => Object.keys(this.#entry(name).files).some((p) => r.adapter.isEntry(p)));
      models.push(await this.#auditedCheck(name, runtime ? "load" : "verify", runtime?.adapter.runtime ?? null, () => this.#loadModel(name, runtime, pool, loaded)));
    }
    const report = buildReport(startedAt, performance.now() - started, models);
    if (!report.ok) {
      await Promise.all([...loaded.values()].map((l) => l.adapter.release(l.session)));
      throw combinedError(listFailures(report), report);
    }
    const sessions = new Map<string, InferenceSession>();
    for (const [name, l] of loaded) if (l.runtime === onnxruntime.runtime) sessions.set(name, l.session as InferenceSession);
    return { report, sessions, loaded: new Map([...loaded].map(([name, l]) => [name, { runtime: l.runtime, session: l.session }])) };
  }

  async #loadModel(name: string, runtime: LoadAllRuntime | undefined, pool: HashPool, loaded: Map<string, LoadedSession & { adapter: RuntimeAdapter }>): Promise<ModelReport> {
    const entry = this.#entry(name);
    const started = performance.now();
    const report: ModelReport = { name, repo: entry.repo, revision: entry.revision, ok: true, signer: null, durationMs: 0, files: [] };
    const fileErrors = new Map<string, ReportError>();
    let loadedFiles: string[] = [];
    try {
      report.signer = await this.signerOf(name);
      if (runtime) {
        const { session, files } = await this.load(runtime.adapter, name, { options: runtime.options });
        loaded.set(name, { runtime: runtime.adapter.runtime, session, adapter: runtime.adapter });
        loadedFiles = files;
      }
    } catch (err) {
      const error = toReportError(err);
      const file = (err as ModelGuardError).file;
      if (file !== undefined && Object.hasOwn(entry.files, file)) fileErrors.set(file, error);
      else report.error = error;
    }
    const loadMs = performance.now() - started;
    const hasher = (path: string, size: number) => pool.hashFile(path, size);
    report.files = await this.#checkFiles(name, entry, hasher, true, (file, locked) => {
      const failed = fileErrors.get(file);
      // A digest is computed only over the whole locked size: a DIGEST_MISMATCH read all of it.
      if (failed) return { path: file, size: locked.size, ok: false, bytesChecked: failed.code === "DIGEST_MISMATCH" ? locked.size : 0, durationMs: loadMs, error: failed };
      if (loadedFiles.includes(file)) return { path: file, size: locked.size, ok: true, bytesChecked: locked.size, durationMs: loadMs };
      return undefined;
    });
    report.ok = report.error === undefined && report.files.every((f) => f.ok);
    report.durationMs = performance.now() - started;
    return report;
  }

  /**
   * Every locked file of a model checked, in lockfile order: an entry file of a known runtime
   * (`.onnx`) is read, verified and checked as a load would check it (its external data all locked,
   * safe files), so a model that passes the gate loads; every other file is hashed by streaming.
   * `done` reports files already settled (loadAll: loaded or failed while loading).
   */
  #checkFiles(
    name: string,
    entry: LockedModel,
    hasher: (path: string, size: number) => Promise<{ size: number; sha256: string }>,
    fetchMissing: boolean,
    done: (file: string, locked: LockedFile) => FileReport | undefined = () => undefined,
  ): Promise<FileReport[]> {
    const entries = new Map(entryFilesOf(Object.keys(entry.files)).map((e) => [e.file, e.adapter]));
    return Promise.all(
      Object.entries(entry.files).map(async ([file, locked]): Promise<FileReport> => {
        const settled = done(file, locked);
        if (settled) return settled;
        const adapter = entries.get(file);
        if (!adapter) return this.#checkFile(name, entry, file, locked, hasher, fetchMissing);
        const started = performance.now();
        const bytes = this.#verifiedBytes(name, file, { fetchMissing });
        try {
          await adapter.check(name, entry, bytes);
        } catch (err) {
          const error = toReportError(err);
          // Bytes that were read and hashed count, whether they matched (the check failed on
          // something else) or failed their digest (read in full to find out).
          const hashedAll = (bytes.loaded && (await bytes.read(0, 0).then(() => true, () => false))) || (error.code === "DIGEST_MISMATCH" && (err as ModelGuardError).file === file);
          return { path: file, size: locked.size, ok: false, bytesChecked: hashedAll ? locked.size : 0, durationMs: performance.now() - started, error };
        } finally {
          await bytes.release();
        }
        // An adapter that decided without reading the entry leaves its bytes to be hashed.
        if (!bytes.loaded) return this.#checkFile(name, entry, file, locked, hasher, fetchMissing);
        return { path: file, size: locked.size, ok: true, bytesChecked: locked.size, durationMs: performance.now() - started };
      }),
    );
  }

  /**
   * Checks one model: its signatures, then every locked file's size and sha256 (and every runtime
   * entry as its load would check it), collecting every failure. Files are hashed in parallel on worker threads (`pool`; one for this call if none).
   */
  verifyModel(name: string, pool: HashPool = sharedHashPool()): Promise<ModelReport> {
    return this.#auditedCheck(name, "verify", null, () => this.#verifyModel(name, pool));
  }

  async #verifyModel(name: string, pool: HashPool): Promise<ModelReport> {
    const entry = this.#entry(name);
    const started = performance.now();
    const report: ModelReport = { name, repo: entry.repo, revision: entry.revision, ok: true, signer: null, durationMs: 0, files: [] };
    try {
      report.signer = await this.signerOf(name);
    } catch (err) {
      report.error = toReportError(err);
      report.ok = false;
    }
    const hasher = (path: string, size: number) => pool.hashFile(path, size);
    report.files = await this.#checkFiles(name, entry, hasher, false);
    if (report.files.some((f) => !f.ok)) report.ok = false;
    report.durationMs = performance.now() - started;
    return report;
  }

  /**
   * One locked file checked in the cache. With `fetchMissing` (loadAll), a file the cache lacks is
   * downloaded, hashed as it arrives, and placed, as readFile does; never one that is present but
   * wrong: a bad byte must stop a start, not be quietly replaced.
   */
  async #checkFile(
    name: string,
    entry: LockedModel,
    file: string,
    locked: LockedFile,
    hasher: (path: string, size: number) => Promise<{ size: number; sha256: string }>,
    fetchMissing = false,
  ): Promise<FileReport> {
    const started = performance.now();
    const report: FileReport = { path: file, size: locked.size, ok: true, bytesChecked: 0, durationMs: 0 };
    const ref = { model: name, file };
    // A file that fails its digest was read in full: the report says so, not 0.
    let hashed = 0;
    const counting = async (path: string, size: number) => {
      const result = await hasher(path, size);
      hashed = result.size;
      return result;
    };
    try {
      try {
        report.bytesChecked = await checkLockedFile(this.#pathOf(entry, file), locked, ref, counting);
      } catch (err) {
        if (!fetchMissing || this.#hub.offline || !(err instanceof ModelGuardError) || err.code !== "NOT_CACHED") throw err;
        await fetchLockedFile(this.#hub, ref, entry, locked);
        report.bytesChecked = locked.size;
      }
    } catch (err) {
      report.ok = false;
      report.bytesChecked = hashed;
      report.error = toReportError(err);
    }
    report.durationMs = performance.now() - started;
    return report;
  }

  /**
   * The startup gate: verifies the named models (all by default) from the cache and returns the
   * report; throws a ModelGuardError carrying the report when anything failed, with the first
   * failure's code and every failure in its message.
   */
  async verifyAll(names: string[] = this.modelNames): Promise<VerifyReport> {
    for (const name of names) this.#entry(name);
    const startedAt = new Date();
    const started = performance.now();
    // The process's warm pool: its workers start now, while the signatures are checked. Every file
    // of every model goes to it, so the cores stay busy across models.
    const pool = sharedHashPool();
    const models = await Promise.all(names.map((name) => this.verifyModel(name, pool)));
    const report = buildReport(startedAt, performance.now() - started, models);
    if (!report.ok) throw combinedError(listFailures(report), report);
    return report;
  }
}

export interface LoadedModels {
  report: VerifyReport;
  /** A session per model loaded through onnxruntime (one that locks an ONNX graph and no entry of `adapters`). */
  sessions: Map<string, InferenceSession>;
  /** Every model loaded, by name: the runtime that loaded it and what its adapter's `create` returned (an InferenceSession, a node-llama-cpp LlamaModel). */
  loaded: Map<string, LoadedSession>;
}

/** A model `loadAll` loaded: the adapter's runtime and its session; release it through that runtime (`session.release()`, `model.dispose()`). */
export interface LoadedSession {
  runtime: RuntimeName;
  session: unknown;
}

/** An adapter given to loadAll with the options its `create` gets (default `{}`), typed by the adapter. */
export interface AdapterWithOptions<Session, Options> {
  adapter: RuntimeAdapter<Session, Options>;
  options: Options;
}

/**
 * One entry of loadAll's `adapters`: an adapter (its `create` gets `{}`), or `{ adapter, options }`.
 * loadAll holds each `options` to its own adapter's type (`CheckedAdapters`).
 */
export type LoadAllAdapter = RuntimeAdapter<unknown, any> | AdapterWithOptions<unknown, any>;

/** Each `{ adapter, options }` of `Adapters` held to its adapter's options. */
export type CheckedAdapters<Adapters extends readonly LoadAllAdapter[]> = {
  readonly [K in keyof Adapters]: Adapters[K] extends { adapter: RuntimeAdapter<infer Session, infer Options> } ? AdapterWithOptions<Session, Options> : Adapters[K];
};

export interface LoadAllOptions<Adapters extends readonly LoadAllAdapter[] = readonly LoadAllAdapter[]> extends Omit<CreateSessionOptions, "file"> {
  /**
   * Runtimes to load models through besides onnxruntime, e.g. `[nodeLlamaCpp(llama)]` or
   * `[{ adapter: nodeLlamaCpp(llama), options: { gpuLayers: 0 } }]` (`modelguard/node-llama-cpp`):
   * a model is loaded by the first of these that has an entry among its locked files (with the
   * options given with it, else `{}`), else by onnxruntime if it locks an ONNX graph (with the rest
   * of these options), else only checked. Default none: only ONNX graphs load.
   */
  adapters?: Adapters & CheckedAdapters<Adapters>;
}

/** A runtime loadAll tries, with the options its create gets. */
interface LoadAllRuntime {
  adapter: RuntimeAdapter;
  options: unknown;
}

function loadAllRuntime(entry: LoadAllAdapter): LoadAllRuntime {
  return "adapter" in entry ? { adapter: entry.adapter as RuntimeAdapter, options: entry.options } : { adapter: entry as RuntimeAdapter, options: {} };
}
