import { listFiles } from "@huggingface/hub";
import { ModelGuardError } from "../errors.js";
import { unsafePathReason } from "../lockfile/safe-path.js";
import type { HubOptions } from "./hub-options.js";

// The token travels in `fetchImpl` (see hub-fetch.ts), not as `accessToken`: @huggingface/hub
// refuses tokens that do not start with "hf_", which private Hub deployments may issue.

/** A file of a repo at a commit, as the Hub's tree lists it. */
export interface RepoFile {
  path: string;
  size: number;
  /** Git blob SHA-1 of the file (for an LFS file: of its pointer). */
  oid?: string;
  /** For LFS files: the SHA-256 of the content, which the lockfile records. */
  lfsSha256?: string;
}

/** Every file of the repo at `revision` (recursive, all pages); a path that could escape the model folder is refused. */
export async function listRepoFiles(repo: string, revision: string, hub: HubOptions, fetchImpl: typeof fetch): Promise<RepoFile[]> {
  const files: RepoFile[] = [];
  for await (const entry of listFiles({
    repo: { type: "model", name: repo },
    revision,
    recursive: true,
    hubUrl: hub.hubUrl,
    fetch: fetchImpl,
  })) {
    if (entry.type !== "file") continue;
    const unsafe = unsafePathReason(entry.path);
    if (unsafe) {
      throw new ModelGuardError("UNSAFE_PATH", `${repo}@${revision.slice(0, 12)} lists ${JSON.stringify(entry.path)}, which ${unsafe}`);
    }
    files.push({
      path: entry.path,
      size: entry.size,
      ...(entry.oid ? { oid: entry.oid } : {}),
      ...(entry.lfs ? { lfsSha256: entry.lfs.oid } : {}),
    });
  }
  return files;
}
