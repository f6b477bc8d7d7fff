/**
 * The files a model consists of, found the way OpenSSF model_signing walks a model path: a
 * directory is walked recursively (hidden files included, empty directories contributing
 * nothing), a single file is a model whose one resource is named ".".
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ModelGuardError } from "../../errors.js";
import { isIgnored } from "./ignore-paths.js";

export interface ModelFile {
  /** Model-relative POSIX path; "." for a single-file model. */
  name: string;
  /** Where it is on disk. */
  path: string;
}

function unsafe(path: string, why: string): ModelGuardError {
  return new ModelGuardError("UNSAFE_PATH", `${path} ${why}`, { file: path });
}

/** Refuses what is neither a regular file nor a directory, as the reference does. */
function classify(path: string, stats: Awaited<ReturnType<typeof lstat>>): "file" | "dir" {
  // Symbolic links are refused outright: following one could hash bytes from outside the model
  // (model_signing refuses them too unless the signer allowed them; modelguard never does).
  if (stats.isSymbolicLink()) throw unsafe(path, "is a symbolic link; models with symbolic links are refused");
  if (stats.isDirectory()) return "dir";
  if (stats.isFile()) return "file";
  throw unsafe(path, "is neither a regular file nor a directory");
}

async function walkDirectory(root: string, rel: string, ignored: ReadonlySet<string>, out: ModelFile[]): Promise<void> {
  const dir = rel === "" ? root : join(root, ...rel.split("/"));
  const entries = await readdir(dir);
  // Names come from readdir, so none contains "/" or is "..": nothing can escape the root.
  for (const entry of entries.sort()) {
    const name = rel === "" ? entry : `${rel}/${entry}`;
    // Ignored paths are skipped before they are looked at, so an ignored symlink is harmless.
    if (isIgnored(name, ignored)) continue;
    const path = join(dir, entry);
    if (classify(path, await lstat(path)) === "dir") await walkDirectory(root, name, ignored, out);
    else out.push({ name, path });
  }
}

/**
 * Every file of the model at `modelPath` that is not ignored. A missing path is FILE_MISSING,
 * a symlink or special file anywhere in the model is UNSAFE_PATH.
 */
export async function walkModel(modelPath: string, ignored: ReadonlySet<string>): Promise<ModelFile[]> {
  let stats;
  try {
    stats = await lstat(modelPath);
  } catch (cause) {
    throw new ModelGuardError("FILE_MISSING", `model ${modelPath}: not found`, { cause });
  }
  if (classify(modelPath, stats) === "file") return isIgnored(".", ignored) ? [] : [{ name: ".", path: modelPath }];
  const files: ModelFile[] = [];
  await walkDirectory(modelPath, "", ignored, files);
  return files;
}

/**
 * Only the files a signature names (model_signing's `--ignore_unsigned_files`): nothing else in
 * the directory is looked at. A name that is absent or not a regular file is left out, so it is
 * reported as missing; a symlink on the way to it is refused.
 */
export async function collectSignedFiles(modelPath: string, names: Iterable<string>, ignored: ReadonlySet<string>): Promise<ModelFile[]> {
  const root = await lstat(modelPath).catch((cause: unknown) => {
    throw new ModelGuardError("FILE_MISSING", `model ${modelPath}: not found`, { cause });
  });
  if (classify(modelPath, root) === "file") {
    return [...names].includes(".") && !isIgnored(".", ignored) ? [{ name: ".", path: modelPath }] : [];
  }
  const files: ModelFile[] = [];
  for (const name of new Set(names)) {
    if (name === "." || isIgnored(name, ignored)) continue;
    let path = modelPath;
    let kind: "file" | "dir" | undefined = "dir";
    for (const part of name.split("/")) {
      path = join(path, part);
      const stats = await lstat(path).catch(() => undefined);
      kind = stats === undefined ? undefined : classify(path, stats);
      if (kind !== "dir") break;
    }
    if (kind === "file" && path === join(modelPath, ...name.split("/"))) files.push({ name, path });
  }
  return files;
}
