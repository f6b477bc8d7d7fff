import { homedir } from "node:os";
import { join, relative, isAbsolute } from "node:path";
import { ModelGuardError } from "../errors.js";
import { unsafePathReason } from "../lockfile/safe-path.js";

/**
 * The Hugging Face hub cache folder, found the way huggingface_hub and @huggingface/hub find it,
 * so one cache is shared with the Python and JS Hugging Face tools.
 */
export function resolveCacheDir(cacheDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (cacheDir) return cacheDir;
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, "hub");
  return join(homedir(), ".cache", "huggingface", "hub");
}

/** `models--{org}--{name}`: the repo's folder in the cache. */
export function repoFolderName(repo: string): string {
  return `models--${repo.split("/").join("--")}`;
}

/**
 * `snapshots/{commit}/{path}` of a locked file. The lockfile validator already refused unsafe
 * paths; this checks again because a path escaping the cache must never be opened, whoever
 * built the lockfile object.
 */
export function snapshotFilePath(cacheDir: string, repo: string, revision: string, filePath: string): string {
  const reason = unsafePathReason(filePath);
  if (reason) throw new ModelGuardError("UNSAFE_PATH", `refusing path ${JSON.stringify(filePath)}: it ${reason}`, { file: filePath });
  const snapshot = join(cacheDir, repoFolderName(repo), "snapshots", revision);
  const full = join(snapshot, ...filePath.split("/"));
  const rel = relative(snapshot, full);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new ModelGuardError("UNSAFE_PATH", `refusing path ${JSON.stringify(filePath)}: it leaves the snapshot folder`, { file: filePath });
  }
  return full;
}
