import { listFiles } from "@huggingface/hub";
import { ModelGuardError } from "../errors.js";
import { unsafePathReason } from "../lockfile/safe-path.js";
import type { HubOptions } from "./hub-options.js";
import { apiDeadlineMs, deadlineSignal } from "./timeouts.js";

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

/** A listing longer than this is refused: no model repo needs more, and a hostile Hub could page forever. */
export const MAX_LISTED_ENTRIES = 100_000;
/** Pages of one listing; the Hub serves up to 1000 entries a page. */
export const MAX_LISTING_PAGES = 1_000;

export interface ListLimits {
  maxEntries?: number;
  maxPages?: number;
}

/**
 * Every file of the repo at `revision` (recursive, all pages); a path that could escape the model
 * folder is refused. The listing as a whole has a deadline (see timeouts.ts) and a cap on entries
 * and pages, so a Hub that pages forever fails FETCH_FAILED instead of keeping `add` listing.
 */
export async function listRepoFiles(repo: string, revision: string, hub: HubOptions, fetchImpl: typeof fetch, limits: ListLimits = {}): Promise<RepoFile[]> {
  const maxEntries = limits.maxEntries ?? MAX_LISTED_ENTRIES;
  const maxPages = limits.maxPages ?? MAX_LISTING_PAGES;
  const what = `listing the files of ${repo}@${revision.slice(0, 12)}`;
  const deadline = deadlineSignal(apiDeadlineMs(hub.timeouts));
  let pages = 0;
  const pagedFetch: typeof fetch = (input, init) => {
    if (++pages > maxPages) {
      return Promise.reject(new ModelGuardError("FETCH_FAILED", `${what}: the Hub is still paging after ${maxPages} pages; refusing to go on`));
    }
    return fetchImpl(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };
  const files: RepoFile[] = [];
  let entries = 0;
  try {
    for await (const entry of listFiles({
      repo: { type: "model", name: repo },
      revision,
      recursive: true,
      hubUrl: hub.hubUrl,
      fetch: pagedFetch,
    })) {
      if (++entries > maxEntries) {
        throw new ModelGuardError("FETCH_FAILED", `${what}: the Hub lists more than ${maxEntries} entries; refusing to go on`);
      }
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
  } catch (err) {
    throw hubApiFailure(err, what, deadline);
  }
  return files;
}

/** A failure inside `@huggingface/hub` (a body cut off by a timeout, JSON that does not parse) as FETCH_FAILED. */
export function hubApiFailure(err: unknown, what: string, deadline: AbortSignal): ModelGuardError {
  if (err instanceof ModelGuardError) return err;
  const why = deadline.aborted ? (deadline.reason as Error).message : (err as Error)?.message ?? String(err);
  return new ModelGuardError("FETCH_FAILED", `${what}: ${why}`, { cause: err });
}
