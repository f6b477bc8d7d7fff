import { ModelGuardError } from "../errors.js";
import type { HubOptions } from "../hub/hub-options.js";
import { readLockfile } from "../lockfile/lockfile-file.js";
import { updateLockfile } from "../lockfile/update-lockfile.js";
import { modelNameProblem } from "../lockfile/validate.js";
import type { Lockfile } from "../lockfile/types.js";
import { addModelFromHub, type AddedModel, type AddModelRequest } from "./add-model.js";
import { mergeLockedModel, type MergeResult } from "./merge-locked-model.js";

export interface AddToLockfileRequest extends AddModelRequest {
  /** The lockfile to add to; created when missing. */
  lockfile: string;
  /** The model's name in the lockfile. Default: the repo's name. */
  name?: string;
  /** Re-pin a model that is already locked. */
  update?: boolean;
}

export type AddToLockfileResult = AddedModel & { name: string; merge: MergeResult };

async function readOrCreate(path: string): Promise<Lockfile> {
  try {
    return await readLockfile(path);
  } catch (err) {
    if (err instanceof ModelGuardError && err.code === "LOCKFILE_NOT_FOUND") return { lockfileVersion: 1, models: {} };
    throw err;
  }
}

/**
 * `modelguard add` as a library call: lock a model from the Hub (`addModelFromHub`), then merge it
 * into the lockfile by the rules of `mergeLockedModel` through `updateLockfile`: the merge is
 * decided on the lockfile as it is when it is written (under its lock), so adds running at once
 * all land. A `drift` result writes nothing; the caller refuses it (LOCK_DRIFT) showing the changes.
 */
export async function addToLockfile(request: AddToLockfileRequest, hub: HubOptions, fetchImpl: typeof fetch): Promise<AddToLockfileResult> {
  const { lockfile: path, name = request.repo.split("/").pop()!, update, ...addRequest } = request;
  const nameProblem = modelNameProblem(name);
  if (nameProblem) throw new ModelGuardError("USAGE", `the model name ${JSON.stringify(name)} ${nameProblem}`);
  // A malformed lockfile is refused before anything is downloaded.
  await readOrCreate(path);
  const added = await addModelFromHub(addRequest, hub, fetchImpl);
  let merge: MergeResult | undefined;
  await updateLockfile(
    path,
    (lockfile) => {
      merge = mergeLockedModel(lockfile, name, added.entry, { update: update ?? false });
      return merge.status === "added" || merge.status === "updated" ? merge.lockfile : undefined;
    },
    { create: true },
  );
  return { ...added, name, merge: merge! };
}
