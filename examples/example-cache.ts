/**
 * Where the bundled example models come from, shared by run-example.ts, serve-example.ts and the
 * tests: a Hugging Face cache filled with the generated files (standing in for `modelguard pull`),
 * or the local Hub serving them at the locked commits.
 */
import { existsSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readLockfile } from "modelguard";
import { startLocalHub, type LocalHub } from "../local-hub/index.js";
import { repoFolderName, snapshotFilePath } from "../src/hub/cache-layout.js";
import { EXAMPLE_MODELS, type ExampleModel } from "./tiny-model.js";

const here = dirname(fileURLToPath(import.meta.url));

export const EXAMPLE_LOCKFILE = join(here, "models.lock.json");
export const EXAMPLE_PUBLIC_KEY = join(here, "keys", "cosign.pub");
/** The example's own cache; tests point MODELGUARD_EXAMPLE_CACHE elsewhere so they never touch it. */
export function exampleCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MODELGUARD_EXAMPLE_CACHE || join(here, ".hf-cache");
}

/** `snapshots/{commit}` of a repo in a Hugging Face cache. */
export function snapshotDir(cacheDir: string, repo: string, revision: string): string {
  return join(cacheDir, repoFolderName(repo), "snapshots", revision);
}

/** The locked commit of each example model, so a regenerated model without a new lockfile is caught. */
export async function lockedRevisions(lockfile = EXAMPLE_LOCKFILE): Promise<Map<ExampleModel, string>> {
  const locked = await readLockfile(lockfile);
  return new Map(
    EXAMPLE_MODELS.map((model) => {
      const entry = locked.models[model.name];
      if (!entry) throw new Error(`${lockfile} does not lock ${model.name}: run examples/make-lockfile.ts`);
      return [model, entry.revision];
    }),
  );
}

/**
 * What a download would have left in the cache (plain files, which the guard reads like symlinked
 * blobs). Files already there are left alone, so a tampered cache stays tampered until a reset.
 */
export async function fillExampleCache(cacheDir: string, lockfile = EXAMPLE_LOCKFILE): Promise<void> {
  for (const [model, revision] of await lockedRevisions(lockfile)) {
    for (const [path, bytes] of Object.entries(model.files())) {
      const target = snapshotFilePath(cacheDir, model.repo, revision, path);
      if (existsSync(target)) continue;
      await mkdir(dirname(target), { recursive: true });
      // Through a temporary file: an interrupted first run must not leave a half file that later
      // runs would skip as present.
      const temp = `${target}.${process.pid}.tmp`;
      await writeFile(temp, bytes);
      await rename(temp, target);
    }
  }
}

/** The local Hub serving every example repo at exactly the locked commit. */
export async function startExampleHub(lockfile = EXAMPLE_LOCKFILE): Promise<LocalHub> {
  const revisions = await lockedRevisions(lockfile);
  const hub = await startLocalHub();
  try {
    for (const [model, revision] of revisions) {
      const commit = await hub.createRepo(model.repo, { files: model.files() });
      if (commit !== revision) {
        throw new Error(`the local Hub's commit ${commit} of ${model.repo} is not the locked ${revision}: run examples/make-lockfile.ts`);
      }
    }
  } catch (err) {
    await hub.close();
    throw err;
  }
  return hub;
}
