/**
 * The start gate: open the guard, then `guard.loadAll()`: every locked file verified (what the
 * cache lacks fetched first, online) and a session for every model with an ONNX graph, in one
 * pass over the bytes.
 * Every failure is collected, so one start names everything that is wrong.
 */
import type { InferenceSession } from "onnxruntime-node";
import { ERROR_CODES, ModelGuard, ModelGuardError, describeSigner, exitCodeFor as guardExitCode, listFailures, type ErrorCode, type LoadedModels, type Signer } from "modelguard";
import type { ServiceConfig } from "./config.js";

export interface ServedModel {
  name: string;
  repo: string;
  revision: string;
  /** Locked file paths. */
  files: string[];
  signer: Signer;
  /** Absent for a model that locks no .onnx file (a tokenizer, say): listed, not runnable. */
  session?: InferenceSession;
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
    ...(sessions.has(m.name) ? { session: sessions.get(m.name)! } : {}),
  }));
  for (const m of models) {
    log(`ok ${m.name} (${m.repo}@${m.revision.slice(0, 12)}): ${m.files.length} file(s), ${describeSigner(m.signer)}${m.session ? "" : ", no .onnx: listed, not served"}`);
  }
  return { guard, models };
}


export async function releaseSessions(models: ServedModel[]): Promise<void> {
  await Promise.allSettled(models.map((m) => m.session?.release()));
  for (const m of models) delete m.session;
}
