import { homedir } from "node:os";
import { join, relative, isAbsolute } from "node:path";
import { ModelGuardError } from "../errors.js";
import { unsafePathReason } from "../lockfile/safe-path.js";

/**
 * The Hugging Face hub cache folder, found the way huggingface_hub (`constants.py`) and
 * @huggingface/hub (`lib/cache-management.ts`) find it, so one cache is shared with the Python and
 * JS Hugging Face tools: `HF_HUB_CACHE`, then the legacy `HUGGINGFACE_HUB_CACHE`, then
 * `$HF_HOME/hub`, then `$XDG_CACHE_HOME/huggingface/hub`, then `~/.cache/huggingface/hub`.
 * A leading `~` is expanded as huggingface_hub expands it. A variable set to the empty string
 * counts as unset (as the XDG spec says for `XDG_CACHE_HOME`): both Hugging Face libraries would
 * otherwise cache into the working directory.
 */
export function resolveCacheDir(cacheDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (cacheDir) return cacheDir;
  const home = (value: string) => (value === "~" || value.startsWith("~/") ? join(homedir(), value.slice(1)) : value);
  if (env.HF_HUB_CACHE) return home(env.HF_HUB_CACHE);
  if (env.HUGGINGFACE_HUB_CACHE) return home(env.HUGGINGFACE_HUB_CACHE);
  if (env.HF_HOME) return join(home(env.HF_HOME), "hub");
  return join(env.XDG_CACHE_HOME ? home(env.XDG_CACHE_HOME) : join(homedir(), ".cache"), "huggingface", "hub");
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
