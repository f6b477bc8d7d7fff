import { ModelGuardError } from "../../errors.js";
import type { LockedModel } from "../../lockfile/types.js";
import type { HubFileRequest } from "./hub-file-url.js";

/**
 * Which lockfile entry answers a file transformers.js asks for, or the refusal. The pin wins:
 * `main` (what transformers.js asks for when no revision is given, and for its first config
 * reads whatever revision was given) is answered from the locked commit; so are the locked commit
 * itself and the ref the entry was locked from. Any other revision is refused, never resolved.
 */

export interface LockedFileChoice {
  name: string;
  entry: LockedModel;
  path: string;
}

/** The command that would lock what a pipeline needs; every refusal names it. */
export function addCommandFor(repo: string, revision: string | undefined, name: string | undefined, path: string | undefined): string {
  const preset = path === undefined ? "feature-extraction" : presetFor(path);
  const at = revision === undefined ? "" : `@${revision}`;
  const named = name === undefined ? "" : ` --name ${name}`;
  const update = name === undefined ? "" : " --update";
  return `modelguard add ${repo}${at}${named} --preset ${preset}${update}`;
}

/** The add preset a file hints at: its dtype from the ONNX file name (transformers.js's suffixes). */
function presetFor(path: string): string {
  const dtype = /(?:^|\/)[^/]*?_(quantized|fp16|int8|uint8|q4f16|q4|q2f16|q2|q1f16|q1|bnb4)\.onnx(?:_data(?:_\d+)?)?$/.exec(path)?.[1];
  if (dtype === undefined) return "<task>";
  return `<task>:${dtype === "quantized" ? "q8" : dtype}`;
}

export function lockedFileFor(models: Readonly<Record<string, LockedModel>>, lockfilePath: string, request: HubFileRequest): LockedFileChoice {
  const candidates = Object.entries(models).filter(([, entry]) => entry.repo === request.repo);
  if (candidates.length === 0) {
    throw new ModelGuardError(
      "MODEL_NOT_LOCKED",
      `transformers.js asked for ${request.repo} (${request.path}), which ${lockfilePath} does not lock; lock it with: ${addCommandFor(request.repo, undefined, undefined, request.path)}`,
      { file: request.path },
    );
  }
  // The commits the revision names; then every entry at one of them (two names may lock different files of one commit).
  const commits = new Set(candidates.filter(([, e]) => request.revision === e.revision || (e.ref !== undefined && request.revision === e.ref)).map(([, e]) => e.revision));
  let matching = candidates.filter(([, e]) => commits.has(e.revision));
  if (matching.length === 0 && request.revision === "main") {
    if (new Set(candidates.map(([, e]) => e.revision)).size > 1) {
      throw new ModelGuardError(
        "USAGE",
        `${request.repo} is locked at several commits (${candidates.map(([n, e]) => `${n}: ${e.revision}`).join(", ")}); pass the one to load as the revision option`,
        { file: request.path },
      );
    }
    matching = candidates;
  }
  if (matching.length === 0) {
    const locked = candidates.map(([n, e]) => `${n}: ${e.revision}${e.ref === undefined ? "" : ` (${e.ref})`}`).join(", ");
    throw new ModelGuardError(
      "MODEL_NOT_LOCKED",
      `transformers.js asked for ${request.repo} at revision ${request.revision}, which ${lockfilePath} does not lock (locked: ${locked}); only the locked commit is served`,
      { model: candidates[0]![0], file: request.path },
    );
  }
  const holder = matching.find(([, e]) => Object.hasOwn(e.files, request.path));
  if (!holder) {
    const [name, entry] = matching[0]!;
    throw new ModelGuardError(
      "FILE_NOT_LOCKED",
      `model ${name}: transformers.js asked for ${request.path}, which is not a locked file of ${entry.repo}@${entry.revision}; lock what the pipeline needs with: ${addCommandFor(entry.repo, entry.revision, name, request.path)}`,
      { model: name, file: request.path },
    );
  }
  return { name: holder[0], entry: holder[1], path: request.path };
}
