import { ModelGuardError } from "../../errors.js";
import { GuardedCache } from "./guarded-cache.js";
import { TransformersFileServer, type ServeMode } from "./transformers-file-server.js";
import type { ServingGuard } from "./serving-guard.js";
import { installSettings, transformersMajor, type TransformersEnv } from "./transformers-env.js";

export interface TransformersGuardHandle {
  /**
   * Puts transformers.js's env back as it was before `guardTransformers` (at once), and removes
   * the private verified copies served in copies mode (the returned promise settles when they are gone).
   */
  dispose(): Promise<void>;
}

export interface GuardTransformersOptions {
  /**
   * How ONNX graphs and their external data reach onnxruntime (transformers.js 4 in Node.js):
   * `"bytes"`, verified bytes in memory; `"copies"`, the path of a private verified copy;
   * `"auto"` (default), bytes up to 1 MiB, copies above (see `ServeMode` and the README).
   * transformers.js 3.x is always served bytes.
   */
  serve?: ServeMode;
}

/**
 * From this call until `dispose()`, transformers.js (3.x or 4.x) gets every file from the guard:
 * the verified bytes of the lockfile entry whose `repo` it names, at the locked commit (for ONNX
 * graphs over 1 MiB in transformers.js 4, the path of a private verified copy), or the
 * guard's refusal (MODEL_NOT_LOCKED, FILE_NOT_LOCKED, DIGEST_MISMATCH, EXTERNAL_DATA_UNVERIFIED, ...)
 * as the error `pipeline()` throws. It makes no network request and reads no local model folder,
 * no cache of its own and no file from the working directory.
 */
export function guardTransformers(env: TransformersEnv, guard: ServingGuard, options: GuardTransformersOptions = {}): TransformersGuardHandle {
  const serve = options.serve ?? "auto";
  if (serve !== "auto" && serve !== "bytes" && serve !== "copies") {
    throw new ModelGuardError("USAGE", `guardTransformers: serve must be "auto", "bytes" or "copies", not ${String(serve)}`);
  }
  const major = transformersMajor(env);
  const server = new TransformersFileServer(guard, major, major === 4 ? serve : "bytes");
  const cache = new GuardedCache(
    (repo) => server.isLocked(repo),
    (request) => server.respond(request),
  );
  // Reached only for what the cache does not answer (a URL that is no Hub file of this shape): refused.
  const refusingFetch = async (input: unknown): Promise<never> => {
    throw new ModelGuardError(
      "FILE_NOT_LOCKED",
      `transformers.js tried to fetch ${String(input)}: while guarded it gets locked files from ${guard.lockfilePath} only, never from the network`,
    );
  };
  const restore = installSettings(env, cache, refusingFetch);
  return {
    dispose: () => {
      restore();
      return server.dispose();
    },
  };
}
