import { ModelGuardError } from "../../errors.js";
import type { ModelGuard } from "../../guard/guard.js";
import { GuardedCache } from "./guarded-cache.js";
import { TransformersFileServer } from "./transformers-file-server.js";
import { installSettings, transformersMajor, type TransformersEnv } from "./transformers-env.js";

export interface TransformersGuardHandle {
  /** Puts transformers.js's env back as it was before `guardTransformers`. */
  dispose(): void;
}

/**
 * From this call until `dispose()`, transformers.js (3.x or 4.x) gets every file from the guard:
 * the verified bytes of the lockfile entry whose `repo` it names, at the locked commit, or the
 * guard's refusal (MODEL_NOT_LOCKED, FILE_NOT_LOCKED, DIGEST_MISMATCH, EXTERNAL_DATA_UNVERIFIED, ...)
 * as the error `pipeline()` throws. It makes no network request and reads no local model folder,
 * no cache of its own and no file from the working directory.
 */
export function guardTransformers(env: TransformersEnv, guard: ModelGuard): TransformersGuardHandle {
  const server = new TransformersFileServer(guard, transformersMajor(env));
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
  return { dispose: installSettings(env, cache, refusingFetch) };
}
