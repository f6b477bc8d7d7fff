/**
 * Names of model files as OpenSSF model_signing writes and compares them: POSIX paths relative
 * to the model root, normalised the way Python's `pathlib.PurePosixPath` does, because the
 * reference compares manifests by `PurePosixPath` keys, not by the raw strings in the payload.
 */

/**
 * `PurePosixPath(name)` as a string: empty and "." components and trailing slashes go, "a//b"
 * becomes "a/b", the empty path is ".". A leading "/" is kept (it makes the path absolute).
 */
export function normalizeResourceName(name: string): string {
  const absolute = name.startsWith("/");
  const parts = name.split("/").filter((part) => part !== "" && part !== ".");
  const joined = parts.join("/");
  if (absolute) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/**
 * Why a normalised name cannot name a file inside the model, or undefined when it can. The
 * reference refuses absolute paths and ".." components the same way
 * (`_filesystem.relative_path_parts`); NUL and backslashes are refused too because they cannot
 * be a POSIX file name or would mean a different file on Windows.
 */
export function unsafeResourceName(normalized: string): string | undefined {
  if (normalized.startsWith("/")) return "is an absolute path";
  if (normalized.split("/").includes("..")) return 'contains a ".." component';
  if (normalized.includes("\0")) return "contains a NUL character";
  if (normalized.includes("\\")) return "contains a backslash";
  return undefined;
}

/** Whether `path` is `prefix` or lies under it, comparing whole components (pathlib's is_relative_to). */
export function isPathUnder(path: string, prefix: string): boolean {
  if (prefix === ".") return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}
