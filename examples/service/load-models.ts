/**
 * The start gate: open the guard, then `guard.loadAll()`: every locked file verified (what the
 * cache lacks fetched first, online), an onnxruntime session for every model with an ONNX graph
 * and, through the node-llama-cpp adapter, a node-llama-cpp model for every GGUF model, in one
 * pass over the bytes: each locked file is hashed once.
 * Every failure is collected, so one start names everything that is wrong.
 */
import type { InferenceSession } from "onnxruntime-node";
import { ERROR_CODES, ModelGuard, ModelGuardError, describeSigner, exitCodeFor as guardExitCode, listFailures, type ErrorCode, type LoadedModels, type RuntimeAdapter, type Signer } from "modelguard";
import { nodeLlamaCpp } from "modelguard/node-llama-cpp";
import type { Llama, LlamaModel } from "node-llama-cpp";
import type { ServiceConfig } from "./config.js";
import { createCompleter, type Completer } from "./completions.js";

export interface ServedModel {
  name: string;
  repo: string;
  revision: string;
  /** Locked file paths. */
  files: string[];
  signer: Signer;
  /** What runs it: onnxruntime (an .onnx graph), node-llama-cpp (a GGUF model), or nothing (a tokenizer, say: listed, not runnable). */
  runtime: "onnxruntime" | "node-llama-cpp" | null;
  /** An onnxruntime session, for `/infer`. */
  session?: InferenceSession;
  /** A node-llama-cpp model and its completer, for `/completions`. */
  llama?: { model: LlamaModel; completer: Completer };
}

export interface StartupFailure {
  code: string;
  message: string;
  model?: string;
  file?: string;
}

export class StartupError extends Error {
  constructor(readonly failures: StartupFailure[]) {
    super(failures.map((f) => f.message).join("\n"));
  }

  /** The CLI's exit code: 1 outranks the rest, since a bad byte or signature is evidence of tampering. */
  get exitCode(): number {
    const codes = this.failures.map((f) => exitCodeFor(f.code));
    return codes.includes(1) ? 1 : (codes[0] ?? 1);
  }
}

/** A code of the guard (ErrorCode, mapped as the CLI maps it), or one of the service's: INTERNAL (1), USAGE (2). */
export function exitCodeFor(code: ErrorCode | string): 1 | 2 | 3 {
  if (code === "INTERNAL") return 1;
  return (ERROR_CODES as readonly string[]).includes(code) ? guardExitCode(code as ErrorCode) : 2;
}

export function toFailure(err: unknown): StartupFailure {
  if (err instanceof ModelGuardError) {
    return {
      code: err.code,
      message: err.message,
      ...(err.model !== undefined ? { model: err.model } : {}),
      ...(err.file !== undefined ? { file: err.file } : {}),
    };
  }
  return { code: "INTERNAL", message: (err as Error)?.stack ?? String(err) };
}

/** One pass: every locked file read and hashed once, a session or model per loadable model; or every failure. */
async function load(guard: ModelGuard, adapters: RuntimeAdapter[]): Promise<{ loaded: LoadedModels; failures: [] } | { loaded?: undefined; failures: StartupFailure[] }> {
  try {
    return { loaded: await guard.loadAll(guard.modelNames, { adapters }), failures: [] };
  } catch (err) {
    if (err instanceof ModelGuardError && err.report) return { failures: listFailures(err.report) };
    return { failures: [toFailure(err)] };
  }
}

export interface Log {
  (line: string): void;
}

