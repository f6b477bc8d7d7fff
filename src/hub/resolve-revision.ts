import { modelInfo } from "@huggingface/hub";
import { ModelGuardError } from "../errors.js";
import type { HubOptions } from "./hub-options.js";
import { hubApiFailure } from "./list-repo-files.js";
import { apiDeadlineMs, deadlineSignal } from "./timeouts.js";

// The token travels in `fetchImpl` (see hub-fetch.ts), not as `accessToken`: @huggingface/hub
// refuses tokens that do not start with "hf_", which private Hub deployments may issue.

const COMMIT_ID = /^[0-9a-f]{40}$/;

/**
 * The commit a branch, tag or commit id names now, asked once: every file is then taken from that
 * commit, so a branch moved mid-download cannot mix two versions.
 */
export async function resolveRevision(repo: string, ref: string, hub: HubOptions, fetchImpl: typeof fetch): Promise<string> {
  const deadline = deadlineSignal(apiDeadlineMs(hub.timeouts));
  const info = await modelInfo({
    name: repo,
    revision: ref,
    hubUrl: hub.hubUrl,
    additionalFields: ["sha"],
    fetch: (input, init) => fetchImpl(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline }),
  }).catch((err: unknown) => Promise.reject(hubApiFailure(err, `resolving ${repo}@${ref}`, deadline)));
  const sha = (info as { sha?: unknown }).sha;
  if (typeof sha !== "string" || !COMMIT_ID.test(sha)) {
    throw new ModelGuardError("FETCH_FAILED", `the Hub did not return a commit id for ${repo}@${ref}`);
  }
  if (COMMIT_ID.test(ref) && sha !== ref) {
    throw new ModelGuardError("FETCH_FAILED", `the Hub resolved commit ${ref} of ${repo} to ${sha}`);
  }
  return sha;
}
