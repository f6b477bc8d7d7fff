import type { LockedModel } from "./types.js";

/** What re-locking a model would change, in words a person reads in a terminal. */
export function describeLockChange(before: LockedModel, after: LockedModel): string[] {
  const lines: string[] = [];
  if (before.repo !== after.repo) lines.push(`repo: ${before.repo} -> ${after.repo}`);
  if (before.revision !== after.revision) lines.push(`revision: ${before.revision} -> ${after.revision}`);
  for (const [path, file] of Object.entries(after.files)) {
    const old = Object.hasOwn(before.files, path) ? before.files[path] : undefined;
    if (!old) lines.push(`+ ${path} (${file.size} bytes)`);
    else if (old.sha256 !== file.sha256 || old.size !== file.size) lines.push(`~ ${path}: sha256 ${old.sha256.slice(0, 12)} -> ${file.sha256.slice(0, 12)}`);
  }
  for (const path of Object.keys(before.files)) if (!Object.hasOwn(after.files, path)) lines.push(`- ${path}`);
  return lines;
}
