import { ModelGuardError } from "../errors.js";
import { resolveCacheDir } from "./cache-layout.js";
import { createHubFetch } from "./hub-fetch.js";
import { resolveRetry, type OnRetry, type RetryPolicy } from "./retry.js";
import { resolveTimeouts, type HubTimeouts } from "./timeouts.js";

export const DEFAULT_HUB_URL = "https://huggingface.co";

/** Where and how to reach the Hub, resolved once from options and the huggingface_hub environment. */
export interface HubOptions {
  hubUrl: string;
  token?: string;
  offline: boolean;
  cacheDir: string;
  /** Idle and overall limits on requests to the Hub (see timeouts.ts); the defaults when absent. */
  timeouts?: HubTimeouts;
  /** How every Hub call (API and download) is retried (retry.ts); DEFAULT_RETRY when absent. */
  retry?: RetryPolicy;
  /** Told of every retry of every Hub call, unless a call is given its own. */
  onRetry?: OnRetry;
  /** The `fetch` every Hub call goes through, API calls and downloads; the global one when absent. */
  fetch?: typeof fetch;
}

export interface HubOptionsInput {
  hubUrl?: string;
  token?: string;
  offline?: boolean;
  cacheDir?: string;
  timeouts?: Partial<HubTimeouts>;
  retry?: Partial<RetryPolicy>;
  onRetry?: OnRetry;
  fetch?: typeof fetch;
  env?: NodeJS.ProcessEnv;
}

/** huggingface_hub's reading of boolean variables: "1", "ON", "YES", "TRUE", any case. */
function envFlag(value: string | undefined): boolean {
  return value !== undefined && ["1", "on", "yes", "true"].includes(value.trim().toLowerCase());
}

export function resolveHubOptions(input: HubOptionsInput = {}): HubOptions {
  const env = input.env ?? process.env;
  const token = input.token ?? (env.HF_TOKEN || undefined);
  const hubUrl = (input.hubUrl ?? (env.HF_ENDPOINT || DEFAULT_HUB_URL)).replace(/\/+$/, "");
  // A URL fetch cannot parse would fail every request and be retried as if the Hub were down.
  if (!/^https?:$/.test(URL.parse(hubUrl)?.protocol ?? "")) throw new ModelGuardError("USAGE", `the Hub URL (HF_ENDPOINT, or the hubUrl option) must be an http or https URL, got ${JSON.stringify(hubUrl)}`);
  return {
    hubUrl,
    ...(token ? { token } : {}),
    offline: input.offline ?? envFlag(env.HF_HUB_OFFLINE),
    cacheDir: resolveCacheDir(input.cacheDir, env),
    timeouts: resolveTimeouts(input.timeouts, env),
    retry: resolveRetry(input.retry),
    ...(input.onRetry ? { onRetry: input.onRetry } : {}),
    ...(input.fetch ? { fetch: input.fetch } : {}),
  };
}

/** The `fetch` for `@huggingface/hub`'s API calls made with these options: token, timeouts, retry policy, `onRetry` and the caller's `fetch`. */
export function hubFetchFor(hub: HubOptions, onRetry: OnRetry | undefined = hub.onRetry): typeof fetch {
  return createHubFetch({
    ...(hub.token ? { token: hub.token } : {}),
    ...(hub.timeouts ? { timeouts: hub.timeouts } : {}),
    ...(hub.retry ? { retry: hub.retry } : {}),
    ...(onRetry ? { onRetry } : {}),
    ...(hub.fetch ? { fetch: hub.fetch } : {}),
  });
}