export async function loadModels(config: ServiceConfig, log: Log): Promise<{ guard: ModelGuard; models: ServedModel[] }> {
  let guard: ModelGuard;
  try {
    guard = await ModelGuard.open({
      lockfile: config.lockfile,
      trust: {
        keys: config.keys,
        ...(config.identity ? { identities: [config.identity] } : {}),
        ...(config.trustedRoot !== undefined ? { trustedRoot: config.trustedRoot } : {}),
      },
      allowUnsigned: config.allowUnsigned,
      offline: config.offline,
      ...(config.cacheDir !== undefined ? { cacheDir: config.cacheDir } : {}),
      // One event per model loaded or refused by loadAll; an audit log that cannot be opened stops the start.
      ...(config.auditLog !== undefined ? { audit: config.auditLog } : {}),
      env: config.env,
    });
  } catch (err) {
    throw new StartupError([toFailure(err)]);
  }
  const names = guard.modelNames;
  log(`verifying ${names.length} model(s) from ${config.lockfile} in ${guard.cacheDir}${config.offline ? " (offline)" : ""}`);

  // node-llama-cpp only when a GGUF model is locked; if it cannot start, the gate still checks every file.
  const llama = await llamaAdapters(guard, names);
  // loadAll fetches what the cache lacks (online) but never replaces a cached file that is wrong.
  const result = await load(guard, llama.adapters);
  if (!result.loaded) throw new StartupError([...llama.failures, ...result.failures]);
  const { report, loaded } = result.loaded;
  const models: ServedModel[] = report.models.map((m) => {
    const runtime = loaded.get(m.name);
    return {
      name: m.name,
      repo: m.repo,
      revision: m.revision,
      files: m.files.map((f) => f.path),
      // The report of a model that passed always names its signer.
      signer: m.signer!,
      runtime: runtime?.runtime === "onnxruntime" || runtime?.runtime === "node-llama-cpp" ? runtime.runtime : null,
      ...(runtime?.runtime === "onnxruntime" ? { session: runtime.session as InferenceSession } : {}),
    };
  });
  const failures = [...llama.failures, ...(await startCompleters(config, models, loaded))];
  if (failures.length > 0) {
    await releaseSessions(models);
    log("loading the GGUF models failed");
    throw new StartupError(failures);
  }
  for (const m of models) {
    log(`ok ${m.name} (${m.repo}@${m.revision.slice(0, 12)}): ${m.files.length} file(s), ${describeSigner(m.signer)}, ${m.runtime ?? "no .onnx or .gguf: listed, not served"}`);
  }
  return { guard, models };
}


let llamaBinding: Promise<Llama> | undefined;

/**
 * The node-llama-cpp adapter for loadAll when some model locks a GGUF file (`modelguard/node-llama-cpp`).
 * node-llama-cpp is an optional dependency: imported only then. A binding that cannot start is a
 * failure of the start, reported with the gate's.
 */
async function llamaAdapters(guard: ModelGuard, names: string[]): Promise<{ adapters: RuntimeAdapter[]; failures: StartupFailure[] }> {
  const gguf = nodeLlamaCpp();
  if (!names.some((name) => Object.keys(guard.lockedModel(name).files).some((f) => gguf.isEntry(f)))) return { adapters: [], failures: [] };
  try {
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    // CPU only and never built at start: a service must not compile or download anything.
    llamaBinding ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
    return { adapters: [nodeLlamaCpp(await llamaBinding)], failures: [] };
  } catch (err) {
    return { adapters: [], failures: [toFailure(err)] };
  }
}

/** A completer for every model loadAll loaded into node-llama-cpp; the failures, if any. */
async function startCompleters(config: ServiceConfig, models: ServedModel[], loaded: LoadedModels["loaded"]): Promise<StartupFailure[]> {
  const failures: StartupFailure[] = [];
  for (const m of models) {
    const runtime = loaded.get(m.name);
    if (runtime?.runtime !== "node-llama-cpp") continue;
    const model = runtime.session as LlamaModel;
    try {
      const completer = await createCompleter(model, config.llamaThreads === undefined ? {} : { threads: config.llamaThreads });
      m.llama = { model, completer };
    } catch (err) {
      await model.dispose();
      m.runtime = null;
      failures.push(toFailure(err));
    }
  }
  return failures;
}

export async function releaseSessions(models: ServedModel[]): Promise<void> {
  await Promise.allSettled(
    models.map(async (m) => {
      await m.session?.release();
      await m.llama?.completer.dispose();
      await m.llama?.model.dispose();
    }),
  );
  for (const m of models) {
    delete m.session;
    delete m.llama;
  }
}
