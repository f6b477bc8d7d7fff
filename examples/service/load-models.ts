/**
 * The start gate: open the guard, then `guard.loadAll()`: every locked file verified (what the
 * cache lacks fetched first, online) and a session for every model with an ONNX graph, in one
 * pass over the bytes.
 * Every failure is collected, so one start names everything that is wrong.
 */
import type { InferenceSession } from "onnxruntime-node";
import { ERROR_CODES, ModelGuard, ModelGuardError, describeSigner, exitCodeFor as guardExitCode, listFailures, type ErrorCode, type LoadedModels, type Signer } from "modelguard";
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

/** One pass: every locked file read and hashed once, a session per ONNX graph; or every failure. */
async function load(guard: ModelGuard): Promise<{ loaded: LoadedModels; failures: [] } | { loaded?: undefined; failures: StartupFailure[] }> {
  try {
    return { loaded: await guard.loadAll(), failures: [] };
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

  // loadAll fetches what the cache lacks (online) but never replaces a cached file that is wrong.
  const result = await load(guard);
  if (!result.loaded) throw new StartupError(result.failures);
  const { report, sessions } = result.loaded;
  const models: ServedModel[] = report.models.map((m) => ({
    name: m.name,
    repo: m.repo,
    revision: m.revision,
    files: m.files.map((f) => f.path),
    // The report of a model that passed always names its signer.
    signer: m.signer!,
    runtime: sessions.has(m.name) ? ("onnxruntime" as const) : null,
    ...(sessions.has(m.name) ? { session: sessions.get(m.name)! } : {}),
  }));
  try {
    await loadGgufModels(guard, config, models.filter((m) => !m.session && m.files.some((f) => f.toLowerCase().endsWith(".gguf"))), log);
  } catch (err) {
    await releaseSessions(models);
    throw err;
  }
  for (const m of models) {
    log(`ok ${m.name} (${m.repo}@${m.revision.slice(0, 12)}): ${m.files.length} file(s), ${describeSigner(m.signer)}, ${m.runtime ?? "no .onnx or .gguf: listed, not served"}`);
  }
  return { guard, models };
}


let llamaBinding: Promise<Llama> | undefined;

/**
 * Every GGUF model into node-llama-cpp, from private verified copies (`modelguard/node-llama-cpp`).
 * node-llama-cpp is an optional dependency: imported only when a GGUF model is locked. On any
 * failure the start stops, naming every model that failed.
 */
async function loadGgufModels(guard: ModelGuard, config: ServiceConfig, models: ServedModel[], log: Log): Promise<void> {
  if (models.length === 0) return;
  const failures: StartupFailure[] = [];
  try {
    const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
    const { loadLlamaModel } = await import("modelguard/node-llama-cpp");
    // CPU only and never built at start: a service must not compile or download anything.
    llamaBinding ??= getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
    const llama = await llamaBinding;
    for (const m of models) {
      try {
        const model = await loadLlamaModel(guard, llama, m.name);
        const completer = await createCompleter(model, config.llamaThreads === undefined ? {} : { threads: config.llamaThreads }).catch(async (err: unknown) => {
          await model.dispose();
          throw err;
        });
        m.llama = { model, completer };
        m.runtime = "node-llama-cpp";
      } catch (err) {
        failures.push(toFailure(err));
      }
    }
  } catch (err) {
    failures.push(toFailure(err));
  }
  if (failures.length > 0) {
    log("loading the GGUF models failed");
    throw new StartupError(failures);
  }
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
