import { describeLockChange } from "../lockfile/diff.js";
import type { LockedModel, Lockfile } from "../lockfile/types.js";
import { listSignatures } from "../signing/list-signatures.js";

/**
 * What locking `entry` under `name` does to a lockfile:
 * - `added`: the name was free;
 * - `unchanged`: the name already locks the same commit, files and ref (nothing to write);
 * - `drift`: the name locks something else and `update` was not asked for (nothing to write: the
 *   caller refuses with LOCK_DRIFT, showing `changes`);
 * - `updated`: re-pinned with `update`.
 * On `added`/`updated`, `lockfile` is the new lockfile (the input is not modified): unknown fields
 * of an existing entry survive, its signatures do not (they signed the old entry; `droppedSignatures`
 * counts them). `alsoLockedAs` names other entries of the same repo, so the caller can say so.
 */
export type MergeResult = (
  | { status: "added"; lockfile: Lockfile; entry: LockedModel; changes: [] }
  | {
      status: "updated";
      lockfile: Lockfile;
      entry: LockedModel;
      previous: LockedModel;
      changes: string[];
      /** How many signatures of the old entry were dropped (lockfile and publisher signatures): it needs signing again. */
      droppedSignatures: number;
    }
  | { status: "unchanged"; entry: LockedModel; changes: [] }
  | { status: "drift"; previous: LockedModel; changes: string[] }
) & {
  /** Other names that lock the same repo (each is verified and signed on its own). */
  alsoLockedAs: string[];
};

export function mergeLockedModel(lockfile: Lockfile, name: string, entry: LockedModel, options: { update?: boolean } = {}): MergeResult {
  const alsoLockedAs = Object.entries(lockfile.models)
    .filter(([other, locked]) => other !== name && locked.repo === entry.repo)
    .map(([other]) => other);
  // hasOwn: a model named "constructor" or "__proto__" is data, not Object.prototype's.
  const previous = Object.hasOwn(lockfile.models, name) ? lockfile.models[name] : undefined;
  if (!previous) {
    return { status: "added", lockfile: withModel(lockfile, name, entry), entry, changes: [], alsoLockedAs };
  }
  const changes = describeLockChange(previous, entry);
  if (changes.length === 0 && previous.ref === entry.ref) return { status: "unchanged", entry: previous, changes: [], alsoLockedAs };
  if (!options.update) return { status: "drift", previous, changes, alsoLockedAs };
  // The gguf layout is add's to write, like the files: an old one must not outlive the files it named.
  const { signatures: _signatures, publisherSignatures: _publisherSignatures, gguf: _oldLayout, ...unsigned } = previous;
  const merged: LockedModel = { ...unsigned, ...entry };
  // Every signature of the old entry is gone, its files' cosign signatures with its files.
  const droppedSignatures = listSignatures(previous).length;
  return { status: "updated", lockfile: withModel(lockfile, name, merged), entry: merged, previous, changes, droppedSignatures, alsoLockedAs };
}

function withModel(lockfile: Lockfile, name: string, entry: LockedModel): Lockfile {
  const models: Lockfile["models"] = {};
  for (const [k, v] of Object.entries(lockfile.models)) Object.defineProperty(models, k, { value: v, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(models, name, { value: entry, enumerable: true, writable: true, configurable: true });
  return { ...lockfile, models };
}
