import { ModelGuardError } from "../../errors.js";
import { HUB_HOST, HUB_PATH_TEMPLATE } from "./hub-file-url.js";

/**
 * The parts of transformers.js's `env` the guard sets while it is installed, typed structurally so
 * modelguard needs no transformers.js types to build (it is an optional peer dependency).
 *
 * What each setting stops (transformers.js 4.3 in Node, `utils/hub.js`): for every file it first
 * asks its cache (here: the guard) with the local path, then with the Hub URL; on a miss it reads
 * `localModelPath` (off: `allowLocalModels`), then `env.fetch` (replaced by one that refuses). A
 * cache `match` that throws is swallowed as a miss, so the guard never throws from `match`: it
 * answers every Hub URL, with a Response whose body is the verified bytes or fails with the
 * guard's error. The file system and browser caches are off, so nothing is read from or written
 * to them; the Hub host and path template are pinned so every URL has one shape.
 */
export interface TransformersEnv {
  version: string;
  allowLocalModels: boolean;
  allowRemoteModels: boolean;
  remoteHost: string;
  remotePathTemplate: string;
  useFSCache: boolean;
  useBrowserCache: boolean;
  useCustomCache: boolean;
  customCache: unknown;
  /** 4.x only; 3.x calls the global fetch. */
  fetch?: unknown;
  /** 4.x only. */
  experimental_useCrossOriginStorage?: boolean;
}

type Settings = Partial<Record<keyof TransformersEnv, unknown>>;

/** Envs that hold a guard's settings now: two guards on one env would restore each other's settings. */
const guarded = new WeakSet<object>();

/** The transformers.js major version the env belongs to; 3 and 4 are understood. */
export function transformersMajor(env: TransformersEnv): 3 | 4 {
  const major = Number(/^(\d+)\./.exec(String(env.version))?.[1]);
  if (major === 3 || major === 4) return major;
  throw new ModelGuardError("USAGE", `guardTransformers supports @huggingface/transformers 3.x and 4.x; this env is version ${String(env.version)}`);
}

/**
 * Puts the guard's settings into `env` and returns a function that puts back what was there.
 * Fields a version does not have are left absent again on restore.
 */
export function installSettings(env: TransformersEnv, cache: unknown, refusingFetch: unknown): () => void {
  const target = env as unknown as Record<string, unknown>;
  if (!env || typeof env !== "object" || typeof env.version !== "string") {
    throw new ModelGuardError("USAGE", "guardTransformers needs transformers.js's env (import { env } from \"@huggingface/transformers\")");
  }
  if (guarded.has(env)) throw new ModelGuardError("USAGE", "transformers.js's env is already guarded; dispose the first handle before installing another");
  const settings: Settings = {
    allowLocalModels: false,
    allowRemoteModels: true,
    remoteHost: HUB_HOST,
    remotePathTemplate: HUB_PATH_TEMPLATE,
    useFSCache: false,
    useBrowserCache: false,
    useCustomCache: true,
    customCache: cache,
  };
  if ("fetch" in env) settings.fetch = refusingFetch;
  if ("experimental_useCrossOriginStorage" in env) settings.experimental_useCrossOriginStorage = false;
  const saved = new Map<string, { had: boolean; value: unknown }>();
  for (const [key, value] of Object.entries(settings)) {
    saved.set(key, { had: Object.hasOwn(target, key), value: target[key] });
    target[key] = value;
  }
  guarded.add(env);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    guarded.delete(env);
    for (const [key, { had, value }] of saved) {
      if (had) target[key] = value;
      else delete target[key];
    }
  };
}
