import pLimit from "p-limit";
import { ModelGuardError, combinedError } from "../errors.js";
import { checkLockedFile } from "../digest/verify-locked-file.js";
import { lockedNames } from "../lockfile/locked-names.js";
import type { Lockfile } from "../lockfile/types.js";
import { snapshotFilePath } from "./cache-layout.js";
import { fetchLockedFile, type FetchProgress } from "./fetch-locked-file.js";
import type { HubOptions } from "./hub-options.js";
import type { RetryInfo } from "./retry.js";
import { removeStaleParts } from "./stale-parts.js";
import { blobsDir } from "./store-in-cache.js";

export interface PulledFile {
  model: string;
  file: string;
  size: number;
  /** `cached`: already there and verified; `downloaded`: fetched and verified now; `repaired`: a bad cached copy replaced. */
  status: "cached" | "downloaded" | "repaired";
}

export interface PullOptions {
  /** Files downloaded at once. Default 4. */
  concurrency?: number;
  retry?: FetchProgress["retry"];
  /** Called when a file is about to be downloaded (not for files already cached). */
  onStart?: (file: { model: string; file: string; size: number }) => void;
  onProgress?: (file: { model: string; file: string }, bytes: number) => void;
  onRetry?: (file: { model: string; file: string }, info: RetryInfo) => void;
  onDone?: (file: PulledFile) => void;
  /** The lockfile's path, named when a model is not locked. */
  lockfilePath?: string;
}

/**
 * Makes the cache hold every locked file of the named models, each verified: what is cached is
 * hashed and kept when it matches; what is missing or does not match is downloaded and checked
 * before it is placed. Fails listing every file that could not be pulled.
 */
export async function pullModels(lockfile: Lockfile, names: readonly string[], hub: HubOptions, options: PullOptions = {}): Promise<PulledFile[]> {
  const limit = pLimit(options.concurrency ?? 4);
  // Every name checked before anything is downloaded: one not locked fails the pull, naming each.
  const models = lockedNames(lockfile, names, { ...(options.lockfilePath === undefined ? {} : { path: options.lockfilePath }), unchanged: "nothing was pulled" });
  const repos = new Set(models.map((m) => lockfile.models[m]!.repo));
  if (!hub.offline) await Promise.all([...repos].map((repo) => removeStaleParts(blobsDir(hub.cacheDir, repo))));
  const jobs: Promise<PulledFile>[] = [];
  for (const model of models) {
    const entry = lockfile.models[model]!;
    for (const [file, locked] of Object.entries(entry.files)) {
      jobs.push(
        limit(async () => {
          const ref = { model, file };
          let status: PulledFile["status"] = "downloaded";
          try {
            await checkLockedFile(snapshotFilePath(hub.cacheDir, entry.repo, entry.revision, file), locked, ref);
            status = "cached";
          } catch (err) {
            if (!(err instanceof ModelGuardError)) throw err;
            if (err.code !== "NOT_CACHED") status = "repaired";
          }
          if (status !== "cached") {
            options.onStart?.({ model, file, size: locked.size });
            await fetchLockedFile(hub, ref, entry, locked, {
              ...(options.retry ? { retry: options.retry } : {}),
              onProgress: (bytes) => options.onProgress?.(ref, bytes),
              ...(options.onRetry ? { onRetry: (info: RetryInfo) => options.onRetry?.(ref, info) } : {}),
            });
          }
          const done: PulledFile = { model, file, size: locked.size, status };
          options.onDone?.(done);
          return done;
        }),
      );
    }
  }
  const settled = await Promise.allSettled(jobs);
  const failures = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
  if (failures.length > 0) {
    const unexpected = failures.find((f) => !(f instanceof ModelGuardError));
    if (unexpected !== undefined) throw unexpected;
    throw combinedError(failures as ModelGuardError[]);
  }
  return settled.map((s) => (s as PromiseFulfilledResult<PulledFile>).value);
}
