/**
 * Which paths of a model directory are not part of the model, as OpenSSF model_signing decides:
 * the git bookkeeping files, the signature itself, what the signer recorded in
 * `serialization.ignore_paths`, and what the verifying user names with `--ignore-paths`.
 */
import { existsSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { isPathUnder, normalizeResourceName, unsafeResourceName } from "./resource-name.js";

/** model_signing ignores these unless told `--no-ignore-git-paths` (modelguard has no such flag). */
export const GIT_PATHS: readonly string[] = [".git", ".gitattributes", ".github", ".gitignore"];

/** The default signature name; never part of the model, wherever the signature is written. */
export const SIGNATURE_FILE_NAME = "model.sig";

/**
 * A model-relative ignore entry in canonical form, or undefined when it cannot name anything in
 * the model (absolute, or climbing out with ".."): the reference drops those too.
 */
export function normalizeIgnorePath(path: string): string | undefined {
  const normalized = normalizeResourceName(path.replaceAll("\\", "/"));
  return unsafeResourceName(normalized) === undefined ? normalized : undefined;
}

function insideRoot(root: string, target: string): string | undefined {
  const rel = relative(root, target);
  if (rel === "") return ".";
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return undefined;
  return rel.split(sep).join("/");
}

/**
 * A path given on the command line, as a model-relative ignore entry. model_signing resolves
 * `--ignore-paths` against the working directory and keeps those inside the model; users of a
 * model directory naturally write paths relative to it. Both work: a path that exists from the
 * working directory inside the model is taken that way, anything else as model-relative.
 */
export function resolveCliIgnorePath(modelRoot: string, path: string, cwd = process.cwd()): string | undefined {
  const root = resolve(modelRoot);
  if (isAbsolute(path)) return insideRoot(root, resolve(path));
  const fromCwd = resolve(cwd, path);
  const viaCwd = insideRoot(root, fromCwd);
  if (viaCwd !== undefined && existsSync(fromCwd)) return viaCwd;
  return normalizeIgnorePath(path);
}

/** Whether a model-relative file path is one of, or lies under one of, the ignored paths. */
export function isIgnored(path: string, ignored: Iterable<string>): boolean {
  for (const entry of ignored) if (isPathUnder(path, entry)) return true;
  return false;
}

/** The ignore set for hashing: git paths, model.sig, and the given entries, deduplicated. */
export function ignoreSet(...lists: Iterable<string | undefined>[]): Set<string> {
  const set = new Set<string>([...GIT_PATHS, SIGNATURE_FILE_NAME]);
  for (const list of lists) {
    for (const entry of list) {
      const normalized = entry === undefined ? undefined : normalizeIgnorePath(entry);
      if (normalized !== undefined) set.add(normalized);
    }
  }
  return set;
}
